"""Inspection REST API: upload images, results with pictures and heat maps, the review queue,
first-pass yield / quality / defect Pareto, and the station's model versions (promote, rollback, retrain).

Model versions are offered here under ``/api/inspection/models`` (the station's own classifier); the
generic registry router may show the same versions (kind ``inspection``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from zhizao.api.deps import current_user, get_service, request_lang, require_role
from zhizao.api.timeparse import time_range
from zhizao.apps.inspection.model import InspectionStats, ResultOut
from zhizao.apps.inspection.service import InspectionError, InspectionService
from zhizao.core.i18n import t
from zhizao.security.model import User

router = APIRouter(prefix="/api/inspection", tags=["inspection"])
service_dep = Depends(get_service("inspection"))
MAX_UPLOAD_BYTES = 32 * 1024 * 1024



@contextmanager
def _errors(request: Request) -> Iterator[None]:
    try:
        yield
    except InspectionError as exc:
        raise HTTPException(exc.status, t(exc.key, request_lang(request), **exc.params)) from None


class ReviewIn(BaseModel):
    label: str = Field(description="the right class: the model's label to confirm it, another to overrule it")


class RetrainIn(BaseModel):
    epochs: int | None = Field(None, ge=1, le=200, description="default 20")


@router.post("/images")
async def upload_image(request: Request, file: UploadFile = File(..., description="png, bmp or jpg"),
                       station: str = Form("upload"), part: str | None = Form(None), batch: str | None = Form(None),
                       order: str | None = Form(None), product: str | None = Form(None),
                       line: str | None = Form(None), _: User = Depends(require_role("operator")),
                       svc: InspectionService = service_dep) -> ResultOut:
    """Inspect one image: stored with its trace, classified by the deployed model, published on the bus."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, t("inspection.error.too_large", request_lang(request), field="file",
                                   mb=MAX_UPLOAD_BYTES // 1024 // 1024))
    suffix = Path(file.filename or "upload.png").suffix or ".png"
    with _errors(request):
        return await svc.submit(data, source="upload", station=station, suffix=suffix, part=part, batch=batch,
                                order=order, product=product, line=line)


@router.get("/results")
def list_results(limit: int = Query(50, ge=1, le=1000), pending_review: bool = Query(False),
                 verdict: str | None = Query(None, pattern="^(pass|fail|review)$"),
                 _: User = Depends(current_user), svc: InspectionService = service_dep) -> list[ResultOut]:
    """Newest first; ``pending_review`` gives the review queue."""
    return svc.results(limit=limit, pending_review=pending_review, verdict=verdict)


@router.get("/results/{result_id}/image")
def result_image(request: Request, result_id: int, _: User = Depends(current_user),
                 svc: InspectionService = service_dep) -> FileResponse:
    with _errors(request):
        return FileResponse(svc.file_of(result_id, "image"))


@router.get("/results/{result_id}/heatmap")
def result_heatmap(request: Request, result_id: int, _: User = Depends(current_user),
                   svc: InspectionService = service_dep) -> FileResponse:
    with _errors(request):
        return FileResponse(svc.file_of(result_id, "heatmap"), media_type="image/png")


@router.post("/results/{result_id}/review")
def review_result(request: Request, result_id: int, body: ReviewIn,
                  user: User = Depends(require_role("operator")), svc: InspectionService = service_dep) -> ResultOut:
    """Confirm or overrule; the image joins the training set under the given label."""
    with _errors(request):
        return svc.review(result_id, body.label, user.username)


@router.get("/stats")
def get_stats(start: str | None = Query(None, description="epoch ms or ISO-8601; default end - 8 h"),
              end: str | None = Query(None, description="epoch ms or ISO-8601; default now"),
              station: str | None = Query(None, description="station path prefix"),
              _: User = Depends(current_user), svc: InspectionService = service_dep) -> InspectionStats:
    """First-pass yield, the OEE quality factor, defect Pareto and the deployed model."""
    start_ms, end_ms = time_range(start, end, svc.ctx.clock.now_ms() + 1, 8 * 3_600_000)
    return svc.stats(start_ms, end_ms, station)


@router.get("/models")
def get_models(_: User = Depends(current_user), svc: InspectionService = service_dep) -> dict[str, Any]:
    """The station classifier's versions (metrics, data fingerprint), the deployed one, history, training state."""
    return svc.model_info()


@router.post("/models/{version}/promote")
async def promote_model(request: Request, version: int, _: User = Depends(require_role("engineer")),
                        svc: InspectionService = service_dep) -> dict[str, Any]:
    with _errors(request):
        return await svc.promote(version)


@router.post("/models/rollback")
async def rollback_model(request: Request, _: User = Depends(require_role("engineer")),
                         svc: InspectionService = service_dep) -> dict[str, Any]:
    with _errors(request):
        return await svc.rollback()


@router.post("/models/retrain")
def retrain_model(request: Request, body: RetrainIn | None = None, _: User = Depends(require_role("engineer")),
                  svc: InspectionService = service_dep) -> dict[str, Any]:
    """Train a new version on the training set (reviewed images included) in the background;
    it is registered, not deployed: promote it when its metrics are good."""
    with _errors(request):
        return svc.retrain_async(epochs=body.epochs if body else None)
