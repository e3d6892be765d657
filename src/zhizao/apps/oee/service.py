"""OEE service: records state periods and part counts from the bus; answers OEE and downtime queries.

Recording. ``_events/state/<equipment>`` closes the machine's open interval and
opens the next one; ``_events/part/<equipment>`` adds to the machine's
per-minute part counts. As a fallback for connectors that only deliver the
``state`` tag, a value of ``<equipment>/state`` that differs from the open
interval's state opens an interval without a reason. Bus handlers only update
memory; a background task writes the batch every ``flush_interval_s`` (and
every query writes it first), so a burst of events costs one transaction. Each
write also stamps the open intervals' ``seen_ms`` with the platform clock;
on start, intervals left open by a crash are closed at that last known time.

Queries. ``oee`` takes a scope (a UNS path prefix: enterprise, site, area,
line, cell or one machine). Buffers, environment sensors and utilities are not
machines and are left out. Time elements are attributed to shifts of the
machine's site (``zhizao.apps.oee.calc`` has the rules). Part counts have
one-minute resolution: a minute belongs to the period that contains its start.

Aggregation. A scope's figures sum the elements of its machines (see
``calc``); the same sum is given per line, per machine and per group. A sum
over machines measures how well the machines were used; it does not say how
many good parts left the line. So each line also reports its output (produced
and good parts of its last machine in ``flow``) and ``output_oee`` = good
output x the bottleneck's ideal cycle / the line's planned busy time (the
longest of its machines'), the share of the line's ideal output achieved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from bisect import bisect_left, bisect_right
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from sqlalchemy import and_, bindparam, func, literal_column, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from zhizao.apps.oee.calc import (
    Interval,
    ShiftSchedule,
    calendar_windows,
    combine,
    equipment_elements,
    kpis,
    ratio,
)
from zhizao.apps.oee.model import (
    DOWNTIME,
    DowntimeEvent,
    DowntimeList,
    EquipmentOee,
    LineOee,
    OeeElements,
    OeeGroup,
    OeeResult,
    Pareto,
    ParetoItem,
    PartCount,
    StateInterval,
    category,
)
from zhizao.assets.model import MACHINE_STATES
from zhizao.core.context import Context
from zhizao.core.i18n import DEFAULT_LANG, catalogue, t

log = logging.getLogger(__name__)

EXCLUDED_KINDS = frozenset({"buffer", "environment", "utility"})
GROUP_BYS = ("equipment", "shift", "hour", "day")
PARETO_BYS = ("reason", "equipment")
DEFAULT_PERIOD_MS = 8 * 3_600_000
MAX_PERIOD_DAYS = 366
STATE_PREFIX = "_events/state/"
PART_PREFIX = "_events/part/"
STATE_TAG_PATTERN = "+/+/+/+/+/+/state"
_INTERVALS = StateInterval.__table__
_PARTS = PartCount.__table__
_UPDATED_COLUMNS = ("state", "reason", "end_ms", "seen_ms", "shift", "closed_on_restart")
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class OeeQueryError(ValueError):
    """A query parameter that cannot be used; ``param`` names it."""

    def __init__(self, param: str, key: str, **params: object) -> None:
        self.param, self.key, self.params = param, key, params
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return t(self.key, lang, param=self.param, **self.params)


@dataclass(slots=True)
class _Open:
    state: str
    reason: str | None
    start_ms: int
    shift: str | None


@dataclass(frozen=True, slots=True)
class _Machine:
    path: str
    kind: str
    tz: str
    pri_s: float | None


_LineMachines = tuple[str, list[_Machine], _Machine]


@dataclass(slots=True)
class _PlantIndex:
    nodes: set[str]
    tz: dict[str, str]  # equipment path -> site timezone
    names: dict[str, tuple[str, str]]  # equipment path -> (en, zh)


def to_ms(value: Any) -> int | None:
    """Epoch ms from epoch ms (number or digits) or ISO-8601 (naive means UTC); None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def reason_label(reason: str | None, state: str, lang: str = DEFAULT_LANG) -> str:
    if not reason:
        return t(f"state.{state}", lang)
    key = f"reason.{reason}"
    if key in catalogue(lang) or key in catalogue("en"):
        return t(key, lang)
    if reason.startswith("failure."):
        return t("reason.failure.other", lang, mode=reason.removeprefix("failure."))
    return reason


