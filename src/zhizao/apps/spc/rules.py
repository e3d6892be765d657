"""Western Electric / Nelson run rules on a standardised control chart.

Every chart is reduced to z-scores, z = (x - centre) / sigma of the plotted statistic, so one
implementation serves charts with constant limits (X̄, I) and with limits that vary point by point
(p and u with varying sample sizes, EWMA while its limits widen). A violation is reported at the
point that completes the pattern, as control-chart software marks it.

Nelson's eight rules (Journal of Quality Technology, 1984), with the counts configurable:
1. one point beyond 3 sigma;
2. nine points in a row on the same side of the centre line;
3. six points in a row steadily increasing or decreasing;
4. fourteen points in a row alternating up and down;
5. two out of three points beyond 2 sigma on the same side;
6. four out of five points beyond 1 sigma on the same side;
7. fifteen points in a row within 1 sigma on either side (stratification);
8. eight points in a row beyond 1 sigma on either side (mixture).
The Western Electric set is rules 1, 5, 6 and rule 2 with eight points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

RULE_NUMBERS = (1, 2, 3, 4, 5, 6, 7, 8)


@dataclass(frozen=True)
class RuleConfig:
    """Which rules are on and their run lengths (Nelson's defaults)."""

    enabled: tuple[int, ...] = RULE_NUMBERS
    sigma_limit: float = 3.0  # rule 1
    same_side: int = 9  # rule 2
    trend: int = 6  # rule 3
    alternating: int = 14  # rule 4
    zone_a: tuple[int, int] = (2, 3)  # rule 5: m of n beyond 2 sigma, same side
    zone_b: tuple[int, int] = (4, 5)  # rule 6: m of n beyond 1 sigma, same side
    stratification: int = 15  # rule 7
    mixture: int = 8  # rule 8

    @classmethod
    def western_electric(cls) -> RuleConfig:
        return cls(enabled=(1, 2, 5, 6), same_side=8)

    def __post_init__(self) -> None:
        bad = [r for r in self.enabled if r not in RULE_NUMBERS]
        if bad:
            raise ValueError(f"rules: {bad} are not rule numbers 1..8")
        for name in ("same_side", "trend", "alternating", "stratification", "mixture"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name}: a run needs at least 2 points")
        for name in ("zone_a", "zone_b"):
            m, n = getattr(self, name)
            if not 1 <= m <= n:
                raise ValueError(f"{name}: need 1 <= m <= n, got {m} of {n}")


@dataclass(frozen=True, slots=True)
class Violation:
    index: int  # the point that completes the pattern
    rule: int
    start: int  # first point of the pattern


@dataclass
class _Runs:
    """Lengths of the run ending at each point, for the run-length rules."""

    z: np.ndarray
    out: list[Violation] = field(default_factory=list)

    def runs(self, condition: np.ndarray) -> np.ndarray:
        length = np.zeros(len(condition), dtype=int)
        run = 0
        for i, c in enumerate(condition):
            run = run + 1 if c else 0
            length[i] = run
        return length

    def run_rule(self, rule: int, condition: np.ndarray, needed: int, reach: int = 0) -> None:
        """A violation wherever ``needed`` consecutive points meet ``condition``; a condition that
        looks ``reach`` points back (a step, a flip) starts its pattern that much earlier."""
        for i, length in enumerate(self.runs(condition)):
            if length >= needed:
                self.out.append(Violation(i, rule, i - needed + 1 - reach))

    def m_of_n(self, rule: int, beyond: float, m: int, n: int) -> None:
        """``m`` of ``n`` consecutive points beyond ``beyond`` sigma on the same side; the last point
        of the window must itself be beyond (it completes the pattern)."""
        for side in (1, -1):
            hit = side * self.z > beyond
            counts = np.convolve(hit.astype(int), np.ones(n, dtype=int))[: len(hit)]
            for i in np.flatnonzero(hit & (counts >= m)):
                self.out.append(Violation(int(i), rule, max(int(i) - n + 1, 0)))


def check_rules(z: Sequence[float], config: RuleConfig | None = None) -> list[Violation]:
    """Violations of the enabled rules on the standardised points ``z`` (NaN points are skipped
    by every rule: they break runs)."""
    config = config or RuleConfig()
    zz = np.asarray(z, dtype=float)
    valid = np.isfinite(zz)
    zs = np.where(valid, zz, 0.0)
    r = _Runs(zs)
    on = set(config.enabled)
    if 1 in on:
        for i in np.flatnonzero(valid & (np.abs(zs) > config.sigma_limit)):
            r.out.append(Violation(int(i), 1, int(i)))
    if 2 in on:
        r.run_rule(2, valid & (zs > 0), config.same_side)
        r.run_rule(2, valid & (zs < 0), config.same_side)
    diff = np.diff(zs, prepend=np.nan)
    step_ok = valid & np.concatenate(([False], valid[:-1]))
    if 3 in on:  # n points increasing = n - 1 increases in a row
        r.run_rule(3, step_ok & (diff > 0), config.trend - 1, reach=1)
        r.run_rule(3, step_ok & (diff < 0), config.trend - 1, reach=1)
    if 4 in on:  # n points alternating = n - 1 steps whose signs alternate
        sign = np.where(step_ok, np.sign(diff), 0)
        flips = np.concatenate(([False], (sign[1:] * sign[:-1] < 0)))
        # A run of k flips covers k + 1 steps, i.e. k + 2 points.
        r.run_rule(4, flips, config.alternating - 2, reach=2)
    if 5 in on:
        r.m_of_n(5, 2.0, *config.zone_a)
    if 6 in on:
        r.m_of_n(6, 1.0, *config.zone_b)
    if 7 in on:
        r.run_rule(7, valid & (np.abs(zs) < 1.0), config.stratification)
    if 8 in on:
        r.run_rule(8, valid & (np.abs(zs) > 1.0), config.mixture)
    return sorted(r.out, key=lambda v: (v.index, v.rule))
