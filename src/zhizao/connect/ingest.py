"""The one way points enter the platform from connectors.

``submit`` validates points against the asset model (unknown tags are created only
when auto-create is on), records rejected ones as dead letters counted per cause,
makes accepted ones durable, and publishes them on the bus for live consumers.
When ``submit`` returns, accepted points are durable: connectors acknowledge
their source (MQTT PUBACK, file import progress) only then.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from zhizao.connect.model import MAX_PAYLOAD_CHARS, DeadLetter
from zhizao.core.context import Context
from zhizao.store.historian import Point, Rejection


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def _excerpt(payload: Any) -> Any:
    if payload is None:
        return None
    if isinstance(payload, bytes):
        payload = payload[:MAX_PAYLOAD_CHARS].decode("utf-8", "replace")
    if isinstance(payload, str):
        return payload[:MAX_PAYLOAD_CHARS]
    text = repr(payload)
    return payload if len(text) <= MAX_PAYLOAD_CHARS else text[:MAX_PAYLOAD_CHARS]


class Ingest:
    """Service ``ingest``: validated, durable entry of points from connectors."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.counters: Counter[tuple[str, str]] = Counter()  # (source, cause) -> n
        self.accepted: Counter[str] = Counter()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def submit(self, points: Sequence[Point | dict], source: str) -> IngestResult:
        # Stored before returning: the historian write is the durable step.
        result = await asyncio.to_thread(self.ctx.historian.write, points)
        rejected_at = {r.index for r in result.rejected}
        for i, p in enumerate(points):
            if i in rejected_at:
                continue
            tag, ts, v, q = (p.tag, p.ts, p.v, p.q) if isinstance(p, Point) else (
                p["tag"], p["ts"], p["v"], p.get("q", "good"))
            self.ctx.bus.publish(tag, {"ts": ts, "v": v, "q": q}, origin="historian")
        self.accepted[source] += result.accepted
        if result.rejected:
            await asyncio.to_thread(self._store_rejections, source, points, result.rejected)
        return IngestResult(result.accepted, result.rejected)

    def _store_rejections(self, source: str, points: Sequence[Point | dict], rejected: list[Rejection]) -> None:
        now = int(time.time() * 1000)
        with self.ctx.db.session() as s:
            for r in rejected:
                self.counters[(source, r.reason)] += 1
                p = points[r.index]
                payload = {"tag": p.tag, "ts": p.ts, "v": p.v, "q": p.q} if isinstance(p, Point) else p
                s.add(DeadLetter(ts_ms=now, source=source, cause=r.reason, detail=r.detail, tag=r.tag or None,
                                 payload=_excerpt(payload)))

    async def dead_letter(self, source: str, cause: str, detail: str, payload: Any = None,
                          tag: str | None = None) -> None:
        """Record input rejected before it became points (malformed JSON, a Modbus exception...)."""
        self.counters[(source, cause)] += 1
        row = DeadLetter(ts_ms=int(time.time() * 1000), source=source, cause=cause, detail=detail, tag=tag,
                         payload=_excerpt(payload))

        def store() -> None:
            with self.ctx.db.session() as s:
                s.add(row)

        await asyncio.to_thread(store)

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
        """Counts per source and cause, over everything stored (survives restarts)."""
        with self.ctx.db.session() as s:
            rows = s.execute(select(DeadLetter.source, DeadLetter.cause, func.count())
                             .group_by(DeadLetter.source, DeadLetter.cause))
            return [{"source": src, "cause": cause, "count": n} for src, cause, n in rows]