class OeeService:
    def __init__(self, ctx: Context, flush_interval_s: float = 1.0) -> None:
        self.ctx = ctx
        self.flush_interval_s = flush_interval_s
        self._lock = threading.Lock()  # memory: open intervals, pending writes, counters
        self._write_lock = threading.Lock()  # one flush at a time, in order
        self._open: dict[str, _Open] = {}
        self._pending_rows: dict[tuple[str, int], dict[str, Any]] = {}
        self._pending_parts: dict[tuple[str, int], list[int]] = {}
        self._counts: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()
        self._last_rejections: deque[dict[str, str]] = deque(maxlen=20)
        self._offs: list[Any] = []
        self._task: asyncio.Task | None = None
        self._index_plant: object = None
        self._index: _PlantIndex | None = None
        self._shift_cache: dict[str, tuple[int, int, ShiftSchedule]] = {}

    # ---- lifecycle ---------------------------------------------------------
    async def start(self) -> None:
        closed = await asyncio.to_thread(self.recover)
        if closed:
            log.info("OEE: closed %d state intervals left open by the previous run", closed)
        bus = self.ctx.bus
        handler = self._on_message
        self._offs = [bus.on("_events/state/#", handler), bus.on("_events/part/#", handler),
                      bus.on(STATE_TAG_PATTERN, handler)]
        self._task = asyncio.create_task(self._flush_loop(), name="oee-flush")

    async def stop(self) -> None:
        for off in self._offs:
            off()
        self._offs = []
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.flush)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval_s)
            await asyncio.to_thread(self.flush)

    def recover(self) -> int:
        """Close the intervals a crashed run left open at their last known time; returns how many."""
        with self.ctx.db.session() as session:
            result = session.execute(
                update(_INTERVALS).where(_INTERVALS.c.end_ms.is_(None))
                .values(end_ms=_INTERVALS.c.seen_ms, closed_on_restart=True))
            closed = result.rowcount or 0
        with self._lock:
            self._open.clear()
            self._counts["closed_on_restart"] += closed
        return closed

    # ---- recording ---------------------------------------------------------
    def _on_message(self, msg: Any) -> None:
        self.ingest(msg.topic, msg.payload)

    def ingest(self, topic: str, payload: Any) -> None:
        """Record one bus message: a state event, a part event or a ``state`` tag value."""
        if topic.startswith(STATE_PREFIX):
            self._on_state(topic, payload)
        elif topic.startswith(PART_PREFIX):
            self._on_part(topic, payload)
        elif topic.endswith("/state"):
            for item in payload if isinstance(payload, list) else [payload]:
                self._on_state_tag(topic.removesuffix("/state"), item)

    def _reject(self, reason: str, topic: str, detail: str) -> None:
        with self._lock:
            self._rejected[reason] += 1
            self._last_rejections.append({"topic": topic, "reason": reason, "detail": detail})

    def _event_fields(self, topic: str, prefix: str, payload: Any) -> tuple[str, int] | None:
        if not isinstance(payload, dict):
            self._reject("malformed", topic, "payload is not a JSON object")
            return None
        equipment = payload.get("equipment") or topic.removeprefix(prefix)
        if not isinstance(equipment, str):
            self._reject("malformed", topic, "equipment must be a path")
            return None
        ts = to_ms(payload.get("ts"))
        if ts is None:
            self._reject("bad_timestamp", topic, f"ts {payload.get('ts')!r} is not epoch ms or ISO-8601")
            return None
        return equipment, ts

    def _on_state(self, topic: str, payload: Any) -> None:
        fields = self._event_fields(topic, STATE_PREFIX, payload)
        if fields is None:
            return
        equipment, ts = fields
        state, reason = payload.get("state"), payload.get("reason") or None
        if state not in MACHINE_STATES:
            self._reject("bad_state", topic, f"state {state!r} is not one of {', '.join(MACHINE_STATES)}")
            return
        if reason is not None and not isinstance(reason, str):
            self._reject("malformed", topic, "reason must be a string")
            return
        known = equipment in self._plant_index().tz
        shift = self._shift_at(equipment, ts)
        with self._lock:
            cur = self._open.get(equipment)
            late = cur is not None and ts < cur.start_ms
            if not late:
                self._counts["state_events"] += 1
                self._counts["unknown_equipment"] += not known
                if cur is None or (cur.state, cur.reason) != (state, reason):
                    self._transition(equipment, cur, _Open(state, reason, ts, shift))
        if late:
            self._reject("out_of_order", topic, f"ts {ts} is before the start of the open interval")

    def _on_state_tag(self, equipment: str, item: Any) -> None:
        if not isinstance(item, dict) or item.get("q", "good") == "bad":
            return
        state, ts = item.get("v"), to_ms(item.get("ts"))
        if state not in MACHINE_STATES or ts is None or equipment not in self._plant_index().tz:
            return
        shift = self._shift_at(equipment, ts)
        with self._lock:
            self._counts["tag_states"] += 1
            cur = self._open.get(equipment)
            if cur is None or (cur.state != state and ts >= cur.start_ms):
                self._transition(equipment, cur, _Open(state, None, ts, shift))

    def _transition(self, equipment: str, cur: _Open | None, new: _Open) -> None:
        # Caller holds the lock. Two changes at the same instant: the later one wins.
        if cur is not None and new.start_ms > cur.start_ms:
            self._pending_rows[(equipment, cur.start_ms)] = _row(equipment, cur, new.start_ms)
        self._open[equipment] = new
        self._pending_rows[(equipment, new.start_ms)] = _row(equipment, new, None)

    def _on_part(self, topic: str, payload: Any) -> None:
        fields = self._event_fields(topic, PART_PREFIX, payload)
        if fields is None:
            return
        equipment, ts = fields
        good = payload.get("good")
        if not isinstance(good, bool):
            self._reject("malformed", topic, f"good must be true or false, got {good!r}")
            return
        with self._lock:
            self._counts["part_events"] += 1
            counts = self._pending_parts.setdefault((equipment, ts - ts % 60_000), [0, 0])
            counts[0] += 1
            counts[1] += good

    def flush(self) -> None:
        """Write the pending intervals and part counts (never raises; failures are retried)."""
        with self._write_lock:
            with self._lock:
                rows, self._pending_rows = self._pending_rows, {}
                parts, self._pending_parts = self._pending_parts, {}
                open_keys = [(eq, o.start_ms) for eq, o in self._open.items()]
            now = self.ctx.clock.now_ms()
            try:
                insert = _INSERTS[self.ctx.db.engine.dialect.name]
                with self.ctx.db.session() as session:
                    if rows:
                        stmt = insert(_INTERVALS)
                        stmt = stmt.on_conflict_do_update(
                            index_elements=["equipment", "start_ms"],
                            set_={c: stmt.excluded[c] for c in _UPDATED_COLUMNS})
                        session.execute(stmt, list(rows.values()))
                    if parts:
                        stmt = insert(_PARTS)
                        stmt = stmt.on_conflict_do_update(
                            index_elements=["equipment", "minute_ms"],
                            set_={"produced": _PARTS.c.produced + stmt.excluded.produced,
                                  "good": _PARTS.c.good + stmt.excluded.good})
                        session.execute(stmt, [{"equipment": eq, "minute_ms": m, "produced": p, "good": g}
                                               for (eq, m), (p, g) in parts.items()])
                    if open_keys:
                        session.execute(
                            update(_INTERVALS)
                            .where(_INTERVALS.c.equipment == bindparam("b_eq"),
                                   _INTERVALS.c.start_ms == bindparam("b_start"),
                                   _INTERVALS.c.end_ms.is_(None))
                            .values(seen_ms=bindparam("b_seen")),
                            [{"b_eq": eq, "b_start": s, "b_seen": max(now, s)} for eq, s in open_keys])
            except Exception:
                log.exception("OEE: writing %d intervals and %d part counts failed; will retry",
                              len(rows), len(parts))
                with self._lock:
                    self._counts["write_errors"] += 1
                    for key, row in rows.items():
                        self._pending_rows.setdefault(key, row)
                    for key, (p, g) in parts.items():
                        counts = self._pending_parts.setdefault(key, [0, 0])
                        counts[0] += p
                        counts[1] += g
                return
            with self._lock:
                self._counts["flushes"] += 1

    def stats(self) -> dict[str, Any]:
        """Counters of what was recorded and rejected (with the last rejections)."""
        with self._lock:
            return {
                **{k: self._counts[k] for k in ("state_events", "part_events", "tag_states", "flushes",
                                                "write_errors", "closed_on_restart", "unknown_equipment")},
                "open_intervals": len(self._open),
                "pending_intervals": len(self._pending_rows),
                "pending_part_minutes": len(self._pending_parts),
                "rejected": dict(self._rejected),
                "last_rejections": list(self._last_rejections),
            }

    # ---- plant lookups -----------------------------------------------------
    def _plant_index(self) -> _PlantIndex:
        plant = self.ctx.plant
        if self._index is None or self._index_plant is not plant:
            ent = plant.enterprise
            nodes = {ent.id}
            tz: dict[str, str] = {}
            names: dict[str, tuple[str, str]] = {}
            for site, area, line, cell, eq in plant.iter_equipment():
                site_path = f"{ent.id}/{site.id}"
                nodes.update((site_path, f"{site_path}/{area.id}", f"{site_path}/{area.id}/{line.id}",
                              f"{site_path}/{area.id}/{line.id}/{cell.id}", eq.path))
                tz[eq.path] = site.timezone
                names[eq.path] = (eq.name.en or eq.id, eq.name.zh or eq.name.en or eq.id)
            nodes.update(f"{ent.id}/{s.id}" for s in ent.sites)
            nodes.update(plant.line_path(s, a, ln) for s, a, ln in plant.iter_lines())
            self._index, self._index_plant = _PlantIndex(nodes, tz, names), plant
            self._shift_cache.clear()
        return self._index

    def _schedule(self, tz: str, start_ms: int, end_ms: int) -> ShiftSchedule | None:
        shifts = self.ctx.plant.shifts
        return ShiftSchedule.build(shifts, tz, start_ms, end_ms) if shifts else None

    def _shift_at(self, equipment: str, ts: int) -> str | None:
        tz = self._plant_index().tz.get(equipment)
        if tz is None or not self.ctx.plant.shifts:
            return None
        cached = self._shift_cache.get(tz)
        if cached is None or not cached[0] <= ts < cached[1]:
            lo, hi = ts - 86_400_000, ts + 2 * 86_400_000
            cached = (lo, hi, ShiftSchedule.build(self.ctx.plant.shifts, tz, lo, hi))
            self._shift_cache[tz] = cached
        return cached[2].shift_at(ts)

    def _resolve(self, scope: str | None) -> tuple[str, list[_Machine], list[_LineMachines]]:
        """(scope, its machines, (line path, machines, output machine) for each line it covers)."""
        plant, index = self.ctx.plant, self._plant_index()
        scope = (scope or "").strip().strip("/") or plant.enterprise.id
        if scope not in index.nodes:
            raise OeeQueryError("scope", "oee.error.scope", value=scope)
        cycles: dict[str, float] = {}
        for routing in plant.routings:
            for step in routing.steps:
                for eq_id in step.equipment:
                    cycles[eq_id] = min(cycles.get(eq_id, step.cycle_s), step.cycle_s)
        machines: list[_Machine] = []
        lines = []
        for site, area, line in plant.iter_lines():
            line_path = plant.line_path(site, area, line)
            found = [(eq, _Machine(eq.path, eq.kind, site.timezone, eq.ideal_cycle_s or cycles.get(eq.id)))
                     for cell in line.cells for eq in cell.equipment
                     if eq.kind not in EXCLUDED_KINDS and _within(eq.path, scope)]
            machines.extend(m for _, m in found)
            if found and _within(line_path, scope):
                in_flow = [(line.flow.index(eq.id), m) for eq, m in found if eq.id in line.flow]
                output = max(in_flow, key=lambda x: x[0])[1] if in_flow else found[-1][1]
                lines.append((line_path, [m for _, m in found], output))
        return scope, machines, lines

    # ---- queries -----------------------------------------------------------
    def period(self, start: Any = None, end: Any = None) -> tuple[int, int]:
        """[start, end) in epoch ms from ms or ISO-8601; by default the 8 h up to the clock's now."""
        s, e = to_ms(start), to_ms(end)
        for name, raw, parsed in (("start", start, s), ("end", end, e)):
            if raw not in (None, "") and parsed is None:
                raise OeeQueryError(name, "oee.error.time", value=raw)
        e = self.ctx.clock.now_ms() if e is None else e
        s = e - DEFAULT_PERIOD_MS if s is None else s
        if e <= s:
            raise OeeQueryError("end", "oee.error.order", start=s, end=e)
        if e - s > MAX_PERIOD_DAYS * 86_400_000:
            raise OeeQueryError("start", "oee.error.span", days=MAX_PERIOD_DAYS)
        return s, e

    def oee(self, scope: str | None = None, start_ms: Any = None, end_ms: Any = None,
            group_by: str | None = None) -> OeeResult:
        """OEE of ``scope`` over [start_ms, end_ms), with per-machine, per-line and grouped figures."""
        start_ms, end_ms = self.period(start_ms, end_ms)
        if group_by is not None and group_by not in GROUP_BYS:
            raise OeeQueryError("group_by", "oee.error.choice", value=group_by, choices=", ".join(GROUP_BYS))
        scope, machines, lines = self._resolve(scope)
        self.flush()
        now = self.ctx.clock.now_ms()
        paths = [m.path for m in machines]
        intervals = self._intervals(paths, start_ms, end_ms)
        schedules = {tz: self._schedule(tz, start_ms, end_ms) for tz in {m.tz for m in machines}}
        windows: dict[str, list[_Window]] = {}
        counts: _BucketCounts | None = None
        if group_by in ("shift", "hour", "day"):
            windows = {tz: _group_windows(group_by, tz, sched, start_ms, end_ms)
                       for tz, sched in schedules.items()}
            bucket_ms = _bucket_ms(windows, start_ms, end_ms)
            counts = _BucketCounts(self._part_rows(paths, start_ms, end_ms, bucket_ms), start_ms)
        totals = counts.totals(start_ms, end_ms) if counts else self._part_totals(paths, start_ms, end_ms)

        def elements(m: _Machine, s: int, e: int, produced: int, good: int) -> OeeElements:
            return equipment_elements(intervals.get(m.path, _NO_INTERVALS).within(s, e), s, e, now_ms=now,
                                      schedule=schedules[m.tz], produced=produced, good=good, pri_s=m.pri_s)

        period_ms = end_ms - start_ms
        per_machine = {m.path: elements(m, start_ms, end_ms, *totals.get(m.path, (0, 0))) for m in machines}
        total = combine(per_machine.values(), period_ms)
        result = OeeResult(**_figures(total), scope=scope, start=start_ms, end=end_ms, group_by=group_by,
                           equipment=[EquipmentOee(**_figures(per_machine[m.path]), path=m.path, kind=m.kind)
                                      for m in machines],
                           lines=[self._line(path, ms, out, per_machine) for path, ms, out in lines])
        if group_by == "equipment":
            result.groups = [OeeGroup(**_figures(per_machine[m.path]), key=m.path, start=start_ms, end=end_ms)
                             for m in machines]
        elif counts is not None:
            groups: dict[str, tuple[int, int, str | None, list[OeeElements]]] = {}
            for m in machines:
                for key, shift, s, e in windows[m.tz]:
                    el = elements(m, s, e, *counts.window(m.path, s, e))
                    g_start, g_end, _, items = groups.get(key, (s, e, shift, []))
                    items.append(el)
                    groups[key] = (min(g_start, s), max(g_end, e), shift, items)
            for key, (s, e, shift, items) in sorted(groups.items(), key=lambda kv: (kv[1][0], kv[0])):
                el = combine(items, e - s)
                if key == "unscheduled" and not (el.pot_ms or el.pq):
                    continue
                result.groups.append(OeeGroup(**_figures(el), key=key, start=s, end=e, shift=shift))
        return result

    def _line(self, path: str, machines: list[_Machine], output: _Machine,
              per_machine: dict[str, OeeElements]) -> LineOee:
        items = [per_machine[m.path] for m in machines]
        el = combine(items, items[0].period_ms)
        out = per_machine[output.path]
        line = LineOee(**_figures(el), path=path, output_equipment=output.path, output_produced=out.pq,
                       output_good=out.gq, line_pbt_ms=max(i.pbt_ms for i in items))
        if all(m.pri_s is not None for m in machines):
            neck = max(machines, key=lambda m: m.pri_s or 0.0)
            line.bottleneck, line.bottleneck_cycle_s = neck.path, neck.pri_s
            line.output_oee = ratio(out.gq * (neck.pri_s or 0.0) * 1000, line.line_pbt_ms)
        return line

    def downtime_events(self, scope: str | None = None, start_ms: Any = None, end_ms: Any = None,
                        reasons: list[str] | None = None, limit: int = 1000,
                        lang: str = DEFAULT_LANG) -> DowntimeList:
        """Downtime events overlapping the period, newest first; ``reasons`` match a code or its prefix
        (``failure`` matches ``failure.bearing``)."""
        start_ms, end_ms = self.period(start_ms, end_ms)
        scope, machines, _ = self._resolve(scope)
        self.flush()
        now = self.ctx.clock.now_ms()
        where = self._downtime_where([m.path for m in machines], start_ms, end_ms, reasons)
        with self.ctx.db.session() as session:
            total = session.scalar(select(func.count()).select_from(_INTERVALS).where(where)) or 0
            rows = session.execute(select(_INTERVALS).where(where)
                                   .order_by(_INTERVALS.c.start_ms.desc(), _INTERVALS.c.equipment)
                                   .limit(limit)).all()
        events = []
        for r in rows:
            end = now if r.end_ms is None else r.end_ms
            events.append(DowntimeEvent(
                id=r.id, equipment=r.equipment, state=r.state, reason=r.reason,
                start=r.start_ms, end=r.end_ms,
                duration_ms=max(0, end - r.start_ms),
                in_period_ms=max(0, min(end, end_ms) - max(r.start_ms, start_ms)),
                planned=category(r.state, r.reason) == "pdt", shift=r.shift,
                closed_on_restart=r.closed_on_restart, label=reason_label(r.reason, r.state, lang)))
        return DowntimeList(scope=scope, start=start_ms, end=end_ms, total=total, events=events)

    def pareto(self, scope: str | None = None, start_ms: Any = None, end_ms: Any = None, by: str = "reason",
               planned: bool = False, lang: str = DEFAULT_LANG) -> Pareto:
        """Downtime inside the period by reason (or machine), longest first.

        Planned downtime (breaks, planned maintenance) is left out unless ``planned``.
        """
        if by not in PARETO_BYS:
            raise OeeQueryError("by", "oee.error.choice", value=by, choices=", ".join(PARETO_BYS))
        start_ms, end_ms = self.period(start_ms, end_ms)
        scope, machines, _ = self._resolve(scope)
        self.flush()
        now = self.ctx.clock.now_ms()
        where = self._downtime_where([m.path for m in machines], start_ms, end_ms, None)
        cols = (_INTERVALS.c.equipment, _INTERVALS.c.state, _INTERVALS.c.reason, _INTERVALS.c.start_ms,
                _INTERVALS.c.end_ms)
        with self.ctx.db.session() as session:
            rows = session.execute(select(*cols).where(where)).all()
        sums: dict[str, list[int]] = {}
        states: dict[str, str] = {}
        for eq, state, reason, s, e in rows:
            ms = min(now if e is None else e, end_ms) - max(s, start_ms)
            if ms <= 0 or (not planned and category(state, reason) == "pdt"):
                continue
            key = (reason or state) if by == "reason" else eq
            states.setdefault(key, state)
            acc = sums.setdefault(key, [0, 0])
            acc[0] += ms
            acc[1] += 1
        total_ms = sum(ms for ms, _ in sums.values())
        names = self._plant_index().names
        items, running = [], 0
        for key, (ms, count) in sorted(sums.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0])):
            running += ms
            if by == "reason":
                label = reason_label(key if key != states[key] else None, states[key], lang)
            else:
                en, zh = names.get(key, (key, key))
                label = zh if lang.startswith("zh") else en
            items.append(ParetoItem(key=key, label=label, count=count, duration_ms=ms,
                                    share=ms / total_ms, cumulative_share=running / total_ms,
                                    reason=key if by == "reason" else None,
                                    equipment=key if by == "equipment" else None))
        return Pareto(scope=scope, start=start_ms, end=end_ms, by=by, planned=planned, total_ms=total_ms,
                      total_count=sum(c for _, c in sums.values()), items=items)

    # ---- store reads -------------------------------------------------------
    def _intervals(self, paths: list[str], start_ms: int, end_ms: int) -> dict[str, _IntervalList]:
        if not paths:
            return {}
        c = _INTERVALS.c
        query = (select(c.equipment, c.state, c.reason, c.start_ms, c.end_ms)
                 .where(c.equipment.in_(paths), c.start_ms < end_ms,
                        or_(c.end_ms.is_(None), c.end_ms > start_ms))
                 .order_by(c.equipment, c.start_ms))
        out: dict[str, list[Interval]] = {}
        with self.ctx.db.session() as session:
            for eq, state, reason, s, e in session.execute(query):
                out.setdefault(eq, []).append(Interval(state, reason, s, e))
        return {eq: _IntervalList(items) for eq, items in out.items()}

    def _part_totals(self, paths: list[str], start_ms: int, end_ms: int) -> dict[str, tuple[int, int]]:
        if not paths:
            return {}
        c = _PARTS.c
        query = (select(c.equipment, func.sum(c.produced), func.sum(c.good))
                 .where(c.equipment.in_(paths), c.minute_ms >= start_ms, c.minute_ms < end_ms)
                 .group_by(c.equipment))
        with self.ctx.db.session() as session:
            return {eq: (int(p or 0), int(g or 0)) for eq, p, g in session.execute(query)}

    def _part_rows(self, paths: list[str], start_ms: int, end_ms: int,
                   bucket_ms: int) -> list[tuple[str, int, int, int]]:
        """(equipment, bucket start, produced, good) per ``bucket_ms`` bucket, from the minute rows."""
        if not paths:
            return []
        c = _PARTS.c
        # An inlined constant: PostgreSQL needs GROUP BY to repeat the select's expression exactly.
        bucket = (c.minute_ms - c.minute_ms % literal_column(str(int(bucket_ms)))).label("bucket")
        query = (select(c.equipment, bucket, func.sum(c.produced), func.sum(c.good))
                 .where(c.equipment.in_(paths), c.minute_ms >= start_ms, c.minute_ms < end_ms)
                 .group_by(c.equipment, bucket).order_by(c.equipment, bucket))
        with self.ctx.db.session() as session:
            return [tuple(r) for r in session.execute(query)]  # type: ignore[misc]

    def _downtime_where(self, paths: list[str], start_ms: int, end_ms: int, reasons: list[str] | None) -> Any:
        c = _INTERVALS.c
        where = and_(c.equipment.in_(paths), DOWNTIME, c.start_ms < end_ms,
                     or_(c.end_ms.is_(None), and_(c.end_ms > start_ms, c.end_ms > c.start_ms)))
        if reasons:
            where = and_(where, or_(*(or_(c.reason == r, c.reason.like(_like_escape(r) + ".%", escape="\\"))
                                      for r in reasons)))
        return where


