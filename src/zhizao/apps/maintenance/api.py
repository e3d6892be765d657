"""Maintenance REST API (``/api/maintenance``) plus the model registry's ``/api/models``.

Everyone signed in reads (fleet health, a machine's health, warnings, KPIs, work
orders); an operator may open a work order and add notes; an engineer assigns,
starts, completes or cancels one and (re)trains a machine's model. Errors come in
the language of ``lang``, else of ``Accept-Language``, and name the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from zhizao.api.deps import current_user, get_service, require_role
from zhizao.apps.maintenance.model import MachineKpis, WorkOrder, WorkOrderAction, WorkOrderCreate, WorkOrderNote
from zhizao.apps.maintenance.service import MaintenanceService
from zhizao.apps.maintenance.workorders import WorkOrderError
from zhizao.core.i18n import pick_lang
from zhizao.ml.api import router as models_router
from zhizao.security.model import User

maintenance = APIRouter(prefix="/api/maintenance", tags=["maintenance"])
service_dep = Depends(get_service("maintenance"))
_STATUS = {"not_found": status.HTTP_404_NOT_FOUND, "conflict": status.HTTP_409_CONFLICT,
           "invalid": status.HTTP_422_UNPROCESSABLE_CONTENT}


def request_lang(request: Request) -> str:
    asked = request.query_params.get("lang") or request.headers.get("accept-language")
    return pick_lang(asked) if asked else request.app.state.ctx.settings.lang


@contextmanager
def _errors(request: Request) -> Iterator[None]:
    try:
        yield
    except WorkOrderError as exc:
        raise HTTPException(_STATUS[exc.kind], exc.message(request_lang(request))) from None


@maintenance.get("/status")
def get_status(_: User = Depends(current_user), svc: MaintenanceService = service_dep) -> dict[str, Any]:
    """How many machines are monitored and trained, and what is training now."""
    return svc.status()


@maintenance.get("/fleet")
def get_fleet(_: User = Depends(current_user), svc: MaintenanceService = service_dep) -> list[dict[str, Any]]:
    """Every monitored machine, highest risk first: health index, trend, RUL with interval, phase, model."""
    return svc.fleet()


@maintenance.get("/machines/{equipment}")
def get_machine(request: Request, equipment: str, hours: float = Query(24.0, gt=0, le=24 * 30),
                _: User = Depends(current_user), svc: MaintenanceService = service_dep) -> dict[str, Any]:
    """One machine: health history, contributing sensors, RUL, likely faults, drift."""
    with _errors(request):
        return svc.machine(equipment, hours)


@maintenance.post("/machines/{equipment}/train")
async def train_machine(request: Request, equipment: str, _: User = Depends(require_role("engineer")),
                        svc: MaintenanceService = service_dep) -> dict[str, Any]:
    """Retrain, register and deploy the machine's health model now."""
    with _errors(request):
        version = await svc.train(equipment, "manual")
    if version is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "equipment: too little running data to train yet")
    return version


@maintenance.get("/warnings")
async def get_warnings(request: Request, equipment: str | None = None, limit: int = Query(200, ge=1, le=5000),
                       _: User = Depends(current_user),
                       svc: MaintenanceService = service_dep) -> list[dict[str, Any]]:
    """Early warnings, newest first."""
    with _errors(request):
        return await svc.warnings(equipment, limit)


@maintenance.get("/kpis")
async def get_kpis(hours: float = Query(168.0, gt=0, le=24 * 366), _: User = Depends(current_user),
                   svc: MaintenanceService = service_dep) -> list[MachineKpis]:
    """MTBF, MTTR and unplanned downtime per machine over the last ``hours``."""
    return await svc.kpis(hours)


@maintenance.get("/workorders")
async def list_work_orders(request: Request, state: str | None = Query(None, description="Comma-separated states"),
                           equipment: str | None = None, _: User = Depends(current_user),
                           svc: MaintenanceService = service_dep) -> list[WorkOrder]:
    with _errors(request):
        return await svc.work_orders(state, equipment)


@maintenance.post("/workorders", status_code=status.HTTP_201_CREATED)
async def create_work_order(request: Request, body: WorkOrderCreate, user: User = Depends(require_role("operator")),
                            svc: MaintenanceService = service_dep) -> WorkOrder:
    with _errors(request):
        return await svc.create_work_order(body, user.username)


@maintenance.get("/workorders/{wo_id}")
async def get_work_order(request: Request, wo_id: int, _: User = Depends(current_user),
                         svc: MaintenanceService = service_dep) -> WorkOrder:
    with _errors(request):
        return await svc.work_order(wo_id)


@maintenance.post("/workorders/{wo_id}/actions")
async def act_on_work_order(request: Request, wo_id: int, body: WorkOrderAction,
                            user: User = Depends(require_role("engineer")),
                            svc: MaintenanceService = service_dep) -> WorkOrder:
    """assign (with ``assignee``), start, complete (restores the machine) or cancel."""
    with _errors(request):
        return await svc.act(wo_id, body, user.username)


@maintenance.post("/workorders/{wo_id}/notes")
async def add_note(request: Request, wo_id: int, body: WorkOrderNote, user: User = Depends(require_role("operator")),
                   svc: MaintenanceService = service_dep) -> WorkOrder:
    with _errors(request):
        return await svc.note(wo_id, body.text, user.username)


router = APIRouter()
router.include_router(maintenance)
router.include_router(models_router)
