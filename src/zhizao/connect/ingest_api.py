"""``GET /api/ingest/status``: the store-and-forward spool, its forwarder, accepted points per
source, dead-letter counts and auto-created tags, for the console and for monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from zhizao.api.deps import current_user, get_service
from zhizao.connect.ingest import Ingest
from zhizao.core.i18n import pick_lang
from zhizao.security.model import User

router = APIRouter(prefix="/api", tags=["connectors"])


@router.get("/ingest/status")
def ingest_status(request: Request, ingest: Ingest = Depends(get_service("ingest")),
                  _: User = Depends(current_user)) -> dict:
    """``notice`` (in the caller's language) says when the historian is down or the spool is full."""
    return ingest.status(pick_lang(request.headers.get("accept-language")))
