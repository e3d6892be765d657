"""The one way points enter the platform from connectors (and ``POST /api/tags/data``).

``submit(points, source)``:

1. names: a point names its tag by UNS path, or by the ``source.address`` of a tag bound
   to the submitting source. Unknown names are rejected (``unknown_tag``), or, with
   ``auto_create_tags`` on, become tags (see ``_create``);
2. validation with the historian's own rules (``check_points``: type, finite value,
   timestamp, quality), so points accepted here are accepted when forwarded;
3. the accepted points are appended to the store-and-forward spool (durable on return);
4. they are published on the bus with ``origin="ingest"`` for live consumers (console,
   alarms); the historian writer skips them, the forwarder stores them.

When ``submit`` returns, accepted points are durable: connectors acknowledge their source
only then. If the spool is full, ``submit`` raises ``SpoolFull`` and nothing of the batch
is accepted: do not acknowledge, send again later.

Rejected points become dead letters with their cause. Counts per (source, cause) are exact
(kept in memory, persisted every few seconds); stored rows are limited to
``dead_letter_rows_per_minute`` per (source, cause), so a flood of garbage cannot fill the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from zhizao.assets.model import (
    BUILTIN_SOURCES,
    ID_PATTERN,
    Area,
    Cell,
    Equipment,
    Line,
    Plant,
    Site,
    Source,
    Tag,
    Text,
)
from zhizao.connect.model import MAX_PAYLOAD_CHARS, DeadLetter, DeadLetterCount
from zhizao.core.context import Context
from zhizao.core.i18n import t
from zhizao.store.duckdb_historian import BOOL, DAY_MS, INT, KINDS, QUALITY_NAMES, check_points
from zhizao.store.forwarder import Forwarder
from zhizao.store.historian import Point, Rejection, WriteResult
from zhizao.store.spool import Spool, SpoolFull

log = logging.getLogger(__name__)

COUNTS_EVERY_S = 5.0  # how often dead-letter counts are persisted
UNS_LEVELS = 7
MAX_NAME_CHARS = 256
AUTO_PARAM = "auto_created_by"  # source.params key of auto-created tags: the source that sent the name
_ID = re.compile(ID_PATTERN)
_NOT_ID = re.compile(r"[^a-z0-9_-]+")


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    spool_id: int | None = None  # the spooled batch holding the accepted points


def _excerpt(payload: Any) -> Any:
    if payload is None:
        return None
    if isinstance(payload, bytes):
        payload = payload[:MAX_PAYLOAD_CHARS].decode("utf-8", "replace")
    if isinstance(payload, str):
        return payload[:MAX_PAYLOAD_CHARS]
    text = repr(payload)
    return payload if len(text) <= MAX_PAYLOAD_CHARS else text[:MAX_PAYLOAD_CHARS]


def _as_dict(p: Any) -> Any:
    return {"tag": p.tag, "ts": p.ts, "v": p.v, "q": p.q} if isinstance(p, Point) else p


def _tag_of(p: Any) -> Any:
    if isinstance(p, Point):
        return p.tag
    return p.get("tag") if isinstance(p, dict) else None


def _slug(text: str) -> str:
    return _NOT_ID.sub("_", text.lower()).strip("_")


def _infer_type(v: Any) -> str | None:
    """The data type of an auto-created tag: numbers become float (an int first, a float later is common)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, int | float) and math.isfinite(v):
        return "float"
    return None


def _text(key: str, **params: object) -> Text:
    return Text(en=t(key, "en", **params), zh=t(key, "zh-CN", **params))


