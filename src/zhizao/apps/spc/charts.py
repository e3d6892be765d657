"""Control charts: Phase I estimation (a baseline whose limits are then frozen) and Phase II plotting.

Variables: X̄-R (subgroups of n), I-MR (individuals), EWMA and tabular CUSUM. Attributes: p
(fraction defective) and u (defects per unit), both with limits that follow each sample's size.
Every chart comes back as a ``Chart``: the plotted statistic with its centre line, control limits
and the sigma of the statistic at each point, so the run rules and the console's zones work the
same on all of them. Formulas and notation follow Montgomery, *Introduction to Statistical Quality
Control* (chapters 6, 7 and 9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from zhizao.apps.spc.constants import constants
from zhizao.apps.spc.rules import RuleConfig, Violation, check_rules

VARIABLE_CHARTS = ("xbar_r", "imr", "ewma", "cusum")


@dataclass
class Chart:
    """One plotted chart. ``lower`` is CUSUM's second statistic (-C⁻, drawn below zero)."""

    kind: str  # xbar | r | i | mr | ewma | cusum | p | u
    values: list[float]
    centre: list[float]
    lcl: list[float]
    ucl: list[float]
    sigma: list[float]  # of the plotted statistic, for zones (NaN where zones make no sense)
    violations: list[Violation] = field(default_factory=list)
    lower: list[float] | None = None

    def z(self) -> np.ndarray:
        v, c, s = (np.asarray(a, dtype=float) for a in (self.values, self.centre, self.sigma))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(s > 0, (v - c) / s, np.nan)


@dataclass(frozen=True)
class Baseline:
    """Phase I estimates, frozen for monitoring.

    ``sigma``: the within-subgroup (short-term) sigma, mean of R_i/d2(n_i) for subgroups (R̄/d2 when
    all have n) or MR̄/d2(2) for individuals; ``spread``: R̄ or MR̄ as the charts show it; ``n``: the
    nominal subgroup size (individuals: 1); ``count``: how many values Phase I used.
    """

    mean: float
    sigma: float
    spread: float
    n: int
    count: int


def subgroups_of(values: Sequence[float], n: int) -> list[np.ndarray]:
    """Consecutive subgroups of ``n`` values (an incomplete last one is left out)."""
    x = np.asarray(values, dtype=float)
    return list(x[: len(x) // n * n].reshape(-1, n))


def _need(count: int, least: int, what: str) -> None:
    if count < least:
        raise ValueError(f"{what}: {count} given, at least {least} are needed")


def _ranges(groups: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.array([len(g) for g in groups])
    for size in set(sizes.tolist()):
        constants(size)  # checks 2..25
    return sizes, np.array([float(np.max(g) - np.min(g)) for g in groups])


def estimate_xbar_r(groups: Sequence[Sequence[float]]) -> Baseline:
    """X̄̄ and sigma = mean(R_i/d2(n_i)) of Phase I subgroups (equal sizes: R̄/d2)."""
    arrays = [np.asarray(g, dtype=float) for g in groups]
    _need(len(arrays), 2, "subgroups")
    sizes, ranges = _ranges(arrays)
    d2 = np.array([constants(int(n)).d2 for n in sizes])
    nominal = int(np.bincount(sizes).argmax())
    sigma = float(np.mean(ranges / d2))
    all_values = np.concatenate(arrays)
    return Baseline(float(all_values.mean()), sigma, sigma * constants(nominal).d2, nominal, len(all_values))


def estimate_individuals(values: Sequence[float]) -> Baseline:
    """x̄ and sigma = MR̄/d2(2) of Phase I individual values."""
    x = np.asarray(values, dtype=float)
    _need(len(x), 3, "values")
    mrbar = float(np.abs(np.diff(x)).mean())
    return Baseline(float(x.mean()), mrbar / constants(2).d2, mrbar, 1, len(x))


def _rule_one_from_limits(chart: Chart) -> list[Violation]:
    """Rule 1 against the drawn limits (a clipped LCL of 0 is not a 3-sigma limit)."""
    return [Violation(i, 1, i) for i, (v, lo, hi) in enumerate(zip(chart.values, chart.lcl, chart.ucl, strict=True))
            if math.isfinite(v) and (v > hi or v < lo)]


def _with_rules(chart: Chart, rules: RuleConfig | None) -> Chart:
    """Rule 1 from the limits; the other enabled rules on the z-scores (rules=None: rule 1 only)."""
    found = _rule_one_from_limits(chart) if rules is None or 1 in rules.enabled else []
    if rules is not None:
        others = tuple(r for r in rules.enabled if r != 1)
        if others:
            found += check_rules(chart.z(), RuleConfig(**{**rules.__dict__, "enabled": others}))
    chart.violations = sorted(found, key=lambda v: (v.index, v.rule))
    return chart


def _flat(value: float, k: int) -> list[float]:
    return [float(value)] * k


def xbar_r(groups: Sequence[Sequence[float]], base: Baseline,
           rules: RuleConfig | None = None) -> tuple[Chart, Chart]:
    """The X̄ chart (run rules) and the R chart (rule 1) of ``groups`` against the frozen ``base``.

    Limits follow each subgroup's size: X̄ ± 3σ/√n_i, R between (d2 - 3d3)σ and (d2 + 3d3)σ, which
    for the nominal n are X̄̄ ± A2R̄ and D3R̄..D4R̄.
    """
    arrays = [np.asarray(g, dtype=float) for g in groups]
    sizes, ranges = _ranges(arrays)
    sigma, k = base.sigma, len(arrays)
    c = [constants(int(n)) for n in sizes]
    xbar = [float(g.mean()) for g in arrays]
    s_x = [sigma / math.sqrt(n) for n in sizes]
    x_chart = Chart("xbar", xbar, _flat(base.mean, k), [base.mean - 3 * s for s in s_x],
                    [base.mean + 3 * s for s in s_x], s_x)
    r_chart = Chart("r", ranges.tolist(), [ci.d2 * sigma for ci in c], [max(ci.d2 - 3 * ci.d3, 0) * sigma for ci in c],
                    [(ci.d2 + 3 * ci.d3) * sigma for ci in c], [ci.d3 * sigma for ci in c])
    return _with_rules(x_chart, rules), _with_rules(r_chart, None)


def imr(values: Sequence[float], base: Baseline, rules: RuleConfig | None = None) -> tuple[Chart, Chart]:
    """The individuals chart (run rules) and the moving-range chart (rule 1; its first point is NaN)."""
    x = np.asarray(values, dtype=float)
    k = len(x)
    c2 = constants(2)
    sigma = base.sigma
    mr = np.concatenate(([np.nan], np.abs(np.diff(x))))
    i_chart = Chart("i", x.tolist(), _flat(base.mean, k), _flat(base.mean - 3 * sigma, k),
                    _flat(base.mean + 3 * sigma, k), _flat(sigma, k))
    mr_chart = Chart("mr", mr.tolist(), _flat(c2.d2 * sigma, k), _flat(0.0, k), _flat(c2.D4 * c2.d2 * sigma, k),
                     _flat(c2.d3 * sigma, k))
    return _with_rules(i_chart, rules), _with_rules(mr_chart, None)


def ewma(values: Sequence[float], target: float, sigma: float, lam: float = 0.2, width: float = 3.0) -> Chart:
    """EWMA z_i = λx_i + (1-λ)z_{i-1}, z_0 = target, with the exact (widening) limits
    target ± L σ √(λ/(2-λ) (1-(1-λ)^{2i})). A point beyond them is reported as rule 1."""
    if not 0 < lam <= 1:
        raise ValueError(f"lambda: {lam} is not in (0, 1]")
    x = np.asarray(values, dtype=float)
    z = np.empty(len(x))
    prev = target
    for i, v in enumerate(x):
        prev = lam * v + (1 - lam) * prev
        z[i] = prev
    i = np.arange(1, len(x) + 1)
    s = sigma * np.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * i)))
    return _with_rules(Chart("ewma", z.tolist(), _flat(target, len(x)), (target - width * s).tolist(),
                             (target + width * s).tolist(), s.tolist()), None)


