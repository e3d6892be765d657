"""Benchmarks every forecast is measured against: naive, seasonal naive and M4's Naive2.

Naive2 is the naive forecast of the seasonally adjusted series: when the series passes
M4's 90 % autocorrelation test for seasonality at lag ``season``, it is divided by
multiplicative seasonal indices from a classical decomposition (centred moving average),
forecast flat from the last adjusted value, and multiplied back.
"""

from __future__ import annotations

import numpy as np


def naive(y: np.ndarray, horizon: int) -> np.ndarray:
    return np.full(horizon, float(y[-1]))


def seasonal_naive(y: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Repeat the last full season; the plain naive forecast when the history is shorter than a season."""
    if season <= 1 or len(y) < season:
        return naive(y, horizon)
    last = np.asarray(y[-season:], float)
    return np.resize(last, horizon)


def acf(y: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelations at lags 1..max_lag."""
    centred = np.asarray(y, float) - np.mean(y)
    denominator = float(np.sum(centred**2))
    if denominator == 0:
        return np.zeros(max_lag)
    return np.array([np.sum(centred[lag:] * centred[:-lag]) / denominator for lag in range(1, max_lag + 1)])


def is_seasonal(y: np.ndarray, season: int) -> bool:
    """M4's test: |acf(season)| exceeds 1.645 standard errors (Bartlett) and there are 3 seasons of data."""
    if season <= 1 or len(y) < 3 * season:
        return False
    r = acf(y, season)
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(r[:-1] ** 2)) / len(y))
    return bool(abs(r[-1]) > limit)


def seasonal_indices(y: np.ndarray, season: int) -> np.ndarray:
    """Multiplicative seasonal indices (mean 1) by classical decomposition, aligned so that
    index ``i`` belongs to positions ``t`` with ``t % season == i``."""
    y = np.asarray(y, float)
    if season % 2 == 0:  # 2 x season centred moving average
        weights = np.r_[0.5, np.ones(season - 1), 0.5] / season
    else:
        weights = np.ones(season) / season
    trend = np.convolve(y, weights, mode="valid")
    offset = (len(weights) - 1) // 2
    ratios = y[offset:offset + len(trend)] / trend
    positions = (np.arange(len(trend)) + offset) % season
    indices = np.array([np.nanmean(ratios[positions == i]) if np.any(positions == i) else 1.0
                        for i in range(season)])
    indices = np.where(np.isfinite(indices) & (indices > 0), indices, 1.0)
    return indices / indices.mean()


def naive2(y: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """M4's Naive2: naive on the seasonally adjusted series (multiplicative), re-seasonalised."""
    y = np.asarray(y, float)
    if not (is_seasonal(y, season) and np.all(y > 0)):
        return naive(y, horizon)
    indices = seasonal_indices(y, season)
    n = len(y)
    adjusted_last = y[-1] / indices[(n - 1) % season]
    future = (n + np.arange(horizon)) % season
    return adjusted_last * indices[future]
