"""Connector status, the connector kinds with their settings schemas, and dead letters."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from zhizao.api.deps import current_user, get_service, require_role
from zhizao.connect.ingest import Ingest
from zhizao.connect.manager import ConnectorManager
from zhizao.connect.registry import connector_kinds
from zhizao.security.model import User

router = APIRouter(prefix="/api", tags=["connectors"])


@router.get("/connectors")
def list_connectors(manager: ConnectorManager = Depends(get_service("connectors")),
                    _: User = Depends(current_user)) -> list[dict]:
    return manager.status()


@router.get("/connectors/kinds")
def list_kinds(_: User = Depends(current_user)) -> list[dict]:
    """Every installed connector kind with the JSON schema of its settings."""
    return [{"kind": kind, "title": cls.title, "config_schema": cls.config_model.model_json_schema()}
            for kind, cls in sorted(connector_kinds().items())]


@router.post("/connectors/{name}/restart")
async def restart_connector(name: str, _: User = Depends(require_role("engineer")),
                            manager: ConnectorManager = Depends(get_service("connectors"))) -> dict:
    if name not in manager.connectors:
        raise HTTPException(404, f"name: no connector '{name}'")
    await manager.restart(name)
    return manager.status()[list(manager.connectors).index(name)]


@router.get("/deadletters")
def dead_letters(source: str | None = None, cause: str | None = None, limit: int = 200,
                 ingest: Ingest = Depends(get_service("ingest")), _: User = Depends(current_user)) -> dict:
    """Rejected input with its cause, newest first, and the counts per source and cause."""
    return {"counts": ingest.dead_letter_counts(),
            "items": ingest.dead_letters(source, cause, min(max(limit, 1), 5000))}
