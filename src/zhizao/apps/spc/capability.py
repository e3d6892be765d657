"""Process capability (Cp, Cpk with the within-subgroup sigma) and performance (Pp, Ppk with the
overall sigma), each with a two-sided confidence interval.

Cp and Pp: the exact chi-square interval, Ĉp √(χ²_{α/2, n-1}/(n-1)) ≤ Cp ≤ Ĉp √(χ²_{1-α/2, n-1}/(n-1)).
Cpk and Ppk: Bissell's normal approximation, Ĉpk (1 ± z_{1-α/2} √(1/(9nĈpk²) + 1/(2(n-1)))),
as in Montgomery §8.3.5. One-sided specifications give Cpk only (Cp needs both limits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2, norm


@dataclass(frozen=True)
class Index:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Capability:
    n: int
    mean: float
    sigma_within: float | None
    sigma_overall: float
    lsl: float | None
    usl: float | None
    cp: Index | None
    cpk: Index | None
    pp: Index | None
    ppk: Index | None
    out_of_spec: int  # observed points outside the specification
    confidence: float


def _cp_interval(value: float, n: int, confidence: float) -> Index:
    a = 1 - confidence
    return Index(value, value * math.sqrt(chi2.ppf(a / 2, n - 1) / (n - 1)),
                 value * math.sqrt(chi2.ppf(1 - a / 2, n - 1) / (n - 1)))


def _cpk_interval(value: float, n: int, confidence: float) -> Index:
    z = norm.ppf(1 - (1 - confidence) / 2)
    half = z * math.sqrt(1 / (9 * n * value**2) + 1 / (2 * (n - 1))) if value else math.inf
    return Index(value, value * (1 - half), value * (1 + half))


def _indices(mean: float, sigma: float, lsl: float | None, usl: float | None, n: int,
             confidence: float) -> tuple[Index | None, Index | None]:
    if not sigma > 0:
        return None, None
    cp = _cp_interval((usl - lsl) / (6 * sigma), n, confidence) if lsl is not None and usl is not None else None
    sides = [x for x in ((usl - mean) / (3 * sigma) if usl is not None else None,
                         (mean - lsl) / (3 * sigma) if lsl is not None else None) if x is not None]
    cpk = _cpk_interval(min(sides), n, confidence) if sides else None
    return cp, cpk


def capability(values: Sequence[float], lsl: float | None, usl: float | None, sigma_within: float | None = None,
               confidence: float = 0.95) -> Capability:
    """Capability of ``values`` against the specification; ``sigma_within`` from the frozen baseline
    (R̄/d2 or MR̄/d2) gives Cp/Cpk, the sample's standard deviation gives Pp/Ppk."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        raise ValueError(f"values: {len(x)} given, at least 2 are needed for capability")
    if lsl is None and usl is None:
        raise ValueError("spec: a lower or an upper specification limit is needed")
    if lsl is not None and usl is not None and not lsl < usl:
        raise ValueError(f"spec: lower limit {lsl} is not below upper limit {usl}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: {confidence} is not in (0, 1)")
    n, mean, s = len(x), float(x.mean()), float(x.std(ddof=1))
    cp, cpk = _indices(mean, sigma_within, lsl, usl, n, confidence) if sigma_within else (None, None)
    pp, ppk = _indices(mean, s, lsl, usl, n, confidence)
    out = int(((x < lsl) if lsl is not None else np.zeros(n, bool)).sum()
              + ((x > usl) if usl is not None else np.zeros(n, bool)).sum())
    return Capability(n, mean, sigma_within, s, lsl, usl, cp, cpk, pp, ppk, out, confidence)