class Ingest:
    """Service ``ingest``: validated, durable entry of points; runs the spool's forwarder."""

    def __init__(self, ctx: Context, spool: Spool | None = None) -> None:
        self.ctx = ctx
        s = ctx.settings
        self.spool = spool or Spool(s.spool_path, max_bytes=int(s.spool_max_mb * 2**20), sync=s.spool_sync)
        self.forwarder = Forwarder(ctx, self.spool, on_rejected=self._forward_rejected,
                                   before_write=self._register_created)
        self.counters: Counter[tuple[str, str]] = Counter()  # (source, cause) -> n, exact
        self.suppressed: Counter[tuple[str, str]] = Counter()  # counted, row not stored (rate limit)
        self.accepted: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # points refused because the spool was full
        self.auto_created: list[str] = []
        self._lock = threading.RLock()  # counters, rate windows, the tag index, auto-creation
        self._windows: dict[tuple[str, str], list[int]] = {}  # (source, cause) -> [minute, rows stored]
        self._dirty: set[tuple[str, str]] = set()
        self._last_ms: dict[tuple[str, str], int] = {}
        self._plant: Plant | None = None
        self._writable: dict[str, tuple[int, int]] = {}
        self._paths: list[str] = []
        self._kinds: list[int] = []
        self._aliases: dict[tuple[str, str], str] = {}
        self._unregistered = False  # auto-created tags the historian has not taken yet (it was down)
        self._counts_task: asyncio.Task | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self._load_counts)
        await self.forwarder.start()
        self._counts_task = asyncio.create_task(self._persist_periodically(), name="dead-letter-counts")

    async def stop(self) -> None:
        if self._counts_task is not None:
            self._counts_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._counts_task
            self._counts_task = None
        await self.forwarder.stop()
        await asyncio.to_thread(self._persist_counts)
        self.spool.close()

    # -- points in ------------------------------------------------------------------------

    async def submit(self, points: Sequence[Point | dict], source: str) -> IngestResult:
        if not points:
            return IngestResult()
        accepted, rejected, spool_id, created = await asyncio.to_thread(self._accept, points, source)
        bus = self.ctx.bus
        for p in accepted:
            if bus.has_listeners(p.tag):
                bus.publish(p.tag, {"ts": p.ts, "v": p.v, "q": p.q}, origin="ingest")
        if created:
            self.ctx.bus.publish("_events/plant/changed", {"ts": self.ctx.clock.now_ms(),
                                                           "tags": len(self._paths), "auto_created": created})
        return IngestResult(len(accepted), rejected, spool_id)

    async def wait_stored(self, result: IngestResult, timeout: float = 10.0) -> bool:
        """Wait until a submitted batch is in the historian (read-your-writes for the API).

        Returns False at once while the historian is down: the batch is safe in the spool."""
        if result.spool_id is None:
            return True
        return await self.forwarder.wait_forwarded(result.spool_id, timeout)

    @property
    def historian_available(self) -> bool:
        return self.forwarder.available

    def store_later(self, points: Sequence[Point | dict], source: str) -> WriteResult:
        """Validate and spool points for the forwarder, without publishing them: the historian
        writer's fallback when a direct write fails. Raises ``SpoolFull``."""
        valid, rejected = self._check(points)
        if valid:
            self.spool.append(valid, source)
        return WriteResult(len(valid), rejected)

    def _accept(self, points: Sequence[Point | dict], source: str
                ) -> tuple[list[Point], list[Rejection], int | None, list[str]]:
        named, not_created, created = self._resolve_names(points, source)
        valid, rejected = self._check(named)
        if not_created:
            for r in rejected:
                why = not_created.get(r.tag) if r.reason == "unknown_tag" else None
                if why:
                    r.detail = f"{r.detail}; not auto-created: {why}"
        spool_id = None
        if valid:
            try:
                spool_id = self.spool.append(valid, source)
            except Exception:
                with self._lock:
                    self.refused[source] += len(valid)
                raise
        with self._lock:
            self.accepted[source] += len(valid)
        if rejected:
            self._record(source, points, rejected)
        return valid, rejected, spool_id, created

    def _check(self, points: Sequence[Point | dict]) -> tuple[list[Point], list[Rejection]]:
        with self._lock:
            self._refresh_index()
            writable, paths, kinds = self._writable, self._paths, self._kinds
        c = check_points(points, writable, self.ctx.clock.now_ms() + DAY_MS)
        qn = QUALITY_NAMES
        valid = []
        for i, ts, v, q in zip(c.ids, c.ts, c.v, c.q, strict=True):
            kind = kinds[i]
            valid.append(Point(paths[i], ts, int(v) if kind == INT else bool(v) if kind == BOOL else v, qn[q]))
        valid.extend(Point(paths[i], ts, s, qn[q]) for i, ts, s, q in c.strings)
        return valid, c.rejected

    # -- tag names and auto-creation -----------------------------------------------------

    def _refresh_index(self) -> None:
        plant = self.ctx.plant
        if plant is self._plant:
            return
        tags = plant.tags()
        self._paths = [tag.path for tag in tags]
        self._kinds = [KINDS[tag.data_type] for tag in tags]
        self._writable = {path: (i, kind) for i, (path, kind) in enumerate(zip(self._paths, self._kinds,
                                                                                strict=True))}
        self._aliases = {(str(tag.source.params.get(AUTO_PARAM, tag.source.connector)), tag.source.address): tag.path
                         for tag in tags if tag.source.address and tag.source.address != tag.path}
        self._plant = plant

    def _resolve_names(self, points: Sequence[Point | dict], source: str
                       ) -> tuple[Sequence[Point | dict], dict[str, str], list[str]]:
        """Points with names mapped to tag paths; why names were not auto-created; the tags created."""
        with self._lock:
            self._refresh_index()
            writable = self._writable
            unknown: dict[str, int] = {}
            for i, p in enumerate(points):
                name = _tag_of(p)
                if type(name) is str and name not in writable and name not in unknown:
                    unknown[name] = i
            if not unknown:
                return points, {}, []
            mapping: dict[str, str] = {}
            not_created: dict[str, str] = {}
            created: list[str] = []
            for name in unknown:
                path = self._aliases.get((source, name))
                if path is None and self.ctx.settings.auto_create_tags:
                    path, why = self._create(name, source, points, taken=set(created))
                    if path is None:
                        not_created[name] = why
                    else:
                        created.append(path)
                if path is not None:
                    mapping[name] = path
            if created:
                self._plant = None  # rebuild the index with the new tags
                self._refresh_index()
                self._unregistered = True
                try:
                    self._register_created()
                except Exception as exc:  # e.g. HistorianUnavailable: the forwarder registers them first
                    log.warning("registering auto-created tags with the historian failed: %s", exc)
        if not mapping:
            return points, not_created, created
        out: list[Point | dict] = []
        for p in points:
            path = mapping.get(_tag_of(p))  # type: ignore[arg-type]
            if path is None:
                out.append(p)
            elif isinstance(p, Point):
                out.append(Point(path, p.ts, p.v, p.q))
            else:
                out.append({**p, "tag": path})  # type: ignore[dict-item]
        return out, not_created, created

    def _create(self, name: str, source: str, points: Sequence[Point | dict],
                taken: set[str]) -> tuple[str | None, str]:
        """Create the tag for an unknown name: (its path, "") or (None, why not).

        A UNS path of this plant's enterprise (7 levels of ``[a-z0-9_-]``) is created where it
        says, with any missing site, area, line, cell and equipment. Any other name (an MQTT
        topic, a node id) is placed under ``<enterprise>/<first site>/auto/<source>/auto/
        <source>_<name prefix>/<name tail>`` and keeps the name as its ``source.address``, so
        later points with that name find it. The data type comes from the first usable value:
        bool, string, or float for numbers. ``source.connector`` is the submitting source when
        it is a connector of the plant (or ``api``), else ``api`` (e.g. a file import), and
        ``source.params.auto_created_by`` names the source, so the plant stays valid.
        """
        plant = self.ctx.plant
        if len(self.auto_created) >= self.ctx.settings.auto_create_max_tags:
            return None, f"the limit of {self.ctx.settings.auto_create_max_tags} auto-created tags is reached"
        if len(name) > MAX_NAME_CHARS:
            return None, f"the name is longer than {MAX_NAME_CHARS} characters"
        data_type = next((dt for p in points if _tag_of(p) == name
                          and (dt := _infer_type(p.v if isinstance(p, Point) else p.get("v"))) is not None), None)
        if data_type is None:
            return None, "no value of a known type (number, bool, string) to infer its data type from"
        src = _slug(source) or "unknown"
        levels = name.split("/")
        uns = len(levels) == UNS_LEVELS and all(_ID.match(x) for x in levels)
        if uns and levels[0] == plant.enterprise.id:
            address = None
        else:
            parts = [x for x in (_slug(x) for x in levels) if x]
            if not parts:
                return None, "no letters or digits to make a tag id from"
            site = plant.enterprise.sites[0].id if plant.enterprise.sites else "auto"
            levels = [plant.enterprise.id, site, "auto", src, "auto", "_".join([src, *parts[:-1]]), parts[-1]]
            address = name
        path = "/".join(levels)
        if path in self._writable or path in taken:
            return None, f"its tag path {path!r} is already bound to another address"
        eq_path = "/".join(levels[:6])
        other = next((e.path for *_, e in plant.iter_equipment() if e.id == levels[5] and e.path != eq_path), None)
        if other is not None:
            return None, f"equipment id {levels[5]!r} is already used at {other!r}"
        eq = self._equipment(plant, levels, source)
        connectors = {c.name for c in plant.connectors} | set(BUILTIN_SOURCES)
        tag = Tag(id=levels[6], data_type=data_type,  # type: ignore[arg-type]
                  description=_text("ingest.auto.tag", source=source),
                  source=Source(connector=source if source in connectors else "api", address=address,
                                params={AUTO_PARAM: source}))
        tag.path = path
        eq.tags.append(tag)
        if eq._all_tags:  # template tags expanded: the new tag joins them
            eq._all_tags.append(tag)
        self.auto_created.append(path)
        log.info("auto-created tag %s (%s) from source %s", path, data_type, source)
        return path, ""

    def _register_created(self) -> None:
        """Declare auto-created tags to the historian (before points of them are forwarded)."""
        with self._lock:
            if self._unregistered:
                self.ctx.historian.register_tags(self.ctx.plant.tags())
                self._unregistered = False

    @staticmethod
    def _equipment(plant: Plant, levels: list[str], source: str) -> Equipment:
        """The equipment at ``levels[:6]``, created with its missing parents."""
        _, site_id, area_id, line_id, cell_id, eq_id, _ = levels

        def child(items: list, cls: type, item_id: str, name: Text) -> Any:
            item = next((x for x in items if x.id == item_id), None)
            if item is None:
                item = cls(id=item_id, name=name)
                items.append(item)
            return item

        auto = levels[2] == "auto" and levels[4] == "auto"
        site = child(plant.enterprise.sites, Site, site_id, _text("ingest.auto.site"))
        area = child(site.areas, Area, area_id, _text("ingest.auto.area") if auto else Text(en=area_id, zh=area_id))
        line = child(area.lines, Line, line_id,
                     _text("ingest.auto.line", source=source) if auto else Text(en=line_id, zh=line_id))
        cell = child(line.cells, Cell, cell_id, _text("ingest.auto.cell") if auto else Text(en=cell_id, zh=cell_id))
        eq = child(cell.equipment, Equipment, eq_id, _text("ingest.auto.equipment", name=eq_id))
        eq.path = "/".join(levels[:6])
        return eq

    # -- dead letters ---------------------------------------------------------------------

    def _record(self, source: str, points: Sequence[Any], rejected: Sequence[Rejection],
                prefix: str = "") -> None:
        now = int(time.time() * 1000)
        minute = now // 60_000
        limit = self.ctx.settings.dead_letter_rows_per_minute
        rows: list[DeadLetter] = []
        with self._lock:
            for r in rejected:
                key = (source, r.reason)
                self.counters[key] += 1
                self._dirty.add(key)
                self._last_ms[key] = now
                window = self._windows.get(key)
                if window is None or window[0] != minute:
                    window = self._windows[key] = [minute, 0]
                if window[1] >= limit:
                    self.suppressed[key] += 1
                    continue
                window[1] += 1
                rows.append(DeadLetter(ts_ms=now, source=source, cause=r.reason, detail=prefix + r.detail,
                                       tag=r.tag or None, payload=_excerpt(_as_dict(points[r.index]))))
        if rows:
            with self.ctx.db.session() as s:
                s.add_all(rows)

    def _forward_rejected(self, source: str, points: list[Point], rejected: list[Rejection]) -> None:
        self._record(source, points, rejected, prefix="on forwarding to the historian: ")

    async def dead_letter(self, source: str, cause: str, detail: str, payload: Any = None,
                          tag: str | None = None) -> None:
        """Record input rejected before it became points (malformed JSON, a Modbus exception...)."""
        await asyncio.to_thread(self._record, source, [payload], [Rejection(0, tag or "", cause, detail)])

    def dead_letters(self, source: str | None = None, cause: str | None = None, limit: int = 200) -> list[dict]:
        with self.ctx.db.session() as s:
            q = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
            if source:
                q = q.where(DeadLetter.source == source)
            if cause:
                q = q.where(DeadLetter.cause == cause)
            return [{"id": d.id, "ts": d.ts_ms, "source": d.source, "cause": d.cause, "detail": d.detail,
                     "tag": d.tag, "payload": d.payload} for d in s.scalars(q)]

    def dead_letter_counts(self) -> list[dict]:
        """Exact counts per source and cause (survive restarts), with the rows kept of each."""
        with self.ctx.db.session() as s:
            stored = {(src, cause): n for src, cause, n in s.execute(
                select(DeadLetter.source, DeadLetter.cause, func.count())
                .group_by(DeadLetter.source, DeadLetter.cause))}
        with self._lock:
            counts = dict(self.counters)
        return [{"source": src, "cause": cause, "count": n, "stored": stored.get((src, cause), 0)}
                for (src, cause), n in sorted(counts.items())]

    def _load_counts(self) -> None:
        with self.ctx.db.session() as s:
            rows = s.execute(select(DeadLetterCount.source, DeadLetterCount.cause, DeadLetterCount.count,
                                    DeadLetterCount.last_ms)).all()
            if not rows:  # a data folder from before the counts were kept: count the rows
                rows = s.execute(select(DeadLetter.source, DeadLetter.cause, func.count(), func.max(DeadLetter.ts_ms))
                                 .group_by(DeadLetter.source, DeadLetter.cause)).all()
                self._dirty.update((src, cause) for src, cause, _, _ in rows)
        with self._lock:
            for src, cause, n, last in rows:
                self.counters[(src, cause)] += n
                self._last_ms[(src, cause)] = last

    def _persist_counts(self) -> None:
        with self._lock:
            dirty = [(key, self.counters[key], self._last_ms[key]) for key in self._dirty]
            self._dirty.clear()
        if not dirty:
            return
        try:
            with self.ctx.db.session() as s:
                for (src, cause), n, last in dirty:
                    s.merge(DeadLetterCount(source=src, cause=cause, count=n, last_ms=last))
        except Exception:
            with self._lock:
                self._dirty.update(key for key, _, _ in dirty)
            raise

    async def _persist_periodically(self) -> None:
        while True:
            await asyncio.sleep(COUNTS_EVERY_S)
            try:
                await asyncio.to_thread(self._persist_counts)
            except Exception:
                log.exception("persisting dead-letter counts failed")

    # -- status ---------------------------------------------------------------------------

    def status(self, lang: str = "en") -> dict:
        spool = self.spool.stats()
        forwarder = self.forwarder.stats()
        notice = None
        if spool["full"]:
            notice = t("ingest.notice.spool_full", lang)
        elif not forwarder["available"]:
            notice = t("ingest.notice.historian_down", lang)
        with self._lock:
            counts = [{"source": src, "cause": cause, "count": n, "suppressed": self.suppressed[(src, cause)]}
                      for (src, cause), n in sorted(self.counters.items())]
            accepted, refused = dict(self.accepted), dict(self.refused)
        return {
            "notice": notice,
            "accepted": accepted,
            "refused": refused,
            "spool": spool,
            "forwarder": forwarder,
            "dead_letters": counts,
            "auto_create": {"enabled": self.ctx.settings.auto_create_tags,
                            "max_tags": self.ctx.settings.auto_create_max_tags,
                            "created": len(self.auto_created), "last": self.auto_created[-20:]},
        }


__all__ = ["Ingest", "IngestResult", "SpoolFull"]
