"""What-if REST API: ``/api/whatif``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from zhizao.api.deps import current_user, get_service, request_lang, require_role
from zhizao.apps.whatif.engine import ScenarioError
from zhizao.apps.whatif.model import RunSettings, Scenario
from zhizao.apps.whatif.service import WhatIfBusy, WhatIfService
from zhizao.core.i18n import t
from zhizao.security.model import User

router = APIRouter(prefix="/api/whatif", tags=["whatif"])
service_dep = Depends(get_service("whatif"))


class RunRequest(BaseModel):
    scenario: Scenario
    settings: RunSettings = Field(default_factory=RunSettings)


@router.get("/options")
def options(_: User = Depends(current_user), svc: WhatIfService = service_dep) -> dict[str, Any]:
    """Machines, buffers, shifts and policies a scenario can change, as modelled."""
    return svc.options()


@router.post("/runs", status_code=status.HTTP_202_ACCEPTED)
async def start_run(body: RunRequest, request: Request, user: User = Depends(require_role("engineer")),
              svc: WhatIfService = service_dep) -> dict[str, Any]:
    """Compare the scenario with the plant as modelled (runs in the background; poll the run)."""
    try:
        return svc.submit(body.scenario, body.settings, user.username)
    except ScenarioError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.text(request_lang(request))) from None
    except WhatIfBusy:
        raise HTTPException(status.HTTP_409_CONFLICT, t("whatif.error.busy", request_lang(request))) from None


@router.get("/runs")
def list_runs(_: User = Depends(current_user), svc: WhatIfService = service_dep) -> list[dict[str, Any]]:
    return svc.list_runs()


@router.get("/runs/{run_id}")
def get_run(run_id: str, request: Request, _: User = Depends(current_user),
            svc: WhatIfService = service_dep) -> dict[str, Any]:
    run = svc.runs.get(run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, t("whatif.error.no_run", request_lang(request), id=run_id))
    return run
