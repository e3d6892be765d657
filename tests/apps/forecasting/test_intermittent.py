"""Croston, SBA and TSB (statsforecast) on an intermittent series against hand calculations.

Demand sizes 3, 5, 2, 4 after intervals 3, 4, 2, 3; simple exponential smoothing with
alpha 0.1 started at the first value gives size 3.172 and interval 2.991:
Croston 3.172 / 2.991, SBA 0.95 x that; TSB smooths the occurrence (0/1) series instead
of the intervals: probability 0.2706910 x size 3.172.
"""

import numpy as np
import pytest

from zhizao.apps.forecasting import stat_models
from zhizao.apps.forecasting.engine import Forecaster, is_intermittent

SERIES = np.array([0, 0, 3, 0, 0, 0, 5, 0, 2, 0, 0, 4.0])


@pytest.mark.parametrize("model, expected", [
    ("croston", 3.172 / 2.991),
    ("sba", 0.95 * 3.172 / 2.991),
    ("tsb", 0.2706910489 * 3.172),
])
def test_intermittent_methods_hand_case(model, expected):
    forecast = stat_models.run(model, [SERIES], 3, 1)[0]
    assert forecast == pytest.approx([expected] * 3, rel=1e-6)


def test_intermittent_series_get_intermittent_methods():
    assert is_intermittent(SERIES) and not is_intermittent(np.arange(1.0, 20.0))
    rng = np.random.default_rng(3)
    spare_parts = [np.where(rng.random(200) < 0.1, rng.integers(1, 4, 200), 0).astype(float) for _ in range(6)]
    run = Forecaster(7, 7, models=("naive", "snaive")).forecast(spare_parts)
    assert set(run.groups) == {"intermittent"}
    assert "intermittent" in run.backtest and "sba" in run.backtest["intermittent"]
    assert all(np.all(f >= 0) and np.all(lo <= f) and np.all(f <= hi)
               for f, lo, hi in zip(run.forecasts, run.lower, run.upper, strict=True))
