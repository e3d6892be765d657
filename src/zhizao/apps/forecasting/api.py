"""Demand forecasting REST API (``/api/forecast``).

Reads: the demo demand series, one series with history, forecast, interval band, the
chosen model and the backtest table. Writes (engineer): re-run the demo forecasts, or
forecast series posted in the request with the same engine as ``zhizao forecast``.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from zhizao.api.deps import current_user, get_service, request_lang, require_role
from zhizao.apps.forecasting.service import ForecastNotFound, ForecastService
from zhizao.core.i18n import t
from zhizao.security.model import User

router = APIRouter(prefix="/api/forecast", tags=["forecast"])
service_dep = Depends(get_service("forecasting"))
MAX_BATCH_SERIES = 500


class Status(BaseModel):
    state: str = Field(description="idle | running | ready | failed")
    error: str | None
    updated_ms: int | None
    seconds: float | None
    horizon: int
    season: int
    level: float
    series: int


class Accuracy(BaseModel):
    smape: float
    mase: float
    rmse: float


class SeriesRow(BaseModel):
    id: str
    name_en: str
    name_zh: str
    kind: str
    mean_demand: float = Field(description="mean of the last 28 days")
    model: str | None
    group: str | None
    accuracy: Accuracy | None


class Candidate(BaseModel):
    model: str
    smape: float
    mase: float
    owa: float
    series: int


class SeriesDetail(BaseModel):
    id: str
    name_en: str
    name_zh: str
    kind: str
    history_dates: list[str]
    history: list[float]
    status: Status
    forecast_dates: list[str] = []
    forecast: list[float] = []
    lower: list[float] = []
    upper: list[float] = []
    model: str | None = None
    group: str | None = None
    accuracy: Accuracy | None = None
    candidates: list[Candidate] = Field([], description="backtest OWA of the best candidates of the series' group")


class RunRequest(BaseModel):
    horizon: int | None = Field(None, ge=1, le=365)
    level: float | None = Field(None, gt=0, lt=100)


class BatchSeries(BaseModel):
    id: str
    values: list[float | None] = Field(description="oldest first; null for a missing value")


class BatchRequest(BaseModel):
    series: list[BatchSeries] = Field(min_length=1)
    horizon: int = Field(ge=1, le=1000)
    season: int = Field(1, ge=1, le=1000)
    level: float = Field(90.0, gt=0, lt=100)
    models: list[str] | None = Field(None, description="candidates; default 'auto'")


class BatchResult(BaseModel):
    id: str
    forecast: list[float]
    lower: list[float]
    upper: list[float]
    model: str
    accuracy: Accuracy | None


class BatchResponse(BaseModel):
    results: list[BatchResult]
    summary: dict[str, Any]


@router.get("/status")
def get_status(_: User = Depends(current_user), svc: ForecastService = service_dep) -> Status:
    return Status(**svc.status())


@router.get("/series")
def list_series(_: User = Depends(current_user), svc: ForecastService = service_dep) -> list[SeriesRow]:
    """Every demand series with its chosen model and backtest accuracy."""
    return [SeriesRow(**row) for row in svc.overview()]


@router.get("/series/{series_id}")
def get_series(series_id: str, request: Request, history: int = Query(120, ge=7, le=3650),
               _: User = Depends(current_user), svc: ForecastService = service_dep) -> SeriesDetail:
    """History, forecast with its interval band, the chosen model and the group's backtest table."""
    try:
        return SeriesDetail(**svc.detail(series_id, history))
    except ForecastNotFound:
        lang = request_lang(request)
        raise HTTPException(status.HTTP_404_NOT_FOUND, t("forecasting.error.unknown_series", lang, id=series_id)) \
            from None


@router.post("/run", status_code=status.HTTP_202_ACCEPTED)
async def rerun(body: RunRequest, _: User = Depends(require_role("engineer")),
                svc: ForecastService = service_dep) -> Status:
    """Forecast the demand series again in the background (optionally another horizon or interval level)."""
    svc.start_refresh(body.horizon, body.level)
    return Status(**svc.status())


@router.post("/batch")
async def batch(body: BatchRequest, _: User = Depends(require_role("engineer"))) -> BatchResponse:
    """Forecast the posted series (as ``zhizao forecast`` does with a file)."""
    from zhizao.apps.forecasting.engine import Forecaster, ForecastInputError

    if len(body.series) > MAX_BATCH_SERIES:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"series: at most {MAX_BATCH_SERIES} per request, got {len(body.series)}")
    try:
        engine = Forecaster(body.horizon, body.season, models=tuple(body.models) if body.models else "auto",
                            level=body.level, jobs=1)
    except ForecastInputError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    values = [np.array([math.nan if v is None else v for v in s.values], float) for s in body.series]
    run = await asyncio.to_thread(engine.forecast, values)
    results = [BatchResult(id=s.id, forecast=run.forecasts[i].tolist(), lower=run.lower[i].tolist(),
                           upper=run.upper[i].tolist(), model=run.chosen[i], accuracy=run.accuracy[i])
               for i, s in enumerate(body.series)]
    return BatchResponse(results=results, summary=run.summary())
