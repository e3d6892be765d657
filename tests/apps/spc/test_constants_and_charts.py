"""Control-chart constants against the published tables, and charts on hand-computed textbook cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zhizao.apps.spc.charts import (
    Baseline,
    cusum,
    estimate_individuals,
    estimate_xbar_r,
    ewma,
    imr,
    p_chart,
    subgroups_of,
    u_chart,
    xbar_r,
)
from zhizao.apps.spc.constants import constants

# Montgomery, Introduction to SQC, Appendix VI (3 decimals; d2 to 3).
TABLE = {  # n: (A2, d2, d3, D3, D4)
    2: (1.880, 1.128, 0.853, 0.000, 3.267),
    3: (1.023, 1.693, 0.888, 0.000, 2.574),
    4: (0.729, 2.059, 0.880, 0.000, 2.282),
    5: (0.577, 2.326, 0.864, 0.000, 2.114),
    7: (0.419, 2.704, 0.833, 0.076, 1.924),
    10: (0.308, 3.078, 0.797, 0.223, 1.777),
    15: (0.223, 3.472, 0.756, 0.347, 1.653),
    20: (0.180, 3.735, 0.729, 0.415, 1.585),
    25: (0.153, 3.931, 0.708, 0.459, 1.541),
}


@pytest.mark.parametrize("n", sorted(TABLE))
def test_constants_match_the_tables(n):
    a2, d2, d3, lower, upper = TABLE[n]
    c = constants(n)
    assert c.A2 == pytest.approx(a2, abs=1.5e-3)
    assert c.d2 == pytest.approx(d2, abs=1e-3)
    assert c.d3 == pytest.approx(d3, abs=1e-3)
    assert c.D3 == pytest.approx(lower, abs=1.5e-3)
    assert c.D4 == pytest.approx(upper, abs=1.5e-3)


def test_constants_outside_the_table_are_refused():
    for n in (1, 26):
        with pytest.raises(ValueError, match="subgroup_size"):
            constants(n)
    assert constants(5).c4 == pytest.approx(0.9400, abs=1e-4)
    assert constants(10).B4 == pytest.approx(1.716, abs=1e-3)


def test_xbar_r_hand_case():
    # Three subgroups of four: means 11.5, 11, 13; ranges 3, 2, 2 -> X̄̄ 11.8333, R̄ 2.3333.
    groups = [[10, 12, 11, 13], [11, 11, 12, 10], [12, 14, 13, 13]]
    base = estimate_xbar_r(groups)
    assert base.mean == pytest.approx(35.5 / 3) and base.spread == pytest.approx(7 / 3)
    x, r = xbar_r(groups, base)
    assert x.values == pytest.approx([11.5, 11, 13])
    assert x.ucl[0] == pytest.approx(11.8333 + 0.729 * 2.3333, abs=2e-3)  # 13.534
    assert x.lcl[0] == pytest.approx(11.8333 - 0.729 * 2.3333, abs=2e-3)  # 10.132
    assert r.ucl[0] == pytest.approx(2.282 * 2.3333, abs=3e-3) and r.lcl[0] == 0
    assert x.violations == [] and r.violations == []


def test_xbar_r_piston_rings_limits():
    # Montgomery Example 6.1 (piston-ring inside diameter, n = 5): X̄̄ = 74.001, R̄ = 0.023 gives
    # X̄ limits 73.988 / 74.014 and R limits 0 / 0.049.
    base = Baseline(74.001, 0.023 / constants(5).d2, 0.023, 5, 125)
    x, r = xbar_r([[74.0] * 5, [74.03, 74.02, 74.03, 74.02, 74.03]], base)
    assert (round(x.lcl[0], 3), round(x.ucl[0], 3)) == (73.988, 74.014)
    assert (round(r.lcl[0], 3), round(r.ucl[0], 3)) == (0.0, 0.049)
    assert [v.index for v in x.violations if v.rule == 1] == [1]  # mean 74.026 is above 74.014


def test_xbar_limits_follow_subgroup_size():
    base = Baseline(0.0, 1.0, constants(5).d2, 5, 100)
    x, r = xbar_r([[0, 1, -1, 0.5, 0.2], [0.1, -0.2, 0.3]], base)
    assert x.ucl == pytest.approx([3 / math.sqrt(5), 3 / math.sqrt(3)])
    assert r.centre == pytest.approx([constants(5).d2, constants(3).d2])


def test_imr_hand_case():
    values = [10, 12, 11, 14, 13]
    base = estimate_individuals(values)
    # Moving ranges 2, 1, 3, 1 -> MR̄ 1.75, sigma 1.75 / 1.128.
    assert base.spread == pytest.approx(1.75) and base.mean == pytest.approx(12)
    i, mr = imr(values, base)
    assert i.ucl[0] == pytest.approx(12 + 2.66 * 1.75, abs=3e-3)
    assert mr.ucl[0] == pytest.approx(3.267 * 1.75, abs=3e-3)
    assert math.isnan(mr.values[0]) and mr.values[1:] == [2, 1, 3, 1]


MONTGOMERY_9_1 = [9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34, 9.03, 11.47, 10.51, 9.40,
                  10.08, 9.37, 10.62, 10.31, 8.52, 10.84, 10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38, 11.62,
                  11.31, 10.52]


def test_cusum_montgomery_example_9_1():
    # μ0 = 10, σ = 1, k = 1/2, h = 5: C⁺ first exceeds H = 5 at sample 29 (C⁺29 = 5.28, C⁺30 = 5.30).
    chart = cusum(MONTGOMERY_9_1, 10, 1, k=0.5, h=5)
    assert chart.values[28] == pytest.approx(5.28, abs=0.01) and chart.values[29] == pytest.approx(5.30, abs=0.01)
    assert [v.index for v in chart.violations] == [28, 29]
    assert chart.lower is not None and max(-v for v in chart.lower) < 5


def test_ewma_montgomery_example_9_2():
    # λ = 0.1, L = 2.7 on the same data: z1 = 9.945, limits widen to 10 ± 0.62; first signal at sample 29.
    chart = ewma(MONTGOMERY_9_1, 10, 1, lam=0.1, width=2.7)
    assert chart.values[0] == pytest.approx(9.945)
    assert chart.ucl[0] == pytest.approx(10 + 2.7 * math.sqrt(0.1 / 1.9 * (1 - 0.9**2)))  # 10.27
    assert chart.ucl[-1] == pytest.approx(10 + 2.7 * math.sqrt(0.1 / 1.9), abs=1e-3)
    assert chart.violations[0].index == 28


def test_p_chart_with_varying_sample_sizes():
    defective = [12, 8, 6, 9, 10]
    sizes = [100, 80, 80, 100, 110]
    chart = p_chart(defective, sizes)
    p_bar = 45 / 470
    assert chart.centre[0] == pytest.approx(p_bar)
    for i, n in enumerate(sizes):
        assert chart.ucl[i] == pytest.approx(p_bar + 3 * math.sqrt(p_bar * (1 - p_bar) / n))
        assert chart.lcl[i] == pytest.approx(max(0.0, p_bar - 3 * math.sqrt(p_bar * (1 - p_bar) / n)))
    assert chart.ucl[1] > chart.ucl[0]  # smaller sample, wider limits
    # A frozen p̄ from Phase I is used as given; a sample of 40 % defective is out.
    frozen = p_chart([2, 40], [100, 100], p_bar=0.05)
    assert frozen.centre == [0.05, 0.05] and [v.index for v in frozen.violations] == [1]


def test_u_chart_with_varying_units():
    # Montgomery Example 7.7 style: ū = Σc / Σn, limits ū ± 3√(ū/n_i).
    chart = u_chart([10, 12, 8, 14, 10, 16], [5, 5, 5, 5, 2.5, 5])
    u_bar = 70 / 27.5
    assert chart.centre[0] == pytest.approx(u_bar)
    assert chart.ucl[4] == pytest.approx(u_bar + 3 * math.sqrt(u_bar / 2.5))
    assert chart.ucl[0] == pytest.approx(u_bar + 3 * math.sqrt(u_bar / 5))
    with pytest.raises(ValueError, match="sizes"):
        u_chart([1, 2], [1, 0])


def test_subgroups_of_drops_the_incomplete_tail():
    groups = subgroups_of(np.arange(12.0), 5)
    assert len(groups) == 2 and list(groups[1]) == [5, 6, 7, 8, 9]
