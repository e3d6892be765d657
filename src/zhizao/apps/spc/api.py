"""SPC REST API: control charts, capability, p/u charts, rules and per-tag configuration.

Times are epoch milliseconds (default: the last 8 hours of the platform clock). The tag is a query
parameter (its UNS path has slashes). Reading needs a signed-in user; configuring and
re-baselining need an engineer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

from zhizao.api.deps import current_user, get_service, request_lang, require_role
from zhizao.apps.spc.model import (
    AttributeResponse,
    CapabilityResponse,
    ChartResponse,
    FrozenBaseline,
    RuleInfo,
    TagConfig,
    TagStatus,
)
from zhizao.apps.spc.rules import RULE_NUMBERS
from zhizao.apps.spc.service import SpcInputError, SpcService
from zhizao.core.i18n import t
from zhizao.security.model import User

router = APIRouter(prefix="/api/spc", tags=["spc"])
service_dep = Depends(get_service("spc"))
TagQuery = Query(description="Tag path (UNS), e.g. .../insp1/bore_diameter")
StartQuery = Query(None, description="Epoch ms; default: end - 8 h")
EndQuery = Query(None, description="Epoch ms; default: now on the platform clock")



@contextmanager
def _errors(request: Request) -> Iterator[None]:
    try:
        yield
    except SpcInputError as exc:
        code = status.HTTP_404_NOT_FOUND if exc.key in ("spc.error.unknown_tag", "spc.error.unknown_source") \
            else status.HTTP_422_UNPROCESSABLE_CONTENT
        raise HTTPException(code, exc.text(request_lang(request))) from None


@router.get("/tags")
def list_tags(request: Request, _: User = Depends(current_user), svc: SpcService = service_dep) -> list[TagStatus]:
    """Monitored tags with their phase (collecting the baseline, or monitoring) and last violation."""
    return svc.status(request_lang(request))


@router.get("/chart")
def get_chart(request: Request, tag: str = TagQuery, start: int | None = StartQuery, end: int | None = EndQuery,
              _: User = Depends(current_user), svc: SpcService = service_dep) -> ChartResponse:
    """The tag's control chart(s) with centre line, limits, each point's sigma (zones) and rule violations."""
    with _errors(request):
        return svc.chart(tag, start, end, request_lang(request))


@router.get("/capability")
def get_capability(request: Request, tag: str = TagQuery, start: int | None = StartQuery,
                   end: int | None = EndQuery, confidence: float = Query(0.95, gt=0.5, lt=1),
                   _: User = Depends(current_user), svc: SpcService = service_dep) -> CapabilityResponse:
    """Cp/Cpk (within sigma of the frozen baseline) and Pp/Ppk (overall sigma) with confidence intervals,
    and a histogram of the values."""
    with _errors(request):
        return svc.capability(tag, start, end, confidence)


@router.get("/attributes/sources")
def attribute_sources(_: User = Depends(current_user), svc: SpcService = service_dep) -> dict[str, list[str]]:
    """Equipment with part counts (p charts) and inspection stations (u charts)."""
    return svc.attribute_sources()


@router.get("/attributes")
def get_attributes(request: Request, kind: Literal["p", "u"] = Query("p"),
                   station: str = Query(description="Equipment path (p) or inspection station (u)"),
                   start: int | None = StartQuery, end: int | None = EndQuery,
                   _: User = Depends(current_user), svc: SpcService = service_dep) -> AttributeResponse:
    """p chart (fraction of defective parts) or u chart (defects per inspected unit) per hour."""
    with _errors(request):
        return svc.attributes(kind, station, start, end)


@router.get("/rules")
def list_rules(request: Request, _: User = Depends(current_user)) -> list[RuleInfo]:
    """The eight Western Electric / Nelson rules, in the request's language."""
    lang = request_lang(request)
    return [RuleInfo(rule=r, title=t(f"spc.rule.{r}.title", lang), text=t(f"spc.rule.{r}.text", lang))
            for r in RULE_NUMBERS]


@router.get("/config")
def get_config(request: Request, tag: str = TagQuery, _: User = Depends(current_user),
               svc: SpcService = service_dep) -> TagConfig:
    with _errors(request):
        return svc.config(tag)


@router.put("/config")
async def put_config(request: Request, body: TagConfig, _: User = Depends(require_role("engineer")),
                     svc: SpcService = service_dep) -> TagConfig:
    """Chart type, subgrouping, rules, EWMA/CUSUM parameters, spec limits, alarm on/off for a tag."""
    with _errors(request):
        return await svc.configure(body)


class BaselineRequest(BaseModel):
    tag: str
    start: int | None = None
    end: int | None = None


@router.post("/baseline")
def post_baseline(request: Request, body: BaselineRequest, user: User = Depends(require_role("engineer")),
                  svc: SpcService = service_dep) -> FrozenBaseline:
    """Phase I on the tag's values in [start, end): estimate the limits and freeze them."""
    with _errors(request):
        return svc.rebaseline(body.tag, body.start, body.end, user.username)


@router.delete("/baseline")
def delete_baseline(request: Request, tag: str = TagQuery, _: User = Depends(require_role("engineer")),
                    svc: SpcService = service_dep) -> TagConfig:
    """Drop the frozen limits: Phase I starts again with the next values."""
    with _errors(request):
        return svc.reset_baseline(tag)
