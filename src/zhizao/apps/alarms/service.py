"""The alarm service: evaluates tag values and machine states, keeps the lifecycle, persists it.

Evaluation runs inline in the bus publisher's call, so it only touches memory;
transitions are published at once as ``_events/alarm/<tag path>`` and queued for
the relational store, which a writer task fills in batches. All database work
runs on one worker thread, in submission order, so batches never overtake each
other and a history read sees every transition queued before it. Operator
actions (ack, shelve...) return once their transition is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from zhizao.apps.alarms.model import (
    ACTIVE_STATES,
    ANNUNCIATED_STATES,
    DOWN,
    PRIORITIES,
    SUPERSEDED_BY,
    UNACKED_STATES,
    Alarm,
    AlarmDefinition,
    AlarmEventRow,
    AlarmInputError,
    AlarmNotFound,
    AlarmRow,
    AlarmState,
    Transition,
    Value,
    definitions_from_plant,
    down_priority,
    evaluate_limit,
    external_definition,
    is_number,
)
from zhizao.bus import Message
from zhizao.core.context import Context

log = logging.getLogger(__name__)

STATE_EVENTS = "_events/state/"
ALARM_EVENTS = "_events/alarm/"
# ``list(state=...)`` filters besides the plain state names. "active" (the default) is the
# operator's alarm list, as ISA-18.2 alarm summaries show it: active or still unacknowledged.
STATE_FILTERS: dict[str | None, frozenset[AlarmState]] = {
    None: ANNUNCIATED_STATES,
    "active": ANNUNCIATED_STATES,
    "unacked": UNACKED_STATES,
    "all": frozenset(AlarmState),
    **{s.value: frozenset({s}) for s in AlarmState},
}
_STATE_RANK = {s: i for i, s in enumerate((
    AlarmState.UNACK_ACTIVE, AlarmState.UNACK_RTN, AlarmState.ACK_ACTIVE,
    AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE, AlarmState.NORMAL))}
_PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}
# Why incoming data was not evaluated (counted, shown in the summary).
REJECT_REASONS = ("bad_quality", "non_numeric", "out_of_order", "malformed", "unknown_equipment")
# A point further ahead of the clock than this is evaluated but does not become the
# reference for ordering, or a device with a clock far ahead would hold back every later point.
MAX_CLOCK_SKEW_MS = 300_000


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: int
    alarm_id: int
    tag: str
    limit: str
    occurrence: int
    ts: int
    from_state: str
    to_state: str
    value: Value | None
    username: str | None
    note: str | None


_Pending = tuple[dict[str, Any], Transition | None]


class AlarmService:
    """Alarms of one plant: ``AlarmService(ctx)``, then ``await start()``."""

    def __init__(self, ctx: Context, tick_s: float = 1.0) -> None:
        self.ctx = ctx
        self.tick_s = tick_s  # how often (wall time) shelve expiry is checked without data
        self.lang: str = ctx.settings.lang
        self.rejected: Counter[str] = Counter({r: 0 for r in REJECT_REASONS})
        self._alarms: dict[int, Alarm] = {}
        self._by_tag: dict[str, list[Alarm]] = {}
        self._down: dict[str, Alarm] = {}  # equipment path -> machine-down alarm
        self._last_ts: dict[str, int] = {}
        self._pending: list[_Pending] = []
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alarms-db")
        self._wake = asyncio.Event()
        self._offs: list[Callable[[], None]] = []
        self._tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        defs = definitions_from_plant(self.ctx.plant)
        rows = await self._in_db_thread(self._sync_rows, defs)
        for d, row in zip(defs, rows, strict=True):
            alarm = self._load(d, row)
            if d.limit == DOWN:
                self._down[d.equipment] = alarm
            else:
                self._by_tag.setdefault(d.tag, []).append(alarm)
        for alarms in self._by_tag.values():
            kinds = {a.definition.limit: a for a in alarms}
            for a in alarms:
                a.parent = kinds.get(SUPERSEDED_BY.get(a.definition.limit, ""))
        self.check_shelving()  # shelves that expired while the platform was down
        bus = self.ctx.bus
        self._offs = [bus.on(path, self._on_value) for path in self._by_tag]
        self._offs.append(bus.on(STATE_EVENTS + "#", self._on_state))
        self._tasks = [asyncio.create_task(self._writer()), asyncio.create_task(self._ticker())]

    async def stop(self) -> None:
        for off in self._offs:
            off()
        self._offs = []
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        try:
            await self.flush()
        finally:
            self._db_thread.shutdown()

    def _load(self, d: AlarmDefinition, row: AlarmRow) -> Alarm:
        alarm = Alarm(
            id=row.id, definition=d, state=AlarmState(row.state), active=row.active,
            priority=row.priority, occurrence=row.occurrence, value=row.value, last_value=row.value,
            active_since=row.active_since, cleared_at=row.cleared_at,
            acked_by=row.acked_by, acked_at=row.acked_at, shelved_by=row.shelved_by,
            shelved_at=row.shelved_at, shelved_until=row.shelved_until,
            shelve_reason=row.shelve_reason, updated_at=row.updated_at,
        )
        self._alarms[alarm.id] = alarm
        return alarm

    # ---- alarms raised by other apps ------------------------------------------------
    async def external(self, tag: str, kind: str, priority: str = "medium") -> Alarm:
        """The alarm of ``kind`` on ``tag`` that another app raises (e.g. ``spc``: control-chart rules),
        created on first use; its condition is set only through ``set_external``, never by limits.
        The app names its kind's texts ``alarms.limit.<kind>`` and ``alarms.msg.<kind>`` in its catalogue."""
        for alarm in self._alarms.values():
            if alarm.definition.tag == tag and alarm.definition.limit == kind:
                return alarm
        d = external_definition(self.ctx.plant, tag, kind, priority)
        [row] = await self._in_db_thread(self._sync_rows, [d])
        return self._load(d, row)

    def set_external(self, alarm_id: int, active: bool, value: Value, ts: int) -> None:
        """Set the condition of an alarm from ``external`` (``value``: what the app reports)."""
        alarm = self.get(alarm_id)
        was_active = alarm.active
        tr = alarm.set_condition(active, value, ts)
        if tr is None and was_active == active:
            if not active or alarm.value == value:
                return  # nothing changed: nothing to store
            alarm.value = alarm.last_value = value  # still active: show the latest finding
        self._record(alarm, tr)

    def _sync_rows(self, defs: list[AlarmDefinition]) -> list[AlarmRow]:
        """The row of every defined alarm, created Normal when new (ids stay stable across restarts)."""
        engine = self.ctx.db.engine
        AlarmRow.metadata.create_all(engine, tables=[AlarmRow.__table__, AlarmEventRow.__table__])
        with self.ctx.db.session() as s:
            existing = {(r.tag, r.limit_kind): r for r in s.scalars(select(AlarmRow))}
            rows: list[AlarmRow] = []
            for d in defs:
                row = existing.get((d.tag, d.limit))
                if row is None:
                    row = AlarmRow(tag=d.tag, limit_kind=d.limit, limit_value=d.limit_value,
                                   priority=d.priority, state=AlarmState.NORMAL.value, active=False,
                                   occurrence=0, message="")
                    s.add(row)
                else:
                    row.limit_value = d.limit_value  # the plant file may have moved a limit
                    if d.limit != DOWN:
                        row.priority = d.priority
                rows.append(row)
            s.flush()
            return rows

    # ---- evaluation (runs in the publisher's call: memory only) -------------------------
    def _on_value(self, msg: Message) -> None:
        alarms = self._by_tag.get(msg.topic)
        if alarms is None:
            return
        payload = msg.payload
        for point in payload if isinstance(payload, list) else (payload,):
            self._evaluate(msg.topic, alarms, point)

    def _accept_ts(self, key: str, point: Any) -> int | None:
        """The point's timestamp (the clock's when it has none), or None if older than the last one."""
        ts = point.get("ts")
        if not is_number(ts):
            return self.ctx.clock.now_ms()
        ts = int(ts)
        if ts < self._last_ts.get(key, ts):
            self.rejected["out_of_order"] += 1
            return None
        if ts <= self.ctx.clock.now_ms() + MAX_CLOCK_SKEW_MS:
            self._last_ts[key] = ts
        return ts

    def _evaluate(self, tag: str, alarms: list[Alarm], point: Any) -> None:
        if not isinstance(point, dict):
            self.rejected["malformed"] += 1
            return
        if point.get("q") == "bad":
            self.rejected["bad_quality"] += 1
            return
        value = point.get("v")
        if not is_number(value):
            self.rejected["non_numeric"] += 1
            return
        ts = self._accept_ts(tag, point)
        if ts is None:
            return
        for alarm in alarms:
            if alarm.state is AlarmState.SHELVED and alarm.shelve_expired(self.ctx.clock.now_ms()):
                self._expire(alarm)
            d = alarm.definition
            active = evaluate_limit(d.limit, d.limit_value or 0.0, d.deadband, alarm.active, value)
            if active == alarm.active:
                alarm.last_value = value
            else:
                self._record(alarm, alarm.set_condition(active, value, ts))

    def _on_state(self, msg: Message) -> None:
        p = msg.payload
        if not isinstance(p, dict) or not isinstance(p.get("state"), str):
            self.rejected["malformed"] += 1
            return
        alarm = self._down.get(msg.topic[len(STATE_EVENTS):])
        if alarm is None:
            self.rejected["unknown_equipment"] += 1
            return
        ts = self._accept_ts(alarm.definition.tag, p)
        if ts is None:
            return
        down = p["state"] == "down"
        if down and alarm.active and p.get("reason") != alarm.value:
            # Still down for another reason (a minor stop found to be a failure): same occurrence.
            alarm.value = alarm.last_value = p.get("reason")
            alarm.priority = down_priority(alarm.value)
            self._record(alarm, None)
        if down == alarm.active:
            return
        # The value of a machine-down alarm is the reason code; on return, the new state.
        value = p.get("reason") if down else p["state"]
        if down and alarm.state not in ACTIVE_STATES:
            alarm.priority = down_priority(value)
        self._record(alarm, alarm.set_condition(down, value, ts))

    # ---- persistence and events ---------------------------------------------------------
    def _record(self, alarm: Alarm, tr: Transition | None) -> None:
        """Queue the alarm's row (and its transition) for the writer; publish the transition."""
        self._pending.append((alarm.snapshot(self.lang), tr))
        self._wake.set()
        if tr is None:
            return
        d = alarm.definition
        self.ctx.bus.publish(ALARM_EVENTS + d.tag, {
            "ts": tr.ts, "id": alarm.id, "tag": d.tag, "state": tr.to_state.value,
            "previous": tr.from_state.value, "limit": d.limit, "value": tr.value,
            "priority": alarm.priority, "message": alarm.message(self.lang),
            "occurrence": tr.occurrence, "user": tr.username,
        })

    async def _in_db_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._db_thread, fn, *args)

    async def flush(self) -> None:
        """Write every queued transition; on a store error they stay queued and the error is raised."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await self._in_db_thread(self._write, batch)
        except Exception:
            self._pending[:0] = batch
            raise

    def _write(self, batch: list[_Pending]) -> None:
        rows: dict[int, dict[str, Any]] = {}
        events: list[dict[str, Any]] = []
        for snapshot, tr in batch:
            rows[snapshot["id"]] = snapshot
            if tr is not None:
                events.append({
                    "alarm_id": tr.alarm_id, "ts": tr.ts, "occurrence": tr.occurrence,
                    "from_state": tr.from_state.value, "to_state": tr.to_state.value, "value": tr.value,
                    "username": tr.username, "note": tr.note,
                })
        with self.ctx.db.session() as s:
            s.execute(update(AlarmRow), list(rows.values()))
            if events:
                s.execute(insert(AlarmEventRow), events)

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("storing alarm transitions failed; retrying")
                await asyncio.sleep(self.tick_s)
                self._wake.set()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            self.check_shelving()

    def _expire(self, alarm: Alarm) -> None:
        # Dated at the expiry time itself, not when it was noticed.
        self._record(alarm, alarm.restore(AlarmState.SHELVED, None, alarm.shelved_until or 0))

    def check_shelving(self) -> None:
        """Return alarms whose shelve has expired (by the platform clock) to service."""
        now = self.ctx.clock.now_ms()
        for alarm in self._alarms.values():
            if alarm.shelve_expired(now):
                self._expire(alarm)

    # ---- queries -------------------------------------------------------------------
    def get(self, alarm_id: int) -> Alarm:
        alarm = self._alarms.get(alarm_id)
        if alarm is None:
            raise AlarmNotFound("alarms.error.not_found", id=alarm_id)
        return alarm

    def _select(self, state: str | None, scope: str | None) -> list[Alarm]:
        states = STATE_FILTERS.get(state)
        if states is None:
            raise AlarmInputError("alarms.error.bad_state", value=state,
                                  allowed=", ".join(str(k) for k in STATE_FILTERS if k))
        prefix = scope.strip("/") if scope else ""
        return [a for a in self._alarms.values() if a.state in states and (
            not prefix or a.definition.tag == prefix or a.definition.tag.startswith(prefix + "/"))]

    def list(self, state: str | None = None, scope: str | None = None, limit: int = 500) -> list[Alarm]:
        """Alarms in ``state`` (see ``STATE_FILTERS``) whose tag path is under ``scope``.

        Sorted as an operator reads them: unacknowledged first, superseded ones after the rest,
        then by priority, newest first.
        """
        self.check_shelving()
        alarms = sorted(self._select(state, scope), key=lambda a: (
            _STATE_RANK[a.state], a.superseded, _PRIORITY_RANK.get(a.priority, len(PRIORITIES)),
            -(a.active_since or 0)))
        return alarms[:max(limit, 0)]

    def summary(self, scope: str | None = None) -> dict[str, Any]:
        """Counts for the console badge; superseded alarms (hi under an active hihi) are left out."""
        self.check_shelving()
        alarms = [a for a in self._select("all", scope) if not a.superseded]
        by_state = Counter(a.state.value for a in alarms)
        listed = [a for a in alarms if a.state in ANNUNCIATED_STATES]
        unacked = [a for a in listed if a.state in UNACKED_STATES]
        return {
            "total": len(alarms),
            "by_state": {s.value: by_state.get(s.value, 0) for s in AlarmState},
            "by_priority": {p: sum(a.priority == p for a in listed) for p in PRIORITIES},
            "active": sum(a.state in ACTIVE_STATES for a in alarms),
            "unacked": len(unacked),
            "shelved": by_state.get(AlarmState.SHELVED.value, 0),
            "out_of_service": by_state.get(AlarmState.OUT_OF_SERVICE.value, 0),
            "highest_unacked_priority": min((a.priority for a in unacked),
                                            key=lambda p: _PRIORITY_RANK.get(p, 99), default=None),
            "rejected": dict(self.rejected),
        }

    async def history(self, alarm_id: int | None = None, start: int | None = None, end: int | None = None,
                      limit: int = 1000) -> list[HistoryEntry]:
        """Transitions, newest first, of one alarm or of all, with ``start <= ts < end``."""
        if alarm_id is not None:
            self.get(alarm_id)
        await self.flush()
        return await self._in_db_thread(self._read_history, alarm_id, start, end, limit)

    def _read_history(self, alarm_id: int | None, start: int | None, end: int | None,
                      limit: int) -> list[HistoryEntry]:
        e = AlarmEventRow
        q = select(e, AlarmRow.tag, AlarmRow.limit_kind).join(AlarmRow, AlarmRow.id == e.alarm_id)
        if alarm_id is not None:
            q = q.where(e.alarm_id == alarm_id)
        if start is not None:
            q = q.where(e.ts >= start)
        if end is not None:
            q = q.where(e.ts < end)
        # Newest first in the order transitions happened (a value's ts and the clock may disagree).
        q = q.order_by(e.id.desc()).limit(max(limit, 0))
        with self.ctx.db.session() as s:
            return [HistoryEntry(r.id, r.alarm_id, tag, kind, r.occurrence, r.ts, r.from_state, r.to_state,
                                 r.value, r.username, r.note) for r, tag, kind in s.execute(q)]

    # ---- operator actions ------------------------------------------------------------
    async def _commit(self, alarm: Alarm, tr: Transition) -> Alarm:
        self._record(alarm, tr)
        await self.flush()
        return alarm

    async def ack(self, alarm_id: int, user: str, note: str | None = None) -> Alarm:
        alarm = self.get(alarm_id)
        return await self._commit(alarm, alarm.acknowledge(user, self.ctx.clock.now_ms(), note or None))

    async def shelve(self, alarm_id: int, user: str, until_ms: int | None, reason: str) -> Alarm:
        """Shelve until ``until_ms`` (platform clock) or until unshelved; shelving again moves the expiry."""
        alarm = self.get(alarm_id)
        now = self.ctx.clock.now_ms()
        if until_ms is not None and until_ms <= now:
            raise AlarmInputError("alarms.error.until_past", until=until_ms, now=now)
        return await self._commit(alarm, alarm.remove(AlarmState.SHELVED, user, now, until_ms,
                                                      _reason(reason)))

    async def unshelve(self, alarm_id: int, user: str) -> Alarm:
        alarm = self.get(alarm_id)
        return await self._commit(alarm, alarm.restore(AlarmState.SHELVED, user, self.ctx.clock.now_ms()))

    async def remove_from_service(self, alarm_id: int, user: str, reason: str) -> Alarm:
        """Out of service (e.g. a broken instrument): no expiry, until returned to service."""
        alarm = self.get(alarm_id)
        now = self.ctx.clock.now_ms()
        return await self._commit(alarm, alarm.remove(AlarmState.OUT_OF_SERVICE, user, now, None,
                                                      _reason(reason)))

    async def return_to_service(self, alarm_id: int, user: str) -> Alarm:
        alarm = self.get(alarm_id)
        return await self._commit(alarm, alarm.restore(AlarmState.OUT_OF_SERVICE, user,
                                                        self.ctx.clock.now_ms()))


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise AlarmInputError("alarms.error.reason_required")
    return reason[:512]
