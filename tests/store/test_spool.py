"""The store-and-forward spool on a real SQLite file, and the forwarder draining it into DuckDB."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from zhizao.core.clock import FixedClock
from zhizao.store.duckdb_historian import DuckDBHistorian
from zhizao.store.forwarder import Forwarder
from zhizao.store.historian import HistorianUnavailable, Point
from zhizao.store.spool import Spool, SpoolFull

NOW = 1_750_000_020_000
T0 = NOW - 3_600_000
TEMP, COUNT, RUN, STATE = "a/s/r/l/c/m/temp", "a/s/r/l/c/m/count", "a/s/r/l/c/m/run", "a/s/r/l/c/m/state"


def batch(k: int, n: int = 10) -> list[Point]:
    return [Point(TEMP, T0 + k * 1000 + i, k + i / 10) for i in range(n)]


def test_append_peek_ack_in_order_with_exact_types(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    mixed = [Point(TEMP, T0, 20.125), Point(COUNT, T0, 7), Point(RUN, T0, True, "uncertain"),
             Point(STATE, T0 + 1, "running", "bad"), Point(TEMP, T0 + 2, 1e-300)]
    ids = [spool.append(mixed, "opc"), spool.append(batch(1), "mqtt"), spool.append(batch(2), "mqtt")]
    assert ids == sorted(ids) and len(set(ids)) == 3
    got = spool.peek(10)
    assert [b.id for b in got] == ids and [b.source for b in got] == ["opc", "mqtt", "mqtt"]
    assert got[0].points == mixed
    assert [type(p.v) for p in got[0].points] == [float, int, bool, str, float]
    stats = spool.stats()
    assert stats["batches"] == 3 and stats["points"] == 25 and stats["bytes"] > 0 and stats["last_id"] == ids[-1]
    assert spool.ack(ids[1]) == 2
    assert [b.id for b in spool.peek(10)] == [ids[2]]
    assert spool.stats()["points"] == 10
    assert spool.ack(ids[1]) == 0  # acknowledging again changes nothing
    spool.close()


def test_peek_limits_points_but_always_returns_one_batch(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    for k in range(5):
        spool.append(batch(k, 100), "s")
    assert len(spool.peek(10, max_points=250)) == 2
    assert len(spool.peek(10, max_points=50)) == 1  # a batch bigger than the limit still moves
    assert len(spool.peek(3)) == 3
    spool.close()


def test_survives_reopen_and_ids_are_never_reused(tmp_path):
    path = tmp_path / "spool.sqlite"
    spool = Spool(path)
    uid = spool.uid
    first = spool.append(batch(1), "s")
    second = spool.append(batch(2), "s")
    spool.ack(second)  # everything acknowledged: the table is empty
    spool.close()
    spool = Spool(path)
    assert spool.uid == uid and len(spool) == 0
    third = spool.append(batch(3), "s")
    assert third > second > first
    spool.close()
    spool = Spool(path)
    assert [(b.id, b.points) for b in spool.peek()] == [(third, batch(3))]
    assert spool.stats()["points"] == 10
    spool.close()
    assert Spool(tmp_path / "other.sqlite").uid != uid


def test_full_spool_refuses_input_and_keeps_what_it_has(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite", max_bytes=3000)
    ids = []
    with pytest.raises(SpoolFull) as exc:
        for k in range(100):
            ids.append(spool.append(batch(k, 20), "mqtt"))
    assert "spool: full" in str(exc.value) and "refused" in str(exc.value)
    assert 0 < len(ids) < 100
    stats = spool.stats()
    assert stats["refused"] == 1 and stats["batches"] == len(ids) and stats["bytes"] <= 3000 and stats["full"]
    assert [b.points for b in spool.peek(1000)] == [batch(k, 20) for k in range(len(ids))]
    spool.ack(ids[-1])
    assert not spool.stats()["full"]
    assert spool.append(batch(500, 20), "mqtt") > ids[-1]  # room again
    spool.close()


def test_empty_batch_is_an_error(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    with pytest.raises(ValueError, match="points"):
        spool.append([], "s")
    spool.close()


def test_concurrent_appends_are_all_stored_once(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite")
    ids: list[int] = []
    lock = threading.Lock()

    def worker(w: int) -> None:
        for k in range(50):
            i = spool.append([Point(TEMP, T0 + w * 1000 + k, float(w))], f"w{w}")
            with lock:
                ids.append(i)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(ids) == len(set(ids)) == 400
    stored = spool.peek(1000)
    assert sorted(ids) == [b.id for b in stored]
    assert sorted((p.ts, p.v) for b in stored for p in b.points) == sorted(
        (T0 + w * 1000 + k, float(w)) for w in range(8) for k in range(50))
    assert spool.stats()["commits"] <= 400
    spool.close()


CHILD = """
import sys
from zhizao.store.historian import Point
from zhizao.store.spool import Spool
spool = Spool(sys.argv[1])
k = 0
while True:
    i = spool.append([Point("a/s/r/l/c/m/temp", 1_700_000_000_000 + k * 100 + j, float(k)) for j in range(100)], "kid")
    print(i, k, flush=True)
    k += 1
