from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from zhizao.bus import Bus
from zhizao.core.clock import FixedClock
from zhizao.store.duckdb_historian import DuckDBHistorian
from zhizao.store.historian import Point
from zhizao.store.writer import HistorianWriter

NOW = 1_750_000_020_000
T0 = NOW - 60_000


@dataclass
class Tag:
    path: str
    data_type: str = "float"


@pytest.fixture
def ctx():
    clock = FixedClock(NOW)
    hist = DuckDBHistorian(":memory:", clock=clock)
    hist.register_tags([Tag("a/l/m/temp"), Tag("a/l/m/state", "string"), Tag("a/l/m/count", "int")])
    yield SimpleNamespace(bus=Bus(), historian=hist, clock=clock)
    hist.close()


@pytest.fixture
async def writer(ctx):
    w = HistorianWriter(ctx, retention_every_s=None)
    await w.start()
    yield w
    await w.stop()


async def test_publish_flush_read_back(ctx, writer):
    ctx.bus.publish("a/l/m/temp", {"ts": T0, "v": 20.5})
    ctx.bus.publish("a/l/m/temp", [{"ts": T0 + 1000, "v": 21.0, "q": "uncertain"},
                                   {"ts": T0 + 2000, "v": 22}])
    ctx.bus.publish("a/l/m/state", {"ts": "2025-06-15T15:06:00Z", "v": "running"})
    await writer.flush()
    assert [(p.ts, p.v, p.q) for p in ctx.historian.read_raw("a/l/m/temp", T0, NOW)] == [
        (T0, 20.5, "good"), (T0 + 1000, 21.0, "uncertain"), (T0 + 2000, 22.0, "good")]
    assert ctx.historian.read_raw("a/l/m/state", T0, NOW) == [Point("a/l/m/state", T0, "running")]
    assert ctx.historian.latest(["a/l/m/temp"])["a/l/m/temp"].v == 22.0
    stats = writer.stats()
    assert stats["received"] == 3 and stats["points"] == 4 and stats["written"] == 4
    assert stats["rejected_total"] == 0 and stats["queued"] == 0 and stats["bus_dropped"] == 0


async def test_events_are_skipped(ctx, writer):
    ctx.bus.publish("_events/state/a/l/m", {"ts": T0, "equipment": "a/l/m", "state": "down"})
    ctx.bus.publish("_events/alarm/a/l/m/temp", {"ts": T0, "v": 1.0})
    ctx.bus.publish("a/l/m/temp", {"ts": T0, "v": 1.0})
    ctx.bus.publish("a/l/m/temp", {"ts": T0 + 1, "v": 2.0}, origin="historian")  # stored by the API already
    await writer.flush()
    stats = writer.stats()
    assert stats["skipped_events"] == 3 and stats["received"] == 1 and stats["written"] == 1
    assert [p.v for p in ctx.historian.read_raw("a/l/m/temp", T0, NOW)] == [1.0]
    assert stats["rejected_total"] == 0
    assert ctx.historian.stats()["rejected_total"] == 0


async def test_bad_payloads_are_counted_not_fatal(ctx, writer):
    ctx.bus.publish("a/l/m/temp", "hello")
    ctx.bus.publish("a/l/m/temp", [{"ts": T0, "v": 1.0}, 42])
    ctx.bus.publish("a/l/m/temp", {"ts": T0 + 1})  # no v
    ctx.bus.publish("a/l/m/temp", {"ts": T0 + 2, "v": "warm"})
    ctx.bus.publish("a/l/m/unknown", {"ts": T0, "v": 1.0})
    ctx.bus.publish("a/l/m/count", {"ts": T0, "v": float("nan")})
    await writer.flush()
    ctx.bus.publish("a/l/m/temp", {"ts": T0 + 3, "v": 2.0})  # still running afterwards
    await writer.flush()
    stats = writer.stats()
    assert stats["written"] == 2
    assert stats["rejected"] == {"unknown_tag": 1, "non_finite": 1, "wrong_type": 1, "bad_timestamp": 0,
                                 "bad_quality": 0, "malformed": 3}
    details = [(r["tag"], r["reason"], r["detail"]) for r in stats["last_rejections"]]
    assert ("a/l/m/temp", "malformed",
            "payload: expected an object with ts, v, q (or a list of them), got str") in details
    assert ("a/l/m/temp", "malformed",
            "payload: expected an object with ts, v, q (or a list of them), got int") in details
    assert ("a/l/m/temp", "malformed", "missing key 'v'") in details
    assert ("a/l/m/temp", "wrong_type", "v: expected float, got str 'warm'") in details
    assert ("a/l/m/unknown", "unknown_tag", "tag: unknown tag 'a/l/m/unknown'") in details
    assert [p.v for p in ctx.historian.read_raw("a/l/m/temp", T0, NOW)] == [1.0, 2.0]


async def test_periodic_flush_without_being_asked(ctx):
    w = HistorianWriter(ctx, flush_interval=0.02, retention_every_s=None)
    await w.start()
    try:
        ctx.bus.publish("a/l/m/temp", {"ts": T0, "v": 5.0})
        for _ in range(250):
            if w.stats()["written"]:
                break
            await asyncio.sleep(0.02)
        assert ctx.historian.latest(["a/l/m/temp"]) == {"a/l/m/temp": Point("a/l/m/temp", T0, 5.0)}
    finally:
        await w.stop()


async def test_batches_are_split_at_batch_size(ctx):
    sizes: list[int] = []
    write = ctx.historian.write

    def recording_write(points):
        sizes.append(len(points))
        return write(points)

    ctx.historian.write = recording_write
    w = HistorianWriter(ctx, batch_size=100, retention_every_s=None)
    await w.start()
    for k in range(350):
        ctx.bus.publish("a/l/m/count", {"ts": T0 + k, "v": k})
    await w.flush()
    assert sum(sizes) == 350 and max(sizes) <= 100
    assert w.stats()["written"] == 350 and w.stats()["flushes"] == len(sizes)
    await w.stop()


async def test_stop_writes_what_is_queued(ctx):
    w = HistorianWriter(ctx, flush_interval=60, retention_every_s=None)
    await w.start()
    for k in range(10):
        ctx.bus.publish("a/l/m/temp", {"ts": T0 + k, "v": float(k)})
    await asyncio.sleep(0)  # let the writer take some of them off the bus
    await w.stop()
    assert len(ctx.historian.read_raw("a/l/m/temp", T0, NOW)) == 10
    assert w.stats()["written"] == 10
    ctx.bus.publish("a/l/m/temp", {"ts": T0 + 100, "v": 1.0})  # no longer subscribed
    assert w.stats()["queued"] == 0


async def test_runs_retention(ctx):
    ctx.historian.write([Point("a/l/m/temp", NOW - 8 * 86_400_000, 1.0)])
    w = HistorianWriter(ctx, flush_interval=0.01, retention_every_s=3600)
    await w.start()
    try:
        for _ in range(250):
            if w.stats()["last_retention"] is not None:
                break
            await asyncio.sleep(0.02)
        assert w.stats()["last_retention"]["rollup_rows_added"] == 1
    finally:
        await w.stop()


async def test_write_errors_are_counted(ctx):
    class Broken:
        def write(self, points):
            raise OSError("disk full")

    ctx.historian = Broken()
    w = HistorianWriter(ctx, retention_every_s=None)
    await w.start()
    ctx.bus.publish("a/l/m/temp", {"ts": T0, "v": 1.0})
    await w.flush()
    assert w.stats()["write_errors"] == 1
    await w.stop()
