"""Forecast accuracy as the M4 competition measures it: sMAPE, MASE and OWA against Naive2.

Every function takes plain numpy arrays. sMAPE is in percent (0..200); a step where
both the actual and the forecast are 0 counts as a perfect forecast (0), not a division by zero.
"""

from __future__ import annotations

import numpy as np


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent: mean of 200 |y - f| / (|y| + |f|)."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(np.abs(actual - forecast), denominator, out=np.zeros_like(denominator),
                      where=denominator > 0)
    return float(200.0 * ratio.mean())


def mase_scale(insample: np.ndarray, season: int) -> float:
    """Mean absolute seasonal difference of the history (M4's MASE denominator).

    Falls back to lag 1 when the history is not longer than one season, and to 1.0 when
    the history is flat (so MASE becomes the plain MAE instead of infinity)."""
    insample = np.asarray(insample, float)
    lag = season if len(insample) > season else 1
    if len(insample) <= lag:
        return 1.0
    scale = float(np.mean(np.abs(insample[lag:] - insample[:-lag])))
    return scale if scale > 0 else 1.0


def mase(insample: np.ndarray, actual: np.ndarray, forecast: np.ndarray, season: int) -> float:
    """Mean absolute scaled error with the seasonal-naive in-sample scale."""
    error = np.mean(np.abs(np.asarray(actual, float) - np.asarray(forecast, float)))
    return float(error / mase_scale(insample, season))


def owa(smape_model: float, mase_model: float, smape_naive2: float, mase_naive2: float) -> float:
    """Overall weighted average: the mean of the two ratios to Naive2 (1.0 = as good as Naive2)."""
    return 0.5 * (smape_model / smape_naive2 + mase_model / mase_naive2)


def evaluate(histories: list[np.ndarray], actuals: list[np.ndarray], forecasts: list[np.ndarray],
             naive2: list[np.ndarray], season: int) -> dict[str, float]:
    """sMAPE and MASE averaged over series (as M4 does), for the model and Naive2, and the OWA."""
    s_model = np.mean([smape(a, f) for a, f in zip(actuals, forecasts, strict=True)])
    m_model = np.mean([mase(h, a, f, season) for h, a, f in zip(histories, actuals, forecasts, strict=True)])
    s_naive = np.mean([smape(a, f) for a, f in zip(actuals, naive2, strict=True)])
    m_naive = np.mean([mase(h, a, f, season) for h, a, f in zip(histories, actuals, naive2, strict=True)])
    return {"smape": float(s_model), "mase": float(m_model), "smape_naive2": float(s_naive),
            "mase_naive2": float(m_naive), "owa": owa(s_model, m_model, s_naive, m_naive)}
