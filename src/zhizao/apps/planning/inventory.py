"""Inventory policy arithmetic: safety stock, reorder point, EOQ.

Demand per period has forecast error with standard deviation ``sigma_error`` (from the
forecast backtests); the replenishment lead time has mean ``lead_time`` and standard
deviation ``sigma_lead_time`` (periods). Over the lead time the uncertainty is

    sigma_LT = sqrt(lead_time * sigma_error**2 + mean_demand**2 * sigma_lead_time**2)

(independent per-period errors; demand and lead time independent). Safety stock is
``k * sigma_LT`` with ``k = z(cycle service level)`` for a cycle service level target, or
the ``k`` whose expected shortage per cycle, ``sigma_LT * G(k)``, equals ``(1 - fill rate) * Q``
for a fill-rate target (G is the standard normal loss function, Q the order quantity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.optimize import brentq
from scipy.stats import norm


class InventoryInputError(ValueError):
    """A parameter out of range; the message names it."""


def _check(name: str, value: float, low: float, high: float = math.inf, *, open_low: bool = False) -> None:
    ok = (value > low if open_low else value >= low) and value <= high and math.isfinite(value)
    if not ok:
        raise InventoryInputError(f"{name} must be {'>' if open_low else '>='} {low}"
                                  f"{'' if high == math.inf else f' and <= {high}'}, got {value}")


def lead_time_sigma(mean_demand: float, sigma_error: float, lead_time: float, sigma_lead_time: float = 0.0) -> float:
    """Standard deviation of demand over the lead time."""
    _check("lead_time", lead_time, 0)
    _check("sigma_error", sigma_error, 0)
    _check("sigma_lead_time", sigma_lead_time, 0)
    return math.sqrt(lead_time * sigma_error**2 + mean_demand**2 * sigma_lead_time**2)


def normal_loss(k: float) -> float:
    """Standard normal loss function G(k) = E[max(Z - k, 0)]."""
    return float(norm.pdf(k) - k * norm.sf(k))


def safety_factor_for_fill_rate(fill_rate: float, sigma_lt: float, order_qty: float) -> float:
    """k with sigma_LT * G(k) = (1 - fill rate) * Q; 0 when the order quantity alone covers the target."""
    _check("fill_rate", fill_rate, 0, 1, open_low=True)
    _check("order_qty", order_qty, 0, open_low=True)
    if sigma_lt == 0:
        return 0.0
    target = (1 - fill_rate) * order_qty / sigma_lt
    if target >= normal_loss(0.0):
        return 0.0
    return float(brentq(lambda k: normal_loss(k) - target, 0.0, 10.0)) if target > normal_loss(10.0) else 10.0


def eoq(annual_demand: float, order_cost: float, holding_cost: float) -> float:
    """Economic order quantity sqrt(2 D S / H)."""
    _check("annual_demand", annual_demand, 0)
    _check("order_cost", order_cost, 0)
    _check("holding_cost", holding_cost, 0, open_low=True)
    return math.sqrt(2 * annual_demand * order_cost / holding_cost)


@dataclass
class Policy:
    mean_demand: float  # per period
    sigma_lt: float
    safety_factor: float
    safety_stock: float
    reorder_point: float
    eoq: float | None


def policy(mean_demand: float, sigma_error: float, lead_time: float, sigma_lead_time: float = 0.0, *,
           service_level: float = 0.95, fill_rate: float | None = None, order_qty: float | None = None,
           annual_demand: float | None = None, order_cost: float | None = None,
           holding_cost: float | None = None) -> Policy:
    """Safety stock and reorder point (``mean_demand * lead_time + safety stock``), and EOQ when costs are given.

    With ``fill_rate`` the safety factor meets that fill rate for order quantity ``order_qty``
    (default: the EOQ); otherwise it is the z-value of the cycle ``service_level``."""
    _check("mean_demand", mean_demand, 0)
    sigma_lt = lead_time_sigma(mean_demand, sigma_error, lead_time, sigma_lead_time)
    quantity = None
    if annual_demand is not None and order_cost is not None and holding_cost is not None:
        quantity = eoq(annual_demand, order_cost, holding_cost)
    if fill_rate is not None:
        q = order_qty if order_qty is not None else quantity
        if q is None:
            raise InventoryInputError("order_qty (or annual_demand, order_cost and holding_cost for the EOQ) "
                                      "is needed with fill_rate")
        k = safety_factor_for_fill_rate(fill_rate, sigma_lt, q)
    else:
        _check("service_level", service_level, 0, 1, open_low=True)
        if service_level >= 1:
            raise InventoryInputError(f"service_level must be below 1, got {service_level}")
        k = float(norm.ppf(service_level))
    safety_stock = max(0.0, k * sigma_lt)
    return Policy(mean_demand, sigma_lt, k, safety_stock, mean_demand * lead_time + safety_stock, quantity)
