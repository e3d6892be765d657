"""Scheduling (APS) REST API under ``/api/schedule``.

Reads (any signed-in user): the current plan with its operations (times in epoch ms),
KPIs, explanations of late orders and the dispatch list of a machine. Writes
(engineer): re-plan now, and what-if events a planner reports (breakdown, rush order,
late material), each answered with the repaired plan and its comparison with the old one.
Messages come in the language of ``lang``, else of ``Accept-Language``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from zhizao.api.deps import current_user, get_service, request_lang, require_role
from zhizao.apps.scheduling.service import ScheduleError, SchedulingService
from zhizao.core.i18n import t
from zhizao.security.model import User

router = APIRouter(prefix="/api/schedule", tags=["scheduling"])
service_dep = Depends(get_service("scheduling"))



@contextmanager
def _errors(lang: str) -> Iterator[None]:
    try:
        yield
    except ScheduleError as exc:
        code = status.HTTP_404_NOT_FOUND if exc.key in ("scheduling.error.machine", "scheduling.error.order") \
            else status.HTTP_422_UNPROCESSABLE_CONTENT
        raise HTTPException(code, t(exc.key, lang, **exc.params)) from None


class OperationOut(BaseModel):
    order: str
    product: str
    operation: str
    machine: str = Field(description="equipment UNS path")
    start: int = Field(description="epoch ms")
    end: int = Field(description="epoch ms")
    qty: int
    due: int = Field(description="the order's due date, epoch ms")
    late: bool = Field(description="the order finishes after its due date")
    frozen: bool = Field(description="started before the last re-plan: kept as it was")


class MachineOut(BaseModel):
    path: str
    name: dict[str, str]
    utilisation: float = Field(description="busy share of the plan's span")
    down_until: int | None = Field(description="reported breakdown: expected end of repair, epoch ms")


class ScheduleOut(BaseModel):
    status: str = Field(description="optimal | feasible | none (no plan yet)")
    made: int | None = None
    reason: str | None = Field(None, description="orders | breakdown | manual | rush_order | late_material")
    reason_label: str | None = None
    origin: int | None = None
    objective: float | None = None
    lower_bound: float | None = None
    kpis: dict[str, float]
    machines: list[MachineOut]
    operations: list[OperationOut]
    comparison: dict[str, Any] | None = Field(None, description="KPIs before/after and changes vs the old plan")
    orders: int


class SolveBody(BaseModel):
    time_limit: float = Field(5.0, gt=0, le=300, description="seconds")


class EventBody(BaseModel):
    event: Literal["breakdown", "rush_order", "late_material"]
    equipment: str | None = Field(None, description="breakdown: equipment UNS path")
    repair_min: int = Field(30, gt=0, le=7 * 24 * 60, description="breakdown: expected repair time, minutes")
    product: str | None = Field(None, description="rush order: product id")
    qty: int = Field(10, gt=0, le=100_000, description="rush order: quantity")
    due: int | None = Field(None, description="rush order: due date, epoch ms")
    order: str | None = Field(None, description="late material: order id")
    available: int | None = Field(None, description="late material: when the material arrives, epoch ms")


def _out(svc: SchedulingService, lang: str) -> ScheduleOut:
    data = svc.snapshot()
    reason = data.get("reason")
    return ScheduleOut(**data, reason_label=t(f"scheduling.reason.{reason}", lang) if reason else None)


@router.get("", response_model=ScheduleOut)
def get_schedule(lang: str = Depends(request_lang), _: User = Depends(current_user),
                 svc: SchedulingService = service_dep) -> ScheduleOut:
    """The current plan of the open orders: operations per machine, KPIs, utilisation."""
    return _out(svc, lang)


@router.get("/kpis")
def get_kpis(_: User = Depends(current_user), svc: SchedulingService = service_dep) -> dict[str, float]:
    """On-time rate, utilisation, makespan (minutes), weighted tardiness, late orders and energy cost (CNY)."""
    return svc.snapshot()["kpis"]


@router.get("/explanations")
def get_explanations(_: User = Depends(current_user), svc: SchedulingService = service_dep) -> dict[str, Any]:
    """Per late order: its bottleneck machine and the critical chain of operations; utilisation per machine."""
    return svc.explanations()


@router.get("/dispatch")
def get_dispatch(equipment: str = Query(..., description="equipment UNS path"), lang: str = Depends(request_lang),
                 _: User = Depends(current_user), svc: SchedulingService = service_dep) -> list[dict[str, Any]]:
    """The machine's dispatch list: its operations in planned order."""
    with _errors(lang):
        return svc.dispatch_list(equipment)


@router.get("/history")
def get_history(_: User = Depends(current_user), svc: SchedulingService = service_dep) -> list[dict[str, Any]]:
    """The last plans: when, why, KPIs and the comparison with the plan before."""
    return list(svc.history)


@router.post("/solve", response_model=ScheduleOut)
async def solve(body: SolveBody | None = None, lang: str = Depends(request_lang),
                _: User = Depends(require_role("engineer")), svc: SchedulingService = service_dep) -> ScheduleOut:
    """Re-plan the open orders now (started operations stay)."""
    await svc.replan("manual", time_limit=(body or SolveBody()).time_limit)
    return _out(svc, lang)


class PlannedOrder(BaseModel):
    product: str
    qty: float = Field(gt=0, le=1_000_000)
    release: int = Field(description="epoch ms: may not start before")
    due: int = Field(description="epoch ms")


@router.post("/orders", response_model=ScheduleOut)
async def planned_orders(body: list[PlannedOrder], lang: str = Depends(request_lang),
                         _: User = Depends(require_role("engineer")),
                         svc: SchedulingService = service_dep) -> ScheduleOut:
    """Plan planned production orders (e.g. MRP's ``production_orders``); they replace the ones handed over before."""
    with _errors(lang):
        await svc.add_planned_orders([o.model_dump() for o in body])
    return _out(svc, lang)


@router.post("/reschedule", response_model=ScheduleOut)
async def reschedule(body: EventBody, lang: str = Depends(request_lang), _: User = Depends(require_role("engineer")),
                     svc: SchedulingService = service_dep) -> ScheduleOut:
    """Repair the plan after an event; the answer's ``comparison`` shows what changed."""
    with _errors(lang):
        if body.event == "breakdown":
            if not body.equipment:
                raise HTTPException(422, t("scheduling.error.missing", lang, field="equipment"))
            await svc.report_breakdown(body.equipment, body.repair_min)
        elif body.event == "rush_order":
            if not body.product or body.due is None:
                raise HTTPException(422, t("scheduling.error.missing", lang, field="product, due"))
            await svc.add_rush_order(body.product, body.qty, body.due)
        else:
            if not body.order or body.available is None:
                raise HTTPException(422, t("scheduling.error.missing", lang, field="order, available"))
            await svc.late_material(body.order, body.available)
    return _out(svc, lang)
