"""The model registry over HTTP (``/api/models``): every app's registered models, their versions
with metrics, parameters and training-data fingerprint, and which one is deployed.

Reading needs a signed-in user; promote and rollback need an engineer. Apps that
serve a deployed model pick a change up on their next check (the maintenance
service within seconds). The registry lives in ``<data_dir>/models``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from zhizao.api.deps import current_user, require_role
from zhizao.ml.registry import ModelRegistry, RegistryError
from zhizao.security.model import User

router = APIRouter(prefix="/api/models", tags=["models"])


class PromoteRequest(BaseModel):
    version: int = Field(ge=1)


def registry(request: Request) -> ModelRegistry:
    return ModelRegistry(request.app.state.ctx.settings.data_dir / "models")


def _version_json(v: Any, deployed: int | None) -> dict[str, Any]:
    out = v.to_json()
    out.pop("path", None)
    out["deployed"] = v.version == deployed
    return out


def _model_json(reg: ModelRegistry, kind: str, name: str, full: bool) -> dict[str, Any]:
    versions = reg.versions(kind, name)
    deployed = reg.deployed(kind, name)
    out: dict[str, Any] = {"kind": kind, "name": name, "deployed": deployed, "versions": len(versions),
                           "latest": versions[-1].version if versions else None,
                           "updated_ms": max((v.created_ms for v in versions), default=None)}
    current = next((v for v in versions if v.version == deployed), None)
    out["metrics"] = current.metrics if current else {}
    if full:
        out["items"] = [_version_json(v, deployed) for v in reversed(versions)]
        out["history"] = reg.history(kind, name)
    return out


def _errors(exc: RegistryError) -> HTTPException:
    text = str(exc)
    code = status.HTTP_404_NOT_FOUND if "nothing is registered" in text or "no version" in text else \
        status.HTTP_409_CONFLICT if "roll back" in text else status.HTTP_422_UNPROCESSABLE_CONTENT
    return HTTPException(code, text)


@router.get("")
def list_models(kind: str | None = None, reg: ModelRegistry = Depends(registry),
                _: User = Depends(current_user)) -> list[dict[str, Any]]:
    """Every registered model (optionally of one ``kind``) with its deployed version's metrics."""
    try:
        return [_model_json(reg, k, n, full=False) for k, n in reg.models(kind)]
    except RegistryError as exc:
        raise _errors(exc) from None


@router.get("/{kind}/{name}")
def get_model(kind: str, name: str, reg: ModelRegistry = Depends(registry),
              _: User = Depends(current_user)) -> dict[str, Any]:
    """All versions (newest first) with metrics, parameters, fingerprint; the deployment history."""
    try:
        if not reg.versions(kind, name):
            raise RegistryError(f"model {kind}/{name}: nothing is registered")
        return _model_json(reg, kind, name, full=True)
    except RegistryError as exc:
        raise _errors(exc) from None


@router.post("/{kind}/{name}/promote")
def promote(kind: str, name: str, body: PromoteRequest, reg: ModelRegistry = Depends(registry),
            _: User = Depends(require_role("engineer"))) -> dict[str, Any]:
    """Deploy ``version``."""
    try:
        reg.promote(kind, name, body.version)
        return _model_json(reg, kind, name, full=True)
    except RegistryError as exc:
        raise _errors(exc) from None


@router.post("/{kind}/{name}/rollback")
def rollback(kind: str, name: str, reg: ModelRegistry = Depends(registry),
             _: User = Depends(require_role("engineer"))) -> dict[str, Any]:
    """Deploy the version that was deployed before the current one."""
    try:
        reg.rollback(kind, name)
        return _model_json(reg, kind, name, full=True)
    except RegistryError as exc:
        raise _errors(exc) from None
