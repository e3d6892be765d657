"""Safety stock, reorder point, fill rate and EOQ against hand calculations."""

import math

import pytest

from zhizao.apps.planning.inventory import InventoryInputError, eoq, normal_loss, policy


def test_cycle_service_level_hand_case():
    # sigma_LT = sqrt(4 * 20^2 + 100^2 * 1^2) = sqrt(11600); z(0.95) = 1.644854
    p = policy(100, 20, 4, 1, service_level=0.95)
    assert p.sigma_lt == pytest.approx(math.sqrt(11600))
    assert p.safety_stock == pytest.approx(1.644854 * 107.7033, rel=1e-5)
    assert p.reorder_point == pytest.approx(400 + p.safety_stock)


def test_no_lead_time_variability_is_sigma_sqrt_l():
    assert policy(50, 10, 9, service_level=0.5).safety_stock == pytest.approx(0.0, abs=1e-9)
    assert policy(50, 10, 9, service_level=0.8413447).safety_stock == pytest.approx(30.0, rel=1e-5)


def test_eoq_hand_case():
    assert eoq(1200, 100, 6) == pytest.approx(200.0)


def test_fill_rate_expected_shortage_matches_target():
    p = policy(100, 20, 4, 1, fill_rate=0.99, annual_demand=1200, order_cost=100, holding_cost=6)
    assert p.eoq == pytest.approx(200.0)
    assert p.sigma_lt * normal_loss(p.safety_factor) == pytest.approx(0.01 * 200, rel=1e-6)
    assert 1.6 < p.safety_factor < 1.8


def test_fill_rate_met_by_the_lot_alone_needs_no_safety_stock():
    assert policy(100, 1, 1, fill_rate=0.5, order_qty=1000).safety_stock == 0


@pytest.mark.parametrize("kwargs, field", [
    ({"service_level": 1.0}, "service_level"),
    ({"fill_rate": 0.9}, "order_qty"),
])
def test_bad_parameters_name_the_field(kwargs, field):
    with pytest.raises(InventoryInputError, match=field):
        policy(10, 1, 2, **kwargs)
