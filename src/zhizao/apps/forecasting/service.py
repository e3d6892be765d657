"""The forecasting service: forecasts the plant's demand histories in the background.

On start it builds the demo demand histories (``demand``) and forecasts them in a worker
thread with the same engine the batch CLI uses, so the platform starts at once and the
console shows "running" until the first result. ``demand_plan`` and ``error_sigma`` are
what the planning app reads (via ``ctx.services["forecasting"]``). Each distinct run is kept in the
model registry as ``forecast/demo-demand``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from zhizao.apps.forecasting.demand import DemandSeries, demo_series
from zhizao.apps.forecasting.engine import ForecastRun
from zhizao.core.context import Context

log = logging.getLogger(__name__)

REGISTRY_KIND, REGISTRY_NAME = "forecast", "demo-demand"


class ForecastNotFound(KeyError):
    pass


class ForecastService:
    horizon = 28  # days
    season = 7  # weekly pattern in daily demand
    level = 90.0

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.series: list[DemandSeries] = []
        self.run: ForecastRun | None = None
        self.state = "idle"  # idle | running | ready | failed
        self.error: str | None = None
        self.updated_ms: int | None = None
        self.seconds: float | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self.series = demo_series(self.ctx.plant, self.ctx.settings.sim_seed)
        self.start_refresh()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def start_refresh(self, horizon: int | None = None, level: float | None = None) -> bool:
        """Forecast every series again in the background; False when a run is already going."""
        if self.state == "running":
            return False
        self.state = "running"
        self._task = asyncio.create_task(self._refresh(horizon, level))
        return True

    async def _refresh(self, horizon: int | None, level: float | None) -> None:
        horizon, level = horizon or self.horizon, level or self.level
        started = asyncio.get_running_loop().time()
        try:
            self.run = await asyncio.to_thread(self._compute, horizon, level)
            self.horizon, self.level = horizon, level
            self.state, self.error = "ready", None
        except Exception as exc:  # shown in the console and the API, the service keeps serving the last result
            log.exception("demand forecast failed")
            self.state, self.error = "failed", str(exc)
        self.updated_ms = self.ctx.clock.now_ms()
        self.seconds = round(asyncio.get_running_loop().time() - started, 1)

    def _compute(self, horizon: int, level: float) -> ForecastRun:
        from zhizao.apps.forecasting.engine import Forecaster
        from zhizao.apps.forecasting.global_gbm import GbmConfig

        engine = Forecaster(horizon, self.season, level=level, jobs=1,
                            gbm=GbmConfig(horizon=horizon, season=self.season))
        run = engine.forecast([s.values for s in self.series])
        self._register(run)
        return run

    def _register(self, run: ForecastRun) -> None:
        """Keep the run (forecasts, choices, backtest table) as a version in the model registry, once per
        distinct data and settings, so the figures behind a plan can be traced and compared later."""
        from zhizao.ml.registry import ModelRegistry, RegistryError, fingerprint

        registry = ModelRegistry(Path(self.ctx.settings.data_dir) / "models")
        params = {"horizon": run.horizon, "season": run.season, "level": run.level}
        data_print = fingerprint([s.values for s in self.series])
        try:
            current = registry.get(REGISTRY_KIND, REGISTRY_NAME)
            if current.data_fingerprint == data_print and current.params == params:
                return
        except RegistryError:
            pass
        metrics = {f"{group}.{name}.{key}": row[key] for group, rows in run.backtest.items()
                   for name, row in rows.items() if name in run.chosen for key in ("smape", "mase", "owa")}
        with tempfile.TemporaryDirectory() as folder:
            artefact = {"series": [s.id for s in self.series], "chosen": run.chosen, "groups": run.groups,
                        "forecast": [f.tolist() for f in run.forecasts], "lower": [x.tolist() for x in run.lower],
                        "upper": [x.tolist() for x in run.upper], "backtest": run.backtest}
            (Path(folder) / "forecast.json").write_text(json.dumps(artefact), encoding="utf-8")
            registry.register(REGISTRY_KIND, REGISTRY_NAME, Path(folder), metrics=metrics, params=params,
                              data_fingerprint=data_print, notes="demo demand forecast", deploy=True)

    # ---- queries -------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {"state": self.state, "error": self.error, "updated_ms": self.updated_ms, "seconds": self.seconds,
                "horizon": self.horizon, "season": self.season, "level": self.level, "series": len(self.series)}

    def _index(self, series_id: str) -> int:
        for i, s in enumerate(self.series):
            if s.id == series_id:
                return i
        raise ForecastNotFound(series_id)

    def _first_forecast_day(self) -> datetime:
        today = datetime.fromtimestamp(self.ctx.clock.now_ms() / 1000, UTC).date()
        return datetime(today.year, today.month, today.day, tzinfo=UTC)

    def overview(self) -> list[dict[str, Any]]:
        out = []
        for i, s in enumerate(self.series):
            row = {"id": s.id, "name_en": s.name_en, "name_zh": s.name_zh, "kind": s.kind,
                   "mean_demand": float(np.mean(s.values[-28:])), "model": None, "group": None, "accuracy": None}
            if self.run is not None:
                row.update(model=self.run.chosen[i], group=self.run.groups[i], accuracy=self.run.accuracy[i])
            out.append(row)
        return out

    def detail(self, series_id: str, history: int = 120) -> dict[str, Any]:
        i = self._index(series_id)
        s = self.series[i]
        first = self._first_forecast_day()
        past = s.values[-history:]
        days = [(first - timedelta(days=len(past) - k)).date().isoformat() for k in range(len(past))]
        out: dict[str, Any] = {"id": s.id, "name_en": s.name_en, "name_zh": s.name_zh, "kind": s.kind,
                               "history_dates": days, "history": past.tolist(), "status": self.status()}
        if self.run is not None:
            run = self.run
            out.update(
                forecast_dates=[(first + timedelta(days=k)).date().isoformat() for k in range(run.horizon)],
                forecast=run.forecasts[i].tolist(), lower=run.lower[i].tolist(), upper=run.upper[i].tolist(),
                model=run.chosen[i], group=run.groups[i], accuracy=run.accuracy[i],
                candidates=sorted(({"model": name, **row} for name, row in run.backtest.get(run.groups[i], {}).items()),
                                  key=lambda r: r["owa"])[:8])
        return out

    def demand_plan(self, periods: int) -> dict[str, list[float]]:
        """Forecast daily demand of the products and spare parts (independent demand for MRP), ``periods`` days;
        beyond the horizon the forecast repeats from its start (a horizon of whole weeks keeps the
        weekly pattern)."""
        if self.run is None:
            return {}
        out = {}
        for i, s in enumerate(self.series):
            values = self.run.forecasts[i]
            out[s.id] = np.resize(values, periods).tolist() if periods > len(values) else values[:periods].tolist()
        return out

    def error_sigma(self, series_id: str) -> float | None:
        """Per-day forecast error (RMSE of the chosen model's backtest), for safety stock."""
        if self.run is None:
            return None
        accuracy = self.run.accuracy[self._index(series_id)]
        return accuracy["rmse"] if accuracy else None

    def mean_demand(self, series_id: str) -> float:
        i = self._index(series_id)
        if self.run is not None:
            return float(np.mean(self.run.forecasts[i]))
        return float(np.mean(self.series[i].values[-28:]))
