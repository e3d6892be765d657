"""REST API of the simulated plant: its status, its speed, and staged incidents
(a failure, a maintenance job) for demos, training and testing the other apps.

Errors come in the language of the ``lang`` query parameter, else of
``Accept-Language``, and name the field at fault.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from zhizao.api.deps import current_user, get_service, require_role
from zhizao.core.i18n import pick_lang
from zhizao.security.model import User
from zhizao.sim.model import SimError
from zhizao.sim.plant import MAX_CONTROL_S
from zhizao.sim.service import MAX_SPEED, PlantSimulator

router = APIRouter(prefix="/api/sim", tags=["sim"])
sim_dep = Depends(get_service("sim"))

_STATUS = {"not_found": status.HTTP_404_NOT_FOUND, "conflict": status.HTTP_409_CONFLICT,
           "invalid": status.HTTP_422_UNPROCESSABLE_CONTENT}


@contextmanager
def _errors(request: Request) -> Iterator[None]:
    try:
        yield
    except SimError as exc:
        asked = request.query_params.get("lang") or request.headers.get("accept-language")
        lang = pick_lang(asked) if asked else request.app.state.ctx.settings.lang
        raise HTTPException(_STATUS[exc.kind], exc.message(lang)) from None


class SpeedIn(BaseModel):
    speed: float = Field(ge=0, le=MAX_SPEED, description="simulated seconds per wall-clock second; 0 pauses")


class SpeedOut(BaseModel):
    speed: float
    now_ms: int


class FailureIn(BaseModel):
    mode: str | None = Field(None, pattern=r"^[a-z0-9_]+$",
                             description="bearing, spindle, tool, electrical...; default: the wear-out "
                                         "the machine is heading for")
    repair_s: float | None = Field(None, gt=0, le=MAX_CONTROL_S, description="default: drawn at random")


class FailureOut(BaseModel):
    equipment: str
    mode: str
    repair_s: float
    at_ms: int


class MaintenanceIn(BaseModel):
    duration_s: float = Field(1800.0, gt=0, le=MAX_CONTROL_S)
    reason: Literal["planned", "corrective"] = "planned"


class MaintenanceOut(BaseModel):
    equipment: str
    reason: str
    duration_s: float
    at_ms: int


@router.get("/status", summary="Simulator status")
def sim_status(user: User = Depends(current_user), sim: PlantSimulator = sim_dep) -> dict[str, Any]:
    """Sim time and speed, each machine's state and counters, buffer levels, orders.

    ``lines[].machines[].hidden`` is the simulator's ground truth (health, wear):
    for evaluating predictive maintenance, not for display.
    """
    return sim.status()


@router.post("/speed", response_model=SpeedOut, summary="Change the simulation speed")
def set_speed(body: SpeedIn, request: Request, user: User = Depends(require_role("engineer")),
              sim: PlantSimulator = sim_dep) -> SpeedOut:
    with _errors(request):
        sim.speed = body.speed
    return SpeedOut(speed=sim.speed, now_ms=sim.clock.now_ms())


@router.post("/equipment/{equipment_id}/failure", response_model=FailureOut, summary="Break a machine now")
def inject_failure(equipment_id: str, request: Request, body: FailureIn | None = None,
                   user: User = Depends(require_role("engineer")),
                   sim: PlantSimulator = sim_dep) -> FailureOut:
    body = body or FailureIn()
    with _errors(request):
        return FailureOut(**sim.inject_failure(equipment_id, body.mode, body.repair_s))


@router.post("/equipment/{equipment_id}/maintenance", response_model=MaintenanceOut,
             summary="Take a machine out for maintenance now")
def start_maintenance(equipment_id: str, request: Request, body: MaintenanceIn | None = None,
                      user: User = Depends(require_role("engineer")),
                      sim: PlantSimulator = sim_dep) -> MaintenanceOut:
    body = body or MaintenanceIn()
    with _errors(request):
        return MaintenanceOut(**sim.start_maintenance(equipment_id, body.duration_s, body.reason))
