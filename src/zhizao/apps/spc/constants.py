"""Control-chart constants for subgroups of n = 2..25, computed from the normal distribution.

The tables in Montgomery (Appendix VI) and ASTM E2587 are these numbers rounded to three or
four places: d2 = E[R/sigma] and d3 = sd[R/sigma] of the range of n standard normal values,
c4 = E[s/sigma]; A2, D3, D4, A3, B3, B4 follow from them. Computing them (numerical integration
on a fine grid, exact to about 1e-6) keeps every n equally precise; the tests compare with the tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.special import gammaln, ndtr

MIN_N, MAX_N = 2, 25


@dataclass(frozen=True, slots=True)
class Constants:
    n: int
    d2: float
    d3: float
    c4: float

    @property
    def A2(self) -> float:  # noqa: N802 - the textbook's name
        return 3 / (self.d2 * math.sqrt(self.n))

    @property
    def D3(self) -> float:  # noqa: N802
        return max(0.0, 1 - 3 * self.d3 / self.d2)

    @property
    def D4(self) -> float:  # noqa: N802
        return 1 + 3 * self.d3 / self.d2

    @property
    def A3(self) -> float:  # noqa: N802
        return 3 / (self.c4 * math.sqrt(self.n))

    @property
    def B3(self) -> float:  # noqa: N802
        return max(0.0, 1 - 3 * math.sqrt(1 - self.c4**2) / self.c4)

    @property
    def B4(self) -> float:  # noqa: N802
        return 1 + 3 * math.sqrt(1 - self.c4**2) / self.c4


def _range_moments(n: int) -> tuple[float, float]:
    """E[R] and sd[R] of the range of n standard normal values.

    E[R] = ∫ 1 - F(x)^n - (1 - F(x))^n dx and, with F the normal CDF,
    E[R²] = 2 ∫∫_{x<y} 1 - F(y)^n - (1 - F(x))^n + (F(y) - F(x))^n dx dy.
    """
    x = np.linspace(-9.0, 9.0, 1801)
    h = float(x[1] - x[0])
    f = ndtr(x)
    mean = float(np.trapezoid(1 - f**n - (1 - f) ** n, dx=h))
    fy, fx = f[:, None], f[None, :]  # rows y, columns x
    inner = 1 - fy**n - (1 - fx) ** n + np.clip(fy - fx, 0, None) ** n
    inner = np.where(x[None, :] < x[:, None], inner, 0.0)
    inner[np.arange(len(x)), np.arange(len(x))] = 0.5 * (1 - f**n - (1 - f) ** n)  # half weight on x == y
    second = 2 * float(np.trapezoid(np.trapezoid(inner, dx=h, axis=1), dx=h))
    return mean, math.sqrt(max(second - mean**2, 0.0))


def _c4(n: int) -> float:
    return math.sqrt(2 / (n - 1)) * math.exp(gammaln(n / 2) - gammaln((n - 1) / 2))


@cache
def constants(n: int) -> Constants:
    """The constants for subgroup size ``n`` (2..25)."""
    if not MIN_N <= n <= MAX_N:
        raise ValueError(f"subgroup_size: {n} is outside {MIN_N}..{MAX_N}")
    d2, d3 = _range_moments(n)
    return Constants(n, d2, d3, _c4(n))
