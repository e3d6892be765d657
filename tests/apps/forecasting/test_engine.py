"""The engine's choice by backtest and its intervals, on seasonal series whose best model is known."""

import numpy as np
import pytest

from zhizao.apps.forecasting.engine import Forecaster, ForecastInputError, clean


def weekly_series(count: int, n: int = 140, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    pattern = np.array([1.0, 1.1, 1.2, 1.1, 1.0, 0.4, 0.3])
    return [rng.uniform(50, 500) * np.resize(np.roll(pattern, k), n) * rng.normal(1, 0.03, n) for k in range(count)]


def test_seasonal_series_choose_a_seasonal_model_and_cover_the_forecast():
    series = weekly_series(12)
    run = Forecaster(14, 7, models=("naive", "snaive", "lgbm")).forecast(series)
    table = run.backtest["regular"]
    assert table["snaive"]["owa"] < table["naive"]["owa"]
    assert run.chosen[0] != "naive" and len(set(run.chosen)) == 1  # one choice per group
    assert run.backtest["regular"][run.chosen[0]]["owa"] == min(r["owa"] for r in table.values())
    for y, f, lo, hi, acc in zip(series, run.forecasts, run.lower, run.upper, run.accuracy, strict=True):
        assert f.shape == (14,) and np.all(lo <= f) and np.all(f <= hi)
        assert abs(f.mean() / y[-14:].mean() - 1) < 0.2
        assert acc is not None and acc["smape"] < 20


def test_per_series_selection_picks_from_the_group_table():
    run = Forecaster(7, 7, models=("naive", "snaive"), selection="series").forecast(weekly_series(5, seed=2))
    assert set(run.chosen) <= set(run.backtest["regular"])


def test_clean_interpolates_inside_and_trims_the_ends():
    y, note = clean(np.array([np.nan, 1.0, np.nan, 3.0, np.inf]))
    assert y.tolist() == [1.0, 2.0, 3.0] and "interpolated" in note and "trimmed" in note


@pytest.mark.parametrize("kwargs, field", [({"horizon": 0}, "horizon"), ({"season": 0}, "season"),
                                           ({"level": 100}, "level"), ({"models": ("magic",)}, "models")])
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ForecastInputError, match=field):
        Forecaster(**{"horizon": 3, "season": 1, **kwargs})
