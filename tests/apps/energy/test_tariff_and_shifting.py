"""Tariffs, carbon arithmetic, and load shifting on cases with a clear answer."""

from __future__ import annotations

import pytest

from zhizao.apps.energy.scenarios import random_problem, stock_preparation
from zhizao.apps.energy.shifting import Buffer, Load, Problem, asap, check, same_end_levels, simulate, solve
from zhizao.apps.energy.tariff import Period, Tariff, cost_of, default_emission_factor, example_tariff

DAY0 = 1_717_171_200_000  # 2024-05-31 16:00 UTC = 2024-06-01 00:00 in Shanghai


def test_example_tariff_bands_and_prices():
    tariff = example_tariff()
    bands = tariff.minute_bands()
    assert bands[7 * 60 + 59] == "valley" and bands[8 * 60] == "peak" and bands[12 * 60] == "flat"
    assert bands[17 * 60] == "peak" and bands[21 * 60] == "flat" and bands[1439] == "flat"
    assert tariff.band_at(DAY0 + 9 * 3_600_000, "Asia/Shanghai") == "peak"
    names, prices = tariff.slots(DAY0, 15, 96, "Asia/Shanghai")
    assert names.count("peak") == 32 and names.count("valley") == 32 and names.count("flat") == 32
    assert prices[0] == 0.27 and prices[40] == 1.08 and "EXAMPLE" in tariff.note


def test_tariff_must_cover_the_day_once():
    with pytest.raises(ValueError, match="12:00 is not covered"):
        Tariff(prices={"a": 1.0}, periods=[Period(band="a", start="00:00", end="12:00")])
    with pytest.raises(ValueError, match="covered twice"):
        Tariff(prices={"a": 1.0}, periods=[Period(band="a", start="00:00", end="24:00"),
                                           Period(band="a", start="10:00", end="11:00")])
    with pytest.raises(ValueError, match=r"periods\[0\].band"):
        Tariff(prices={"a": 1.0}, periods=[Period(band="b", start="00:00", end="24:00")])
    with pytest.raises(ValueError, match=r"periods\[0\].end"):
        Tariff(prices={"a": 1.0}, periods=[Period(band="a", start="00:00", end="25:00")])


def test_cost_and_carbon_hand_case():
    tariff = example_tariff()
    cost = cost_of({"peak": 100.0, "flat": 50.0, "valley": 200.0}, tariff)
    assert cost == pytest.approx({"peak": 108.0, "flat": 32.0, "valley": 54.0})
    factor = default_emission_factor()
    assert factor.kg_co2_per_kwh == 0.5703 and factor.year == 2022
    assert 350 * factor.kg_co2_per_kwh == pytest.approx(199.605)


def _one_load(high: float, min_on: int = 1, max_starts: int | None = None) -> Problem:
    # 8 slots, the first four expensive; the buffer starts at 4 and loses 0.5 per slot.
    return Problem(prices=(1.0,) * 4 + (0.1,) * 4,
                   loads=(Load("pump", 100.0, outputs={"tank": 1.0}, min_on=min_on, max_starts=max_starts),),
                   buffers=(Buffer("tank", low=0.0, high=high, initial=4.0, demand=(0.5,) * 8),))


def test_optimum_runs_in_the_cheap_slots():
    plan = solve(_one_load(10.0), time_limit_s=5)
    assert plan.status == "optimal" and plan.feasible
    assert plan.on["pump"] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert plan.cost == pytest.approx(4 * 100 * 0.25 * 0.1)
    assert plan.levels["tank"] == pytest.approx([3.5, 3.0, 2.5, 2.0, 2.5, 3.0, 3.5, 4.0])


def test_beats_asap_with_the_same_end_level():
    problem = _one_load(6.0)
    reference = asap(problem)
    assert reference.feasible and reference.on["pump"][:4] == [1, 1, 1, 1]  # runs at once
    target = same_end_levels(problem, reference)
    best = solve(target, time_limit_s=5, hint=reference)
    assert best.status == "optimal" and check(problem, best.on) == []
    assert best.levels["tank"][-1] >= reference.levels["tank"][-1] - 1e-9
    # It must make 2 + 4 units: the four cheap slots and two dear ones.
    assert sum(best.on["pump"]) == 6 and best.on["pump"][4:] == [1, 1, 1, 1]
    assert best.cost == pytest.approx(2 * 25 * 1.0 + 4 * 25 * 0.1) and best.cost < reference.cost


def test_run_constraints_are_kept():
    plan = solve(_one_load(10.0, min_on=3, max_starts=1), time_limit_s=5)
    runs = "".join(map(str, plan.on["pump"])).strip("0")
    assert "0" not in runs and len(runs) >= 3 and plan.feasible


def test_check_finds_each_broken_rule():
    problem = _one_load(5.0, min_on=2, max_starts=1)
    broken = check(problem, {"pump": [1, 1, 1, 0, 1, 0, 0, 0]})
    text = " | ".join(broken)
    assert "outside [0.0, 5.0]" in text and "runs only 1 slots" in text and "2 starts > max_starts 1" in text
    assert any("ends at" in b for b in check(problem, {"pump": [0] * 8}))
    assert simulate(problem, {"pump": [0] * 8})["tank"][-1] == pytest.approx(0.0)


def test_infeasible_problem_is_reported():
    problem = Problem(prices=(1.0,) * 4, loads=(Load("pump", 10.0, outputs={"tank": 0.1}),),
                      buffers=(Buffer("tank", low=0.0, high=10.0, initial=1.0, demand=(1.0,) * 4),))
    plan = solve(problem, time_limit_s=5)
    assert plan.status == "infeasible" and not plan.feasible


def test_bad_problems_name_the_field():
    with pytest.raises(ValueError, match=r"loads\[0\] \(pump\).outputs: no buffer named 'x'"):
        Problem(prices=(1.0,), loads=(Load("pump", 1.0, outputs={"x": 1.0}),), buffers=()).validate()
    with pytest.raises(ValueError, match="demand: 2 values for 1 slots"):
        Problem(prices=(1.0,), loads=(), buffers=(Buffer("b", 0, 1, 0.5, demand=(1.0, 1.0)),)).validate()


@pytest.mark.slow
def test_stock_preparation_example_saves_against_asap():
    tariff = example_tariff()
    bands = tariff.minute_bands()
    problem = stock_preparation([tariff.prices[bands[i * 15]] for i in range(96)])
    reference = asap(problem)
    assert reference.feasible, reference.violations
    best = solve(same_end_levels(problem, reference), time_limit_s=20, hint=reference)
    assert check(problem, best.on) == [] and best.cost < 0.9 * reference.cost
    peak = [i for i, b in enumerate(bands[::15]) if b == "peak"]
    assert sum(best.on["pulper"][i] for i in peak) < sum(reference.on["pulper"][i] for i in peak)


def test_random_problems_are_valid():
    for seed in range(5):
        random_problem([0.5] * 96, seed).validate()
