"""Each Nelson rule fires on a constructed series, rarely on white noise; capability on hand cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zhizao.apps.spc.capability import capability
from zhizao.apps.spc.rules import RuleConfig, check_rules

CASES = {  # rule: (standardised series, index where it fires)
    1: ([0, 0.3, -0.2, 3.5, 0.1], 3),
    2: ([0, 0, -0.4] + [0.5] * 9, 11),
    3: ([0, -0.5, -0.3, 0.0, 0.2, 0.4, 0.6], 6),
    4: ([(-1) ** i * 0.5 for i in range(14)], 13),
    5: ([0, 0.2, 2.5, 0.1, 2.4], 4),
    6: ([0, 1.5, 1.5, 0.2, 1.5, 1.5], 5),
    7: ([0.2, 0.3, -0.1, -0.4, 0.1, 0.5, -0.2, -0.6, -0.3, 0.4, 0.35, -0.1, 0.2, 0.25, -0.5], 14),
    8: ([1.5, -1.5, 1.4, 1.6, -1.3, -1.5, 1.4, -1.2], 7),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_fires_alone_on_its_pattern(rule):
    series, index = CASES[rule]
    found = check_rules(series)
    assert {v.rule for v in found} == {rule}, found
    first = min(v.index for v in found)
    assert first == index
    # Turned off, it stays silent.
    assert check_rules(series, RuleConfig(enabled=tuple(r for r in range(1, 9) if r != rule))) == []


def test_pattern_start_is_reported():
    [v] = check_rules(CASES[3][0])
    assert (v.start, v.index) == (1, 6)  # -0.5 .. 0.6 is six rising points
    [v] = check_rules(CASES[4][0])
    assert (v.start, v.index) == (0, 13)


def test_configurable_counts_and_western_electric_set():
    assert check_rules([0.5] * 8) == []
    assert [v.rule for v in check_rules([0.5] * 8, RuleConfig.western_electric())] == [2]
    assert [v.index for v in check_rules([0.5] * 5, RuleConfig(same_side=5))] == [4]
    with pytest.raises(ValueError, match="zone_a"):
        RuleConfig(zone_a=(4, 3))


def test_false_alarm_rates_on_white_noise():
    z = np.random.default_rng(2024).standard_normal(40_000)
    found = check_rules(z)
    rate = {r: len({v.index for v in found if v.rule == r}) / len(z) for r in range(1, 9)}
    # Per-point probabilities under the null: 0.0027, 2/2^9 = 0.0039, 2/6! = 0.0028, 0.6827^15 = 0.0033,
    # 0.3173^8 = 0.0001; rules 4-6 are of the same order.
    assert 0.0018 < rate[1] < 0.0037
    assert 0.0025 < rate[2] < 0.0055
    assert 0.0015 < rate[3] < 0.0042
    assert 0.0020 < rate[7] < 0.0048
    assert rate[8] < 0.001
    assert all(r < 0.008 for r in rate.values()), rate


def test_nan_points_break_runs():
    series = [0.5] * 5 + [math.nan] + [0.5] * 5
    assert check_rules(series) == []


def test_cp_cpk_hand_case():
    # LSL 74.95? Montgomery's piston rings: spec 74.000 ± 0.05, sigma = R̄/d2 = 0.023/2.326.
    rng = np.random.default_rng(7)
    values = 74.001 + 0.0099 * rng.standard_normal(125)
    sigma = 0.023 / 2.326
    cap = capability(values, 73.95, 74.05, sigma)
    assert cap.cp.value == pytest.approx(0.1 / (6 * sigma))  # 1.68
    mean = float(np.mean(values))
    assert cap.cpk.value == pytest.approx(min(74.05 - mean, mean - 73.95) / (3 * sigma))
    assert cap.pp.value == pytest.approx(0.1 / (6 * float(np.std(values, ddof=1))))
    assert cap.out_of_spec == 0


def test_capability_confidence_intervals_montgomery():
    # Montgomery Examples 8.5 / 8.6: n = 20 and an estimate of 1.33 -> 95 % CI of Cp 0.91 .. 1.75
    # (chi-square 8.91 and 32.85 with 19 df), of Cpk 0.88 .. 1.78 (Bissell).
    values = np.linspace(-1, 1, 20)
    s = float(np.std(values, ddof=1))
    usl = 1.33 * 3 * s
    cap = capability(values, -usl, usl, s)
    assert cap.cp.value == pytest.approx(1.33)
    assert (round(cap.cp.low, 2), round(cap.cp.high, 2)) == (0.91, 1.75)
    assert (round(cap.cpk.low, 2), round(cap.cpk.high, 2)) == (0.88, 1.78)


def test_one_sided_spec_and_bad_input():
    cap = capability([1.0, 2.0, 3.0], None, 6.0, 1.0)
    assert cap.cp is None and cap.cpk.value == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match="spec"):
        capability([1.0, 2.0], 5.0, 4.0)
    with pytest.raises(ValueError, match="values"):
        capability([1.0], 0.0, 2.0)
