"""Process optimisation REST API: ``/api/process`` (the demo's simulated process)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from zhizao.api.deps import current_user, get_service, require_role
from zhizao.apps.process.model import Analysis
from zhizao.apps.process.service import ProcessService
from zhizao.security.model import User

router = APIRouter(prefix="/api/process", tags=["process"])
service_dep = Depends(get_service("process"))


@router.get("/batches")
def batches(_: User = Depends(current_user), svc: ProcessService = service_dep) -> dict[str, Any]:
    """The process description and its recorded batches."""
    return {"spec": svc.process.spec.model_dump(), "batches": svc.history}


@router.get("/analysis")
async def analysis(_: User = Depends(current_user), svc: ProcessService = service_dep) -> Analysis:
    """Key parameters (permutation importance), the surrogate's cross-validated R², and the setpoints
    it recommends from the records, with the expected outcome and its uncertainty."""
    return await svc.analysis()


@router.post("/optimise")
async def closed_loop(budget: int = Query(30, ge=5, le=100), _: User = Depends(require_role("engineer")),
                      svc: ProcessService = service_dep) -> dict[str, Any]:
    """Run the closed loop on the simulated process: Bayesian optimisation versus random search."""
    return await svc.closed_loop(budget)
