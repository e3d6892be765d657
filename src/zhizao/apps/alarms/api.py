"""Alarm REST API: the alarm list, counts, history, and the operator's lifecycle actions.

Texts (state names, messages, errors) come in the language of the ``lang`` query
parameter, else of ``Accept-Language``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from zhizao.api.deps import current_user, get_service, request_lang, require_role
from zhizao.api.timeparse import parse_ts
from zhizao.apps.alarms.model import (
    Alarm,
    AlarmConflict,
    AlarmError,
    AlarmInputError,
    AlarmNotFound,
    AlarmState,
)
from zhizao.apps.alarms.service import AlarmService, HistoryEntry
from zhizao.core.i18n import t
from zhizao.security.model import User

router = APIRouter(prefix="/api/alarms", tags=["alarms"])
service_dep = Depends(get_service("alarms"))

_STATUS = {AlarmNotFound: status.HTTP_404_NOT_FOUND, AlarmConflict: status.HTTP_409_CONFLICT,
           AlarmInputError: status.HTTP_422_UNPROCESSABLE_CONTENT}



@contextmanager
def _errors(lang: str) -> Iterator[None]:
    """Turn refused alarm operations into HTTP errors in the caller's language."""
    try:
        yield
    except AlarmError as exc:
        code = _STATUS.get(type(exc), status.HTTP_400_BAD_REQUEST)
        raise HTTPException(code, t(exc.key, lang, **exc.params)) from None


class AlarmOut(BaseModel):
    id: int
    tag: str
    equipment: str
    limit: str = Field(description="hihi | hi | lo | lolo | down")
    limit_label: str
    limit_value: float | None
    deadband: float
    unit: str
    priority: str
    priority_label: str
    state: AlarmState
    state_label: str
    active: bool = Field(description="the process condition, tracked even while shelved")
    superseded: bool = Field(description="a more severe alarm on the same tag is active (hihi over hi)")
    occurrence: int
    title: str
    message: str
    value: float | int | str | None = Field(description="at activation; machine down: the reason code")
    active_since: int | None
    cleared_at: int | None
    acked_by: str | None
    acked_at: int | None
    shelved_by: str | None
    shelved_at: int | None
    shelved_until: int | None
    shelve_reason: str | None
    updated_at: int | None = Field(description="time of the last lifecycle transition")


def _out(alarm: Alarm, lang: str) -> AlarmOut:
    d = alarm.definition
    return AlarmOut(
        id=alarm.id, tag=d.tag, equipment=d.equipment, limit=d.limit,
        limit_label=t(f"alarms.limit.{d.limit}", lang), limit_value=d.limit_value, deadband=d.deadband,
        unit=d.unit, priority=alarm.priority, priority_label=t(f"alarms.priority.{alarm.priority}", lang),
        state=alarm.state, state_label=t(f"alarms.state.{alarm.state.value}", lang), active=alarm.active,
        superseded=alarm.superseded, occurrence=alarm.occurrence, title=alarm.title(lang),
        message=alarm.message(lang), value=alarm.value, active_since=alarm.active_since,
        cleared_at=alarm.cleared_at, acked_by=alarm.acked_by, acked_at=alarm.acked_at,
        shelved_by=alarm.shelved_by, shelved_at=alarm.shelved_at, shelved_until=alarm.shelved_until,
        shelve_reason=alarm.shelve_reason, updated_at=alarm.updated_at,
    )


class Summary(BaseModel):
    total: int = Field(description="alarms in scope, superseded ones left out (as in every count here)")
    by_state: dict[str, int]
    by_priority: dict[str, int] = Field(description="alarms on the alarm list (active or unacknowledged)")
    active: int
    unacked: int
    shelved: int
    out_of_service: int
    highest_unacked_priority: str | None
    rejected: dict[str, int] = Field(description="incoming values/events not evaluated, by reason")


class HistoryOut(BaseModel):
    id: int
    alarm_id: int
    tag: str
    limit: str
    occurrence: int
    ts: int
    from_state: str
    to_state: str
    to_state_label: str
    value: float | int | str | None
    user: str | None
    note: str | None


def _history_out(e: HistoryEntry, lang: str) -> HistoryOut:
    return HistoryOut(id=e.id, alarm_id=e.alarm_id, tag=e.tag, limit=e.limit, occurrence=e.occurrence,
                      ts=e.ts, from_state=e.from_state, to_state=e.to_state,
                      to_state_label=t(f"alarms.state.{e.to_state}", lang), value=e.value,
                      user=e.username, note=e.note)


class AckBody(BaseModel):
    note: str | None = Field(None, max_length=512)


class ShelveBody(BaseModel):
    until: int | str | None = Field(None, description="epoch ms or ISO-8601; null: until unshelved")
    reason: str = Field(max_length=512)


