"""Store-and-forward spool: a durable FIFO of point batches on local disk.

One SQLite file in WAL mode (``<data>/spool.sqlite``), one row per batch: id, created
(epoch ms), source, number of points and the points encoded as compact columnar JSON
(tag dictionary, tag index, ts, v, quality codes; JSON keeps bool, int, float and str
apart exactly). ``append`` returns the batch id only after the commit, so an appended
batch survives the process being killed (and, with ``sync="full"``, a power cut).

Concurrent appends are group-committed: the first caller commits every batch queued
meanwhile in one transaction, the others wait for it, so many small appends share a
sync. Ids grow and are never reused (AUTOINCREMENT); each spool file has a random
``uid`` so that a forwarded-watermark kept elsewhere cannot be mistaken for another
spool's. When the spool is full, ``append`` raises ``SpoolFull``: the input is refused
(sources are not acknowledged and keep it), nothing acknowledged is ever dropped.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from zhizao.store.historian import Point

QUALITY_CODES = {"good": 0, "uncertain": 1, "bad": 2}
QUALITY_NAMES = ("good", "uncertain", "bad")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY AUTOINCREMENT, created INTEGER NOT NULL,
                                    source TEXT NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SpoolFull(Exception):
    """The spool has reached its size limit; the input is refused (not acknowledged)."""


@dataclass(slots=True)
class SpooledBatch:
    id: int
    created_ms: int
    source: str
    points: list[Point]


def encode(points: Sequence[Point]) -> bytes:
    tags: dict[str, int] = {}
    idx = [tags.setdefault(p.tag, len(tags)) for p in points]
    doc: dict = {"t": list(tags), "i": idx, "ts": [p.ts for p in points], "v": [p.v for p in points]}
    q = [QUALITY_CODES[p.q] for p in points]
    if any(q):
        doc["q"] = q
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def decode(data: bytes) -> list[Point]:
    doc = json.loads(data)
    tags = doc["t"]
    q = doc.get("q")
    if q is None:
        return [Point(tags[i], ts, v) for i, ts, v in zip(doc["i"], doc["ts"], doc["v"], strict=True)]
    return [Point(tags[i], ts, v, QUALITY_NAMES[c]) for i, ts, v, c in zip(doc["i"], doc["ts"], doc["v"], q,
                                                                              strict=True)]


class _Pending:
    __slots__ = ("source", "n", "data", "id", "error")

    def __init__(self, source: str, n: int, data: bytes) -> None:
        self.source, self.n, self.data = source, n, data
        self.id: int | None = None
        self.error: BaseException | None = None


class Spool:
    def __init__(self, path: str | Path, *, max_bytes: int = 1 << 30,
                 sync: Literal["full", "normal"] = "full") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._w = self._connect(sync)  # appends and acks, one at a time (``_committing``)
        self._r = self._connect(sync)  # peeks and stats, never blocked by a commit (WAL)
        self._w.executescript(_SCHEMA)
        row = self._w.execute("SELECT value FROM meta WHERE key = 'uid'").fetchone()
        if row is None:
            self._w.execute("INSERT INTO meta VALUES ('uid', ?)", (uuid.uuid4().hex,))
            row = self._w.execute("SELECT value FROM meta WHERE key = 'uid'").fetchone()
        self.uid: str = row[0]
        batches, points, size = self._w.execute(
            "SELECT count(*), coalesce(sum(n), 0), coalesce(sum(length(data)), 0) FROM batches").fetchone()
        self._batches, self._points, self._bytes = batches, points, size
        self._queued_bytes = 0
        self._cv = threading.Condition()
        self._queue: list[_Pending] = []
        self._committing = False
        self._r_lock = threading.Lock()
        self._closed = False
        self.appended = threading.Event()  # set after every commit: wakes the forwarder
        self.appends = 0
        self.commits = 0
        self.refused = 0  # appends refused because the spool was full
        self._full = False  # the last append was refused, and nothing was acknowledged since

    def _connect(self, sync: str) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
        return con

    # -- writing ------------------------------------------------------------------------

    def append(self, points: Sequence[Point], source: str = "") -> int:
        """Store a batch durably and return its id (``SpoolFull`` when there is no room)."""
        if not points:
            raise ValueError("points: an empty batch cannot be spooled")
        entry = _Pending(source, len(points), encode(points))
        size = len(entry.data)
        with self._cv:
            if self._closed:
                raise RuntimeError("spool is closed")
            if self._bytes + self._queued_bytes + size > self.max_bytes:
                self.refused += 1
                self._full = True
                raise SpoolFull(
                    f"spool: full ({self._bytes + self._queued_bytes} of {self.max_bytes} bytes in "
                    f"{self._batches} batches, oldest {self.oldest_age_s():.0f} s old; the historian is not "
                    f"taking data): the batch of {len(points)} points is refused, send it again later")
            self._queue.append(entry)
            self._queued_bytes += size
            while entry.id is None and entry.error is None:
                if self._committing:
                    self._cv.wait()
                    continue
                # Leader: commit everything queued so far in one transaction.
                self._committing = True
                group, self._queue = self._queue, []
                self._cv.release()
                try:
                    self._commit(group)
                finally:
                    self._cv.acquire()
                    self._committing = False
                    self._queued_bytes -= sum(len(e.data) for e in group)
                    for e in group:
                        if e.id is not None:
                            self._full = False
                            self._batches += 1
                            self._points += e.n
                            self._bytes += len(e.data)
                    self._cv.notify_all()
        if entry.error is not None:
            raise entry.error
        self.appended.set()
        return entry.id  # type: ignore[return-value]

    def _commit(self, group: list[_Pending]) -> None:
        con = self._w
        now = int(time.time() * 1000)
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                ids = [con.execute("INSERT INTO batches (created, source, n, data) VALUES (?, ?, ?, ?)",
                                   (now, e.source, e.n, e.data)).lastrowid for e in group]
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        except BaseException as exc:
            for e in group:  # every caller in the group gets the error, none waits forever
                e.error = exc
            if not isinstance(exc, Exception):
                raise
            return
        for e, i in zip(group, ids, strict=True):
            e.id = i
        self.appends += len(group)
        self.commits += 1

    def ack(self, up_to_id: int) -> int:
        """Remove every batch with id <= ``up_to_id`` (they are stored downstream); returns how many."""
        with self._cv:
            # One writer on the connection at a time: wait for a group commit, keep appends out.
            while self._committing:
                self._cv.wait()
            self._committing = True
        n = points = size = 0
        try:
            con = self._w
            con.execute("BEGIN IMMEDIATE")
            try:
                n, points, size = con.execute(
                    "SELECT count(*), coalesce(sum(n), 0), coalesce(sum(length(data)), 0) FROM batches "
                    "WHERE id <= ?", (up_to_id,)).fetchone()
                if n:
                    con.execute("DELETE FROM batches WHERE id <= ?", (up_to_id,))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                n = points = size = 0
                raise
        finally:
            with self._cv:
                self._committing = False
                self._full = self._full and not n
                self._batches -= n
                self._points -= points
                self._bytes -= size
                self._cv.notify_all()
        return n

    # -- reading ------------------------------------------------------------------------

    def peek(self, n: int = 100, max_points: int | None = None) -> list[SpooledBatch]:
        """The oldest batches, in order: at most ``n``, and (past the first) at most ``max_points`` points."""
        with self._r_lock:
            rows = self._r.execute("SELECT id, created, source, n, data FROM batches ORDER BY id LIMIT ?",
                                   (n,)).fetchall()
        out: list[SpooledBatch] = []
        total = 0
        for i, created, source, count, data in rows:
            if out and max_points is not None and total + count > max_points:
                break
            total += count
            out.append(SpooledBatch(i, created, source, decode(data)))
        return out

    def oldest_age_s(self) -> float:
        with self._r_lock:
            row = self._r.execute("SELECT created FROM batches ORDER BY id LIMIT 1").fetchone()
        return 0.0 if row is None else max(0.0, time.time() - row[0] / 1000)

    def __len__(self) -> int:
        return self._batches

    def stats(self) -> dict:
        with self._r_lock:
            oldest, last = self._r.execute(
                "SELECT (SELECT created FROM batches ORDER BY id LIMIT 1), "
                "(SELECT seq FROM sqlite_sequence WHERE name = 'batches')").fetchone()
        return {
            "batches": self._batches,
            "points": self._points,
            "bytes": self._bytes,
            "max_bytes": self.max_bytes,
            "full": self._full,
            "oldest_ms": oldest,
            "oldest_age_s": 0.0 if oldest is None else round(max(0.0, time.time() - oldest / 1000), 3),
            "last_id": last or 0,
            "appends": self.appends,
            "commits": self.commits,
            "refused": self.refused,
        }

    def close(self) -> None:
        with self._cv:
            while self._committing:
                self._cv.wait()
            if self._closed:
                return
            self._closed = True
        with self._r_lock:
            self._r.close()
        self._w.close()
