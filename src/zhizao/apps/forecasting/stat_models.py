"""Local statistical models from statsforecast, run on many series at once.

Each name maps to a statsforecast model; ``run`` forecasts every given series with one
model and returns ``None`` for a series the model could not handle (the engine then
uses a fallback). Seasonal models only get the seasons a series is long enough for:
MSTL adds the weekly cycle (7 x season) for hourly-like data (season 24 or 48) when the
history covers it twice.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

log = logging.getLogger(__name__)

STAT_MODELS = ("theta", "ets", "mstl", "arima", "croston", "sba", "tsb", "adida")
INTERMITTENT_MODELS = ("croston", "sba", "tsb", "adida")


def _model(name: str, seasons: tuple[int, ...]):
    from statsforecast import models as m

    season = seasons[0]
    if name == "theta":
        return m.DynamicOptimizedTheta(season_length=season)
    if name == "ets":
        return m.AutoETS(season_length=season)
    if name == "mstl":
        trend = m.AutoETS(model="ZZN")
        return m.MSTL(season_length=list(seasons), trend_forecaster=trend) if season > 1 else trend
    if name == "arima":
        return m.AutoARIMA(season_length=season)
    if name == "croston":
        return m.CrostonClassic()
    if name == "sba":
        return m.CrostonSBA()
    if name == "tsb":
        return m.TSB(alpha_d=0.1, alpha_p=0.1)
    if name == "adida":
        return m.ADIDA()
    raise ValueError(f"unknown statistical model {name!r}; known: {', '.join(STAT_MODELS)}")


def seasons_for(name: str, length: int, season: int) -> tuple[int, ...]:
    """The seasonal periods model ``name`` gets for a series of ``length`` values."""
    if season <= 1 or length < 2 * season + 1:
        return (1,)
    if name == "mstl" and season in (24, 48) and length > 2 * 7 * season:
        return (season, 7 * season)
    return (season,)


def run(name: str, series: list[np.ndarray], horizon: int, season: int, jobs: int = 1) -> list[np.ndarray | None]:
    """Forecast each series with model ``name``; series are grouped by the seasons they support."""
    import pandas as pd
    from statsforecast import StatsForecast

    out: list[np.ndarray | None] = [None] * len(series)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, y in enumerate(series):
        if len(y) >= 3:
            groups.setdefault(seasons_for(name, len(y), season), []).append(i)
    for seasons, members in groups.items():
        frame = pd.DataFrame({
            "unique_id": np.concatenate([np.full(len(series[i]), i) for i in members]),
            "ds": np.concatenate([np.arange(len(series[i])) for i in members]),
            "y": np.concatenate([series[i] for i in members]).astype(float),
        })
        engine = StatsForecast(models=[_model(name, seasons)], freq=1, n_jobs=jobs)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = engine.forecast(df=frame, h=horizon)
        except Exception as exc:  # a failing model must not stop the batch: the engine falls back
            log.warning("model %s failed on %d series (%s); falling back", name, len(members), exc)
            continue
        column = [c for c in result.columns if c not in ("unique_id", "ds")][0]
        for uid, block in result.groupby("unique_id", sort=False):
            values = block[column].to_numpy(float)
            out[int(uid)] = values if np.all(np.isfinite(values)) else None
    return out
