"""Remaining useful life from a degradation path, with a bootstrap interval.

The degradation indicator ``y`` (e.g. the anomaly distance above its healthy level)
is followed over operating time ``t`` since the machine started to degrade. Two
path models are fitted by least squares, linear ``y = a + b t`` and exponential
``y = exp(a + b t)`` (the P-F curve of wear-out), and the one with the smaller
squared error in ``y`` is kept. The remaining life is the time until the path
crosses ``threshold``; its interval comes from a residual bootstrap (the path
refitted to resampled residuals, and the crossing level moved by one more
resampled residual, since the future path is as noisy as the past one), so it is
a prediction interval for the crossing time, not only for the fitted path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

PathModel = Literal["linear", "exponential"]
EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Rul:
    median: float  # same unit as t
    low: float
    high: float
    model: PathModel
    points: int

    def to_json(self) -> dict[str, float | str | int]:
        return {"median": round(self.median, 3), "low": round(self.low, 3), "high": round(self.high, 3),
                "model": self.model, "points": self.points}


def _fit(t: np.ndarray, y: np.ndarray, model: PathModel) -> tuple[float, float, np.ndarray]:
    """(intercept, slope, fitted y)."""
    target = np.log(np.maximum(y, EPS)) if model == "exponential" else y
    slope, intercept = np.polyfit(t, target, 1)
    fitted = intercept + slope * t
    return float(intercept), float(slope), np.exp(fitted) if model == "exponential" else fitted


def _crossing(intercept: float, slope: float, threshold: float, model: PathModel) -> float:
    """Time at which the path reaches ``threshold`` (inf when it does not rise)."""
    if slope <= 0:
        return math.inf
    level = math.log(max(threshold, EPS)) if model == "exponential" else threshold
    return (level - intercept) / slope


def _shift(threshold: float, residual: float, model: PathModel) -> float:
    """The threshold seen through one residual of the path (in log space for the exponential path)."""
    return threshold * math.exp(-residual) if model == "exponential" else threshold - residual


def remaining_life(t: np.ndarray, y: np.ndarray, threshold: float, *, now: float | None = None,
                   models: tuple[PathModel, ...] = ("linear", "exponential"), n_boot: int = 200,
                   coverage: float = 0.8, max_life: float = math.inf, seed: int = 0) -> Rul | None:
    """RUL at ``now`` (default: the last ``t``) with a ``coverage`` interval; None with fewer than 4 points.

    A path that does not rise gives ``max_life``; crossings beyond it are clipped to it.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if len(t) < 4 or np.ptp(t) <= 0:
        return None
    now = float(t[-1]) if now is None else now
    fits = {m: _fit(t, y, m) for m in models if m == "linear" or (y > 0).all()}
    model = min(fits, key=lambda m: float(((y - fits[m][2]) ** 2).sum()))
    intercept, slope, fitted = fits[model]
    target = np.log(np.maximum(y, EPS)) if model == "exponential" else y
    base = np.log(np.maximum(fitted, EPS)) if model == "exponential" else fitted
    resid = target - base
    rng = np.random.default_rng(seed)
    crossings = []
    for _ in range(n_boot):
        sample = base + rng.choice(resid, size=len(resid), replace=True)
        b, a = np.polyfit(t, sample, 1)
        # The future path is as noisy as the past one: the crossing level moves by a residual too.
        crossings.append(_crossing(float(a), float(b), _shift(threshold, float(rng.choice(resid)), model), model))
    life = np.clip(np.array(crossings) - now, 0.0, max_life)
    point = min(max(_crossing(intercept, slope, threshold, model) - now, 0.0), max_life)
    tail = (1 - coverage) / 2
    low, high = np.quantile(life, [tail, 1 - tail])
    return Rul(float(point), float(min(low, point)), float(max(high, point)), model, len(t))