class OutOfServiceBody(BaseModel):
    reason: str = Field(max_length=512)


_STATE_HELP = "active (default): the alarm list, active or unacknowledged; unacked; shelved; all; or a state"


@router.get("", response_model=list[AlarmOut])
async def list_alarms(
    state: str | None = Query(None, description=_STATE_HELP),
    scope: str | None = Query(None, description="UNS path prefix, e.g. an equipment or line path"),
    limit: int = Query(500, ge=1, le=10_000),
    lang: str = Depends(request_lang),
    _user: User = Depends(current_user),
    svc: AlarmService = service_dep,
) -> list[AlarmOut]:
    with _errors(lang):
        return [_out(a, lang) for a in svc.list(state=state or None, scope=scope, limit=limit)]


@router.get("/summary", response_model=Summary)
async def alarm_summary(
    scope: str | None = Query(None, description="UNS path prefix"),
    _user: User = Depends(current_user),
    svc: AlarmService = service_dep,
) -> dict[str, Any]:
    return svc.summary(scope)


@router.get("/history", response_model=list[HistoryOut])
async def all_history(
    start: str | None = Query(None, description="epoch ms or ISO-8601 (inclusive)"),
    end: str | None = Query(None, description="epoch ms or ISO-8601 (exclusive)"),
    limit: int = Query(1000, ge=1, le=100_000),
    lang: str = Depends(request_lang),
    _user: User = Depends(current_user),
    svc: AlarmService = service_dep,
) -> list[HistoryOut]:
    return await _history(svc, None, start, end, limit, lang)


@router.get("/{alarm_id}", response_model=AlarmOut)
async def get_alarm(alarm_id: int, lang: str = Depends(request_lang), _user: User = Depends(current_user),
                    svc: AlarmService = service_dep) -> AlarmOut:
    with _errors(lang):
        return _out(svc.get(alarm_id), lang)


@router.get("/{alarm_id}/history", response_model=list[HistoryOut])
async def alarm_history(
    alarm_id: int,
    start: str | None = Query(None, description="epoch ms or ISO-8601 (inclusive)"),
    end: str | None = Query(None, description="epoch ms or ISO-8601 (exclusive)"),
    limit: int = Query(1000, ge=1, le=100_000),
    lang: str = Depends(request_lang),
    _user: User = Depends(current_user),
    svc: AlarmService = service_dep,
) -> list[HistoryOut]:
    return await _history(svc, alarm_id, start, end, limit, lang)


async def _history(svc: AlarmService, alarm_id: int | None, start: str | None, end: str | None,
                   limit: int, lang: str) -> list[HistoryOut]:
    with _errors(lang):
        entries = await svc.history(alarm_id, parse_ts(start, "start"), parse_ts(end, "end"), limit)
    return [_history_out(e, lang) for e in entries]


@router.post("/{alarm_id}/ack", response_model=AlarmOut)
async def ack_alarm(alarm_id: int, body: AckBody | None = None, lang: str = Depends(request_lang),
                    user: User = Depends(require_role("operator")),
                    svc: AlarmService = service_dep) -> AlarmOut:
    with _errors(lang):
        return _out(await svc.ack(alarm_id, user.username, body.note if body else None), lang)


@router.post("/{alarm_id}/shelve", response_model=AlarmOut)
async def shelve_alarm(alarm_id: int, body: ShelveBody, lang: str = Depends(request_lang),
                       user: User = Depends(require_role("engineer")),
                       svc: AlarmService = service_dep) -> AlarmOut:
    with _errors(lang):
        alarm = await svc.shelve(alarm_id, user.username, parse_ts(body.until, "until"), body.reason)
    return _out(alarm, lang)


@router.post("/{alarm_id}/unshelve", response_model=AlarmOut)
async def unshelve_alarm(alarm_id: int, lang: str = Depends(request_lang),
                         user: User = Depends(require_role("engineer")),
                         svc: AlarmService = service_dep) -> AlarmOut:
    with _errors(lang):
        return _out(await svc.unshelve(alarm_id, user.username), lang)


@router.post("/{alarm_id}/out-of-service", response_model=AlarmOut)
async def remove_from_service(alarm_id: int, body: OutOfServiceBody, lang: str = Depends(request_lang),
                              user: User = Depends(require_role("engineer")),
                              svc: AlarmService = service_dep) -> AlarmOut:
    with _errors(lang):
        return _out(await svc.remove_from_service(alarm_id, user.username, body.reason), lang)


@router.post("/{alarm_id}/return-to-service", response_model=AlarmOut)
async def return_to_service(alarm_id: int, lang: str = Depends(request_lang),
                            user: User = Depends(require_role("engineer")),
                            svc: AlarmService = service_dep) -> AlarmOut:
    with _errors(lang):
        return _out(await svc.return_to_service(alarm_id, user.username), lang)


