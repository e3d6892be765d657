"""Service ``forwarder``: drains the spool, in order, into the historian.

A worker thread takes the oldest spooled batches (several at once, up to
``batch_points``), writes them with one ``historian.write`` and then acknowledges
them in the spool. When the write raises (``HistorianUnavailable``, a lost
connection, any error) the batches stay in the spool and the write is retried
after an exponential back-off (``backoff_initial`` doubling up to ``backoff_max``);
nothing is skipped, so order is kept and an acknowledged point is never lost.

Delivery guarantee. A crash between the historian's commit and the spool's ack
would replay those batches. Historians with ``write_marked``/``mark`` (the DuckDB
historian) store the last forwarded spool id in the same transaction as the points;
on start the forwarder acknowledges everything up to that mark, so replays never
store a point twice: exactly once. Other historians get the plain ``write`` and must
de-duplicate themselves (PostgreSQL: UNIQUE(tag, ts)): at least once, with identical
replays collapsed.

Points the historian rejects on forwarding (ingest validated them, but e.g. the tag
was removed from the plant since) are passed to ``on_rejected`` (the ingest
service's dead letters) and counted; they are not retried.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zhizao.store.historian import HistorianUnavailable, Point, Rejection
from zhizao.store.spool import Spool, SpooledBatch

if TYPE_CHECKING:
    from zhizao.core.context import Context

log = logging.getLogger(__name__)

# (source, points of one batch, the historian's rejections with indexes into those points)
RejectedHandler = Callable[[str, list[Point], list[Rejection]], None]


class Forwarder:
    def __init__(self, ctx: Context, spool: Spool, *, batch_points: int = 50_000, backoff_initial: float = 0.2,
                 backoff_max: float = 30.0, drain_on_stop_s: float = 5.0,
                 on_rejected: RejectedHandler | None = None,
                 before_write: Callable[[], None] | None = None) -> None:
        self.ctx = ctx
        self.spool = spool
        self.batch_points = batch_points
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.drain_on_stop_s = drain_on_stop_s
        self.on_rejected = on_rejected
        self.before_write = before_write  # e.g. register tags created while the historian was down
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: list[tuple[int, asyncio.Future]] = []
        self.forwarded_id = 0  # every batch with an id <= this is in the historian
        self.state = "stopped"  # idle | forwarding | retrying | stopped
        self.writes = 0  # successful historian writes (each takes one or more spooled batches)
        self.forwarded_batches = 0
        self.forwarded_points = 0
        self.rejected_points = 0
        self.retries = 0  # writes attempted again after a failure
        self.failures = 0  # consecutive failed writes
        self.backoff_s = 0.0
        self.last_error: str | None = None
        self.last_error_ms: int | None = None
        self.last_forward_ms: int | None = None
        self.replays_skipped = 0  # batches found already stored (the historian's mark) on start
        self._mark_checked = False

    @property
    def available(self) -> bool:
        """False while writes fail and the forwarder is backing off."""
        return self.failures == 0

    async def start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._mark_checked = False
        self._stop.clear()
        self.state = "idle"
        self._thread = threading.Thread(target=self._run, name="spool-forwarder", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Forward what is spooled (for up to ``drain_on_stop_s`` while the historian takes it), then stop."""
        if self._thread is None:
            return
        self._stop.set()
        self.spool.appended.set()
        await asyncio.to_thread(self._thread.join)
        self._thread = None
        self.state = "stopped"
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_result(False)
        self._waiters.clear()

    def _marked(self) -> bool:
        return hasattr(self.ctx.historian, "write_marked") and hasattr(self.ctx.historian, "mark")

    def _mark_key(self) -> str:
        return f"spool:{self.spool.uid}"

    def _skip_stored(self) -> None:
        """Acknowledge batches the historian already holds (stored, then the process died before the ack)."""
        if self._marked():
            mark = self.ctx.historian.mark(self._mark_key())  # type: ignore[attr-defined]
            if mark:
                self.replays_skipped += self.spool.ack(mark)
                self.forwarded_id = mark
        self._mark_checked = True

    # -- the worker thread --------------------------------------------------------------

    def _run(self) -> None:
        drain_until: float | None = None
        while True:
            if self._stop.is_set():
                drain_until = drain_until or time.monotonic() + self.drain_on_stop_s
                if self.failures or time.monotonic() > drain_until:
                    return
            self.spool.appended.clear()
            batches = self.spool.peek(1000, self.batch_points)
            if not batches:
                if self._stop.is_set():
                    return
                self.state = "idle"
                self.spool.appended.wait(1.0)
                continue
            self.state = "forwarding" if not self.failures else "retrying"
            if self._forward(batches):
                continue
            # Back off; stop() interrupts the wait.
            self.backoff_s = min(self.backoff_max, self.backoff_initial * 2 ** (self.failures - 1))
            self._stop.wait(self.backoff_s)

    def _forward(self, batches: list[SpooledBatch]) -> bool:
        """One attempt; False if it failed (the batches stay in the spool)."""
        historian: Any = self.ctx.historian
        if self.failures:
            self.retries += 1
        try:
            if not self._mark_checked:
                self._skip_stored()
                batches = [b for b in batches if b.id > self.forwarded_id]
                if not batches:  # all of them were stored before the restart
                    self.failures = 0
                    self._notify()
                    return True
            if self.before_write is not None:
                self.before_write()
            points = [p for b in batches for p in b.points]
            last = batches[-1].id
            if self._marked():
                # Only checked points are spooled: the historian may skip repeating the checks.
                result = historian.write_marked(points, self._mark_key(), last, prechecked=True)
            else:
                result = historian.write(points)
        except Exception as exc:
            self.state = "retrying"
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.last_error_ms = int(time.time() * 1000)
            self.failures += 1
            if isinstance(exc, HistorianUnavailable):
                log.warning("historian unavailable, %d spooled batches wait: %s", len(self.spool), exc)
            else:
                log.exception("forwarding %d spooled batches failed; retrying", len(batches))
            self._notify()  # waiters stop waiting: their batches are safe in the spool
            return False
        self.spool.ack(last)
        if self.failures:
            log.info("historian back: forwarding resumed after %d failed attempts", self.failures)
        self.failures = 0
        self.backoff_s = 0.0
        self.writes += 1
        self.forwarded_batches += len(batches)
        self.forwarded_points += result.accepted
        self.last_forward_ms = int(time.time() * 1000)
        if result.rejected:
            self.rejected_points += len(result.rejected)
            self._report_rejected(batches, result.rejected)
        self.forwarded_id = last
        self._notify()
        return True

    def _notify(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._wake_waiters)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def _report_rejected(self, batches: list[SpooledBatch], rejected: list[Rejection]) -> None:
        if self.on_rejected is None:
            log.warning("historian rejected %d forwarded points", len(rejected))
            return
        start = 0
        todo = sorted(rejected, key=lambda r: r.index)
        k = 0
        for b in batches:
            end = start + len(b.points)
            mine = []
            while k < len(todo) and todo[k].index < end:
                r = todo[k]
                mine.append(Rejection(r.index - start, r.tag, r.reason, r.detail))
                k += 1
            if mine:
                try:
                    self.on_rejected(b.source, b.points, mine)
                except Exception:
                    log.exception("recording %d rejected forwarded points failed", len(mine))
            start = end

    # -- waiting for forwarding (event loop side) ----------------------------------------

    def _wake_waiters(self) -> None:
        """Resolve the waiters whose batch is forwarded (True), or all of them while writes fail (False)."""
        keep = []
        for spool_id, fut in self._waiters:
            if spool_id <= self.forwarded_id or self.failures:
                if not fut.done():
                    fut.set_result(spool_id <= self.forwarded_id)
            else:
                keep.append((spool_id, fut))
        self._waiters = keep

    async def wait_forwarded(self, spool_id: int, timeout: float) -> bool:
        """Wait until batch ``spool_id`` is in the historian; False on timeout or while the historian is down."""
        if spool_id <= self.forwarded_id:
            return True
        if not self.available or self._thread is None:
            return False
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((spool_id, fut))
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return False
        finally:
            self._waiters = [(i, f) for i, f in self._waiters if f is not fut]

    def stats(self) -> dict:
        return {
            "state": self.state,
            "available": self.available,
            "exactly_once": self._marked(),
            "writes": self.writes,
            "forwarded_batches": self.forwarded_batches,
            "forwarded_points": self.forwarded_points,
            "forwarded_id": self.forwarded_id,
            "rejected_points": self.rejected_points,
            "retries": self.retries,
            "failures": self.failures,
            "backoff_s": self.backoff_s,
            "last_error": self.last_error,
            "last_error_ms": self.last_error_ms,
            "last_forward_ms": self.last_forward_ms,
            "replays_skipped": self.replays_skipped,
        }