def cusum(values: Sequence[float], target: float, sigma: float, k: float = 0.5, h: float = 5.0) -> Chart:
    """Tabular CUSUM: C⁺_i = max(0, x_i - (μ0 + K) + C⁺_{i-1}), C⁻_i = max(0, (μ0 - K) - x_i + C⁻_{i-1}),
    K = kσ, H = hσ. ``values`` are C⁺, ``lower`` is -C⁻; beyond ±H is reported as rule 1."""
    x = np.asarray(values, dtype=float)
    big_k, big_h = k * sigma, h * sigma
    hi = np.empty(len(x))
    lo = np.empty(len(x))
    cp = cm = 0.0
    for i, v in enumerate(x):
        cp = max(0.0, v - (target + big_k) + cp)
        cm = max(0.0, (target - big_k) - v + cm)
        hi[i], lo[i] = cp, cm
    n = len(x)
    chart = Chart("cusum", hi.tolist(), _flat(0.0, n), _flat(-big_h, n), _flat(big_h, n), _flat(math.nan, n),
                  lower=(-lo).tolist())
    chart.violations = [Violation(i, 1, i) for i in range(n) if hi[i] > big_h or lo[i] > big_h]
    return chart


def p_chart(defective: Sequence[int], sizes: Sequence[int], p_bar: float | None = None,
            rules: RuleConfig | None = None) -> Chart:
    """Fraction defective with limits p̄ ± 3√(p̄(1-p̄)/n_i) for each sample's size (LCL clipped at 0).
    ``p_bar`` frozen from Phase I; by default Σd/Σn of these samples."""
    d, n = _counts(defective, sizes)
    pb = float(d.sum() / n.sum()) if p_bar is None else p_bar
    s = np.sqrt(pb * (1 - pb) / n)
    chart = Chart("p", (d / n).tolist(), _flat(pb, len(n)), np.maximum(pb - 3 * s, 0).tolist(),
                  np.minimum(pb + 3 * s, 1).tolist(), s.tolist())
    return _with_rules(chart, rules)


def u_chart(defects: Sequence[int], units: Sequence[float], u_bar: float | None = None,
            rules: RuleConfig | None = None) -> Chart:
    """Defects per unit with limits ū ± 3√(ū/n_i) (LCL clipped at 0); ``u_bar`` frozen or Σc/Σn."""
    c, n = _counts(defects, units)
    ub = float(c.sum() / n.sum()) if u_bar is None else u_bar
    s = np.sqrt(ub / n)
    chart = Chart("u", (c / n).tolist(), _flat(ub, len(n)), np.maximum(ub - 3 * s, 0).tolist(),
                  (ub + 3 * s).tolist(), s.tolist())
    return _with_rules(chart, rules)


def _counts(counts: Sequence[float], sizes: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    c, n = np.asarray(counts, dtype=float), np.asarray(sizes, dtype=float)
    if c.shape != n.shape:
        raise ValueError(f"sizes: {len(n)} sizes for {len(c)} counts")
    if len(n) == 0 or (n <= 0).any():
        raise ValueError("sizes: every sample needs a size > 0")
    if (c < 0).any():
        raise ValueError("counts: counts cannot be negative")
    return c, n
