"""OEE and downtime REST API.

``start``/``end`` are epoch milliseconds or ISO-8601 (naive means UTC); by
default the last 8 hours of the platform clock. ``scope`` is a UNS path prefix
(enterprise, site, area, line, cell or equipment); by default the enterprise.
Labels and errors come in the language of ``lang``, else of ``Accept-Language``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from zhizao.api.deps import current_user, get_service, request_lang
from zhizao.apps.oee.model import DowntimeList, OeeResult, Pareto
from zhizao.apps.oee.service import OeeQueryError, OeeService
from zhizao.security.model import User

router = APIRouter(prefix="/api", tags=["oee"])
service_dep = Depends(get_service("oee"))

ScopeQuery = Query(None, description="UNS path prefix: enterprise, site, area, line, cell or equipment")
StartQuery = Query(None, description="Epoch ms or ISO-8601; default: end - 8 h")
EndQuery = Query(None, description="Epoch ms or ISO-8601; default: now on the platform clock")



@contextmanager
def _errors(lang: str) -> Iterator[None]:
    try:
        yield
    except OeeQueryError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.text(lang)) from None


@router.get("/oee")
def get_oee(request: Request, scope: str | None = ScopeQuery, start: str | None = StartQuery,
            end: str | None = EndQuery,
            group_by: Literal["equipment", "shift", "hour", "day"] | None = Query(
                None, description="Also give the figures per equipment, shift occurrence, local hour or day"),
            _: User = Depends(current_user), svc: OeeService = service_dep) -> OeeResult:
    """ISO 22400 time elements, quantities and KPIs (availability, effectiveness, quality, OEE)
    of the scope, with figures per machine, per line (and the line's output) and per group."""
    with _errors(request_lang(request)):
        return svc.oee(scope, start, end, group_by)


@router.get("/oee/status")
def oee_status(_: User = Depends(current_user), svc: OeeService = service_dep) -> dict[str, Any]:
    """Recorded and rejected events (with the last rejections) and pending writes."""
    return svc.stats()


@router.get("/downtime")
def get_downtime(request: Request, scope: str | None = ScopeQuery, start: str | None = StartQuery,
                 end: str | None = EndQuery,
                 reasons: list[str] | None = Query(
                     None, description="Reason codes or prefixes (failure matches failure.bearing); "
                                       "repeat the parameter or separate with commas"),
                 limit: int = Query(1000, ge=1, le=10_000),
                 _: User = Depends(current_user), svc: OeeService = service_dep) -> DowntimeList:
    """Downtime events (down, setup, maintenance, idle with a reason) overlapping the period, newest first."""
    codes = [code.strip() for item in reasons or [] for code in item.split(",") if code.strip()]
    lang = request_lang(request)
    with _errors(lang):
        return svc.downtime_events(scope, start, end, reasons=codes or None, limit=limit, lang=lang)


@router.get("/downtime/pareto")
def get_pareto(request: Request, scope: str | None = ScopeQuery, start: str | None = StartQuery,
               end: str | None = EndQuery, by: Literal["reason", "equipment"] = "reason",
               planned: bool = Query(False, description="Include breaks and planned maintenance"),
               _: User = Depends(current_user), svc: OeeService = service_dep) -> Pareto:
    """Downtime inside the period by reason or machine, longest first, with cumulative shares."""
    lang = request_lang(request)
    with _errors(lang):
        return svc.pareto(scope, start, end, by=by, planned=planned, lang=lang)
