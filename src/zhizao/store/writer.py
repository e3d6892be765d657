"""The historian writer: every tag value on the bus goes into the historian, in batches.

Messages on ``<tag path>`` carry ``{"ts", "v", "q"}`` or a list of them; topics under
``_events/`` are plant events, not tag data, and are skipped, as are values published
with ``origin="historian"`` (already stored by whoever published them) or ``origin="ingest"``
(spooled by the ingest service, stored by its forwarder). Points are written
every ``flush_interval`` seconds or as soon as ``batch_size`` are queued, in a
worker thread so the event loop never waits on DuckDB. Retention (rollups and
drops) runs every ``retention_every_s`` seconds on the platform clock's "now".

With a ``fallback`` (the ingest service), a batch the historian cannot take (it raises,
e.g. ``HistorianUnavailable``) is spooled instead and forwarded when the historian is
back; while the forwarder reports the historian down, batches go to the spool directly.
Only if the spool refuses too are the points lost (counted in ``write_errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from zhizao.store.historian import REJECT_REASONS, Point, WriteResult

if TYPE_CHECKING:
    from zhizao.bus import Message, Subscription
    from zhizao.core.context import Context

log = logging.getLogger(__name__)

EVENTS_PREFIX = "_events/"
LAST_REJECTIONS = 100
STORED_ORIGINS = ("historian", "ingest")  # values stored by someone else


class Fallback(Protocol):
    """Where batches go when the historian fails (``zhizao.connect.ingest.Ingest``)."""

    @property
    def historian_available(self) -> bool: ...

    def store_later(self, points: Sequence[Point | dict], source: str) -> WriteResult: ...


class HistorianWriter:
    def __init__(self, ctx: Context, *, flush_interval: float = 0.2, batch_size: int = 10_000,
                 retention_every_s: float | None = 3600.0, fallback: Fallback | None = None) -> None:
        self.ctx = ctx
        self.fallback = fallback
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.retention_every_s = retention_every_s
        self._sub: Subscription | None = None
        self._task: asyncio.Task | None = None
        self._inflight: asyncio.Future | None = None
        self._flush_lock = asyncio.Lock()
        self._pending: list[Point | dict] = []
        self._last_retention: float | None = None
        self.received = 0  # tag messages taken off the bus
        self.skipped = 0  # _events/ messages and values already stored
        self.points = 0
        self.written = 0
        self.rejected = dict.fromkeys(REJECT_REASONS, 0)
        self.write_errors = 0  # points lost because the historian raised (and the spool refused them)
        self.spooled = 0  # points spooled because the historian was down
        self.flushes = 0
        self.last_rejections: deque[dict] = deque(maxlen=LAST_REJECTIONS)
        self.last_retention: dict[str, int] | None = None

    async def start(self) -> None:
        if self._task is not None:
            return
        self._sub = self.ctx.bus.subscribe("#")
        self._task = asyncio.create_task(self._run(), name="historian-writer")

    async def stop(self) -> None:
        """Stop taking messages and write everything still queued."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._inflight is not None:
            await self._inflight
        await self.flush()
        if self._sub is not None:
            self._sub.close()
            self._sub = None

    async def flush(self) -> None:
        """Write every message queued so far (tests and shutdown use it)."""
        while self._sub is not None:
            room = self.batch_size - len(self._pending)
            if room <= 0:
                await self._write_pending()
                continue
            batch = self._sub.drain(room)
            if not batch:
                break
            for msg in batch:
                self._add(msg)
        await self._write_pending()

    def stats(self) -> dict:
        return {
            "received": self.received,
            "skipped_events": self.skipped,
            "points": self.points,
            "written": self.written,
            "rejected": dict(self.rejected),
            "rejected_total": sum(self.rejected.values()),
            "write_errors": self.write_errors,
            "spooled": self.spooled,
            "bus_dropped": self._sub.dropped if self._sub is not None else 0,
            "queued": (self._sub.queue.qsize() if self._sub is not None else 0) + len(self._pending),
            "flushes": self.flushes,
            "last_retention": self.last_retention,
            "last_rejections": list(self.last_rejections),
        }

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._sub is not None
        while True:
            deadline = loop.time() + self.flush_interval
            while len(self._pending) < self.batch_size:
                try:
                    async with asyncio.timeout_at(deadline):
                        msg = await self._sub.get()
                except TimeoutError:
                    break
                self._add(msg)
                for more in self._sub.drain(self.batch_size - len(self._pending)):
                    self._add(more)
            await self._write_pending()
            if self._retention_due(loop.time()):
                await self._retention()

    def _add(self, msg: Message) -> None:
        topic = msg.topic
        if topic.startswith(EVENTS_PREFIX) or msg.origin in STORED_ORIGINS:
            self.skipped += 1
            return
        self.received += 1
        payload = msg.payload
        items = payload if isinstance(payload, list) else [payload]
        for i, item in enumerate(items):
            self.points += 1
            if not isinstance(item, dict):
                self._reject(topic, i, f"payload: expected an object with ts, v, q (or a list of them), "
                                       f"got {type(item).__name__}")
                continue
            try:
                self._pending.append(Point(topic, item["ts"], item["v"], item.get("q", "good")))
            except KeyError:
                # Let the historian name the missing keys, so all rejections read alike.
                self._pending.append({**item, "tag": topic})

    def _reject(self, tag: str, index: int, detail: str) -> None:
        self.rejected["malformed"] += 1
        self.last_rejections.append({"index": index, "tag": tag, "reason": "malformed", "detail": detail})

    async def _write_pending(self) -> None:
        async with self._flush_lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            # Shielded: if the writer is cancelled mid-write, the write still completes and is counted.
            self._inflight = asyncio.ensure_future(asyncio.to_thread(self._write, batch))
            try:
                await asyncio.shield(self._inflight)
            finally:
                if self._inflight.done():
                    self._inflight = None

    def _write(self, batch: list[Point | dict]) -> None:
        fallback = self.fallback
        try:
            if fallback is not None and not fallback.historian_available:
                result = self._spool(batch, fallback)
            else:
                try:
                    result = self.ctx.historian.write(batch)
                except Exception as exc:
                    if fallback is None:
                        raise
                    log.warning("historian write of %d points failed (%s): spooling them", len(batch), exc)
                    result = self._spool(batch, fallback)
        except Exception:
            self.write_errors += len(batch)
            log.exception("historian write of %d points failed", len(batch))
            return
        self.flushes += 1
        self.written += result.accepted
        for r in result.rejected:
            self.rejected[r.reason] += 1
        for r in result.rejected[-LAST_REJECTIONS:]:
            self.last_rejections.append({"index": r.index, "tag": r.tag, "reason": r.reason,
                                         "detail": r.detail})

    def _spool(self, batch: list[Point | dict], fallback: Fallback) -> WriteResult:
        result = fallback.store_later(batch, "historian_writer")
        self.spooled += result.accepted
        return result

    def _retention_due(self, now: float) -> bool:
        if self.retention_every_s is None:
            return False
        if self._last_retention is not None and now - self._last_retention < self.retention_every_s:
            return False
        self._last_retention = now
        return True

    async def _retention(self) -> None:
        try:
            self.last_retention = await asyncio.to_thread(self.ctx.historian.apply_retention,
                                                          self.ctx.clock.now_ms())
        except Exception:
            log.exception("historian retention failed")