"""


def test_appended_batches_survive_sigkill(tmp_path):
    """Every id the child was given back (its commit returned) is in the spool after SIGKILL."""
    path = tmp_path / "spool.sqlite"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    acked: dict[int, int] = {}
    assert child.stdout is not None
    for line in child.stdout:
        i, k = map(int, line.split())
        acked[i] = k
        if len(acked) >= 300:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    acked.update((int(i), int(k)) for i, k in (line.split() for line in child.stdout.read().splitlines()))
    spool = Spool(path)
    stored = {b.id: b for b in spool.peek(100_000)}
    assert set(acked) <= set(stored)
    for i, k in acked.items():
        assert [p.v for p in stored[i].points] == [float(k)] * 100
    spool.close()


# ---- the forwarder -----------------------------------------------------------------------


class UnavailableThenDuckDB:
    """Test double, for the forwarder's retry test only: raises HistorianUnavailable while
    ``down`` is set, else writes to a real DuckDB historian; records each write's first point."""

    def __init__(self, hist: DuckDBHistorian) -> None:
        self.hist = hist
        self.down = True
        self.attempts = 0
        self.written: list[list[Point]] = []

    def write(self, points):
        self.attempts += 1
        if self.down:
            raise HistorianUnavailable("test double: database down")
        self.written.append(list(points))
        return self.hist.write(points)


@pytest.fixture
def hist():
    h = DuckDBHistorian(":memory:", clock=FixedClock(NOW))
    h.register_tags([SimpleNamespace(path=TEMP, data_type="float")])
    yield h
    h.close()


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_forwarder_keeps_batches_while_down_and_replays_them_in_order(tmp_path, hist):
    spool = Spool(tmp_path / "spool.sqlite")
    double = UnavailableThenDuckDB(hist)
    fwd = Forwarder(SimpleNamespace(historian=double), spool, backoff_initial=0.01, backoff_max=0.05)
    await fwd.start()
    ids = [spool.append(batch(k), "s") for k in range(5)]
    await wait_for(lambda: double.attempts >= 4)
    assert not fwd.available and fwd.stats()["state"] == "retrying"
    assert fwd.stats()["retries"] >= 3 and "database down" in fwd.stats()["last_error"]
    assert fwd.stats()["backoff_s"] <= 0.05
    assert len(spool) == 5 and hist.read_raw(TEMP, T0, NOW) == []
    assert not await fwd.wait_forwarded(ids[0], timeout=1)  # down: no waiting
    ids += [spool.append(batch(k), "s") for k in range(5, 8)]
    double.down = False
    await wait_for(lambda: len(spool) == 0)
    assert await fwd.wait_forwarded(ids[-1], timeout=5)
    written = [p for w in double.written for p in w]
    assert written == [p for k in range(8) for p in batch(k)]  # every batch once, oldest first
    assert len(hist.read_raw(TEMP, T0, NOW)) == 80
    assert fwd.available and fwd.stats()["forwarded_points"] == 80
    await fwd.stop()
    spool.close()


async def test_mark_makes_a_replay_after_a_crash_store_nothing_twice(tmp_path, hist):
    """The crash window: points and mark committed in the historian, the spool not yet acknowledged."""
    spool = Spool(tmp_path / "spool.sqlite")
    ids = [spool.append(batch(k), "s") for k in range(3)]
    # What the forwarder does, cut short before spool.ack: the first two batches are stored.
    hist.write_marked([p for b in spool.peek(2) for p in b.points], f"spool:{spool.uid}", ids[1])
    fwd = Forwarder(SimpleNamespace(historian=hist), spool)
    await fwd.start()
    await wait_for(lambda: len(spool) == 0)
    await fwd.stop()
    stored = hist.read_raw(TEMP, T0, NOW)
    assert sorted(p.ts for p in stored) == sorted(p.ts for k in range(3) for p in batch(k))  # 30, no duplicates
    assert fwd.stats()["replays_skipped"] == 2 and fwd.stats()["exactly_once"]
    assert hist.mark(f"spool:{spool.uid}") == ids[2]
    spool.close()


async def test_points_rejected_on_forwarding_are_reported_not_retried(tmp_path, hist):
    spool = Spool(tmp_path / "spool.sqlite")
    reported = []
    fwd = Forwarder(SimpleNamespace(historian=hist), spool,
                    on_rejected=lambda source, points, rejected: reported.append((source, points, rejected)))
    await fwd.start()
    spool.append(batch(1, 3), "ok")
    # The tag was removed from the plant after the points were taken in.
    spool.append([Point(TEMP, T0 + 5, 1.0), Point("a/s/r/l/c/m/gone", T0 + 5, 2.0)], "opc")
    await wait_for(lambda: len(spool) == 0)
    await fwd.stop()
    [(source, points, rejected)] = reported
    assert source == "opc" and [(r.index, r.reason) for r in rejected] == [(1, "unknown_tag")]
    assert points[1].tag == "a/s/r/l/c/m/gone"
    assert fwd.stats()["rejected_points"] == 1 and fwd.stats()["forwarded_points"] == 4
    spool.close()