class _IntervalList:
    """A machine's intervals sorted by start, sliced to a window without scanning them all."""

    def __init__(self, items: list[Interval]) -> None:
        self.items = items
        self._starts = [iv.start_ms for iv in items]
        # Running maximum of the ends (open = +inf) keeps the slice right even if intervals overlap.
        self._max_ends = list(accumulate((math.inf if iv.end_ms is None else iv.end_ms for iv in items), max))

    def within(self, start_ms: int, end_ms: int) -> list[Interval]:
        return self.items[bisect_right(self._max_ends, start_ms):bisect_left(self._starts, end_ms)]


_NO_INTERVALS = _IntervalList([])


class _BucketCounts:
    """Part counts per time bucket with prefix sums, for fast sums over many windows.

    The first bucket may start before the period; its parts are all inside it,
    so it is placed at the period's start.
    """

    def __init__(self, rows: list[tuple[str, int, int, int]], start_ms: int) -> None:
        by_eq: dict[str, list[tuple[int, int, int]]] = {}
        for eq, bucket, produced, good in rows:
            by_eq.setdefault(eq, []).append((max(bucket, start_ms), int(produced), int(good)))
        self._starts = {eq: [r[0] for r in rs] for eq, rs in by_eq.items()}
        self._produced = {eq: [0, *accumulate(r[1] for r in rs)] for eq, rs in by_eq.items()}
        self._good = {eq: [0, *accumulate(r[2] for r in rs)] for eq, rs in by_eq.items()}

    def window(self, equipment: str, start_ms: int, end_ms: int) -> tuple[int, int]:
        starts = self._starts.get(equipment)
        if not starts:
            return 0, 0
        i, j = bisect_left(starts, start_ms), bisect_left(starts, end_ms)
        return (self._produced[equipment][j] - self._produced[equipment][i],
                self._good[equipment][j] - self._good[equipment][i])

    def totals(self, start_ms: int, end_ms: int) -> dict[str, tuple[int, int]]:
        return {eq: self.window(eq, start_ms, end_ms) for eq in self._starts}


