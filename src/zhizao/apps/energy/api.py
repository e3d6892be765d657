"""Energy & carbon REST API: consumption, cost and carbon by tariff band, anomalies, load shifting.

Times are epoch milliseconds (default: the last 24 hours of the platform clock). Reading needs a
signed-in user; planning the flexible loads (CPU work) needs an operator; changing the tariff,
emission factor or the flexible-load model needs an engineer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

from zhizao.api.deps import current_user, get_service, request_lang, require_role
from zhizao.apps.energy.model import Anomaly, ConsumptionResponse, EnergyConfig, ShiftProblemIn, ShiftResponse
from zhizao.apps.energy.service import EnergyInputError, EnergyService
from zhizao.security.model import User

router = APIRouter(prefix="/api/energy", tags=["energy"])
service_dep = Depends(get_service("energy"))
StartQuery = Query(None, description="Epoch ms; default: end - 24 h")
EndQuery = Query(None, description="Epoch ms; default: now on the platform clock")



@contextmanager
def _errors(request: Request) -> Iterator[None]:
    try:
        yield
    except EnergyInputError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.text(request_lang(request))) from None


@router.get("/consumption")
def get_consumption(request: Request, start: int | None = StartQuery, end: int | None = EndQuery,
                    _: User = Depends(current_user), svc: EnergyService = service_dep) -> ConsumptionResponse:
    """Energy (kWh), cost and scope 2 CO2 per machine and meter, by tariff band, and per good unit."""
    with _errors(request):
        return svc.consumption(start, end, request_lang(request))


@router.get("/anomalies")
def get_anomalies(request: Request, start: int | None = StartQuery, end: int | None = EndQuery,
                  _: User = Depends(current_user), svc: EnergyService = service_dep) -> list[Anomaly]:
    """Idle power above its usual band, and kWh per good unit above its usual band, newest first."""
    with _errors(request):
        return svc.anomalies(start, end, request_lang(request))


@router.get("/config")
def get_config(_: User = Depends(current_user), svc: EnergyService = service_dep) -> EnergyConfig:
    """Tariff (bands, prices, periods), emission factor with its source, the flexible-load model."""
    return svc.config


@router.put("/config")
async def put_config(body: EnergyConfig, _: User = Depends(require_role("engineer")),
                     svc: EnergyService = service_dep) -> EnergyConfig:
    return await asyncio.to_thread(svc.save, body)


class PlanRequest(BaseModel):
    problem: ShiftProblemIn | None = None  # default: the configured flexible loads
    day: str | None = None  # YYYY-MM-DD local; default: tomorrow
    time_limit_s: float = 10.0


@router.post("/shifting/plan")
async def post_plan(request: Request, body: PlanRequest = Body(default_factory=PlanRequest),
                    _: User = Depends(require_role("operator")), svc: EnergyService = service_dep) -> ShiftResponse:
    """Run windows of the flexible loads for a day: as soon as possible (reference) and least cost
    (CP-SAT), both checked against every buffer limit, with the saving."""
    if not 0 < body.time_limit_s <= 60:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "time_limit_s: must be in (0, 60]")
    with _errors(request):
        return await asyncio.to_thread(svc.plan, body.problem, body.day, body.time_limit_s)