_Window = tuple[str, str | None, int, int]  # key, shift id, start, end
_BUCKETS_MS = (3_600_000, 1_800_000, 900_000, 300_000, 60_000)


def _bucket_ms(windows: dict[str, list[_Window]], start_ms: int, end_ms: int) -> int:
    """The longest bucket that no window boundary cuts (the period's own ends aside)."""
    bounds = {b for ws in windows.values() for _, _, s, e in ws for b in (s, e)} - {start_ms, end_ms}
    return next(b for b in _BUCKETS_MS if all(x % b == 0 for x in bounds))


def _group_windows(group_by: str | None, tz: str, schedule: ShiftSchedule | None, start_ms: int,
                   end_ms: int) -> list[_Window]:
    if group_by in ("hour", "day"):
        return [(label, None, s, e) for label, s, e in
                calendar_windows(group_by, tz, start_ms, end_ms)]  # type: ignore[arg-type]
    if schedule is None:
        return [("all", None, start_ms, end_ms)]
    out: list[_Window] = []
    cursor = start_ms
    for w in schedule.windows:
        s, e = max(w.start_ms, start_ms), min(w.end_ms, end_ms)
        if s >= e:
            continue
        if s > cursor:
            out.append(("unscheduled", None, cursor, s))
        out.append((w.label, w.shift, s, e))
        cursor = e
    if cursor < end_ms:
        out.append(("unscheduled", None, cursor, end_ms))
    return out


def _figures(el: OeeElements) -> dict[str, Any]:
    k = kpis(el)
    return {"availability": k.availability, "effectiveness": k.effectiveness, "quality": k.quality,
            "oee": k.oee, "elements": el}


def _row(equipment: str, interval: _Open, end_ms: int | None) -> dict[str, Any]:
    return {"equipment": equipment, "state": interval.state, "reason": interval.reason,
            "start_ms": interval.start_ms, "end_ms": end_ms,
            "seen_ms": interval.start_ms if end_ms is None else end_ms, "shift": interval.shift,
            "closed_on_restart": False}


def _within(path: str, scope: str) -> bool:
    return path == scope or path.startswith(scope + "/")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
