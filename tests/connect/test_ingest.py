"""The ingest service on a real platform: validation, spool, bus, forwarder, auto-create, dead letters."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi.testclient import TestClient
from tests.conftest import auth

from zhizao.assets.loader import dump_plant, parse_plant
from zhizao.connect.ingest import SpoolFull
from zhizao.core.config import Settings
from zhizao.runtime import Platform
from zhizao.store.duckdb_historian import DuckDBHistorian
from zhizao.store.historian import Point

PLANT = """
version: 1
enterprise:
  id: acme
  sites:
    - id: s1
      areas:
        - id: a1
          lines:
            - id: l1
              cells:
                - id: c1
                  equipment:
                    - id: press1
                      kind: press
                      tags:
                        - {id: temperature, source: {connector: api}}
                        - {id: count, data_type: int, source: {connector: api}}
                        - {id: running, data_type: bool, source: {connector: api}}
                        - {id: state, data_type: string, source: {connector: api}}
"""
EQ = "acme/s1/a1/l1/c1/press1"
TEMP, COUNT, RUNNING, STATE = (f"{EQ}/{t}" for t in ("temperature", "count", "running", "state"))
T0 = int(time.time() * 1000) // 1000 * 1000 - 3_600_000


def settings(tmp_path, **overrides) -> Settings:
    plant = tmp_path / "plant.yaml"
    plant.write_text(PLANT, encoding="utf-8")
    return Settings(data_dir=tmp_path / "data", plant_file=plant, **overrides)


async def started(tmp_path, **overrides) -> Platform:
    platform = Platform(settings(tmp_path, **overrides))
    await platform.start()
    return platform


def raw(platform: Platform, tag: str) -> list[tuple[int, object, str]]:
    return [(p.ts, p.v, p.q) for p in platform.ctx.historian.read_raw(tag, T0 - 86_400_000, T0 + 86_400_000)]


async def test_accepted_points_are_spooled_published_and_forwarded_once(tmp_path):
    platform = await started(tmp_path)
    ctx, ingest = platform.ctx, platform.ctx.services["ingest"]
    sub = ctx.bus.subscribe("acme/#")
    try:
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((T0 + 5000) / 1000))
        result = await ingest.submit([
            {"tag": TEMP, "ts": T0, "v": 20.5},
            {"tag": COUNT, "ts": T0, "v": 3},
            {"tag": RUNNING, "ts": T0, "v": True, "q": "uncertain"},
            Point(STATE, T0, "running"),
            {"tag": TEMP, "ts": iso, "v": 21},
        ], source="api")
        assert result.accepted == 5 and result.rejected == [] and result.spool_id is not None
        # Live consumers get them at once, with epoch-ms timestamps and typed values.
        seen = {(m.topic, m.payload["ts"], m.payload["v"], m.payload["q"], m.origin) for m in sub.drain()}
        assert seen == {(TEMP, T0, 20.5, "good", "ingest"), (COUNT, T0, 3, "good", "ingest"),
                        (RUNNING, T0, True, "uncertain", "ingest"), (STATE, T0, "running", "good", "ingest"),
                        (TEMP, T0 + 5000, 21.0, "good", "ingest")}
        assert await ingest.wait_stored(result, timeout=10)
        assert raw(platform, TEMP) == [(T0, 20.5, "good"), (T0 + 5000, 21.0, "good")]
        assert raw(platform, COUNT) == [(T0, 3, "good")] and raw(platform, RUNNING) == [(T0, True, "uncertain")]
        assert raw(platform, STATE) == [(T0, "running", "good")]
        # The historian writer saw them on the bus and left them to the forwarder: stored once.
        writer = ctx.services["historian_writer"]
        await writer.flush()
        assert writer.stats()["written"] == 0 and writer.stats()["skipped_events"] >= 5
        assert len(raw(platform, TEMP)) == 2
        status = ingest.status()
        assert status["accepted"] == {"api": 5} and status["spool"]["batches"] == 0
        assert status["forwarder"]["forwarded_points"] == 5 and status["forwarder"]["exactly_once"]
        assert status["notice"] is None
    finally:
        sub.close()
        await platform.stop()


async def test_unknown_and_bad_points_are_rejected_and_dead_lettered(tmp_path):
    platform = await started(tmp_path)
    ingest = platform.ctx.services["ingest"]
    try:
        result = await ingest.submit([
            {"tag": TEMP, "ts": T0, "v": 1.0},
            {"tag": "acme/s1/a1/l1/c1/press1/nope", "ts": T0, "v": 1.0},
            {"tag": TEMP, "ts": T0, "v": float("nan")},
            {"tag": COUNT, "ts": T0, "v": 1.5},
            {"tag": TEMP, "ts": "yesterday", "v": 1.0},
            {"tag": TEMP, "v": 1.0},
        ], source="plc")
        assert result.accepted == 1
        assert [(r.index, r.reason) for r in result.rejected] == [
            (1, "unknown_tag"), (2, "non_finite"), (3, "wrong_type"), (4, "bad_timestamp"), (5, "malformed")]
        await ingest.dead_letter("plc", "malformed_json", "payload: not JSON", b"{oops")
        letters = ingest.dead_letters(source="plc")
        assert {d["cause"] for d in letters} == {"unknown_tag", "non_finite", "wrong_type", "bad_timestamp",
                                                 "malformed", "malformed_json"}
        unknown = next(d for d in letters if d["cause"] == "unknown_tag")
        assert unknown["tag"] == "acme/s1/a1/l1/c1/press1/nope" and "unknown tag" in unknown["detail"]
        assert unknown["payload"]["v"] == 1.0
        assert next(d for d in letters if d["cause"] == "malformed_json")["payload"] == "{oops"
        counts = {(c["source"], c["cause"]): (c["count"], c["stored"]) for c in ingest.dead_letter_counts()}
        assert counts[("plc", "unknown_tag")] == (1, 1) and counts[("plc", "malformed_json")] == (1, 1)
        assert "nope" not in dump_plant(platform.ctx.plant)  # auto-create is off
    finally:
        await platform.stop()


async def test_a_flood_of_garbage_is_counted_exactly_but_stores_few_rows(tmp_path):
    platform = await started(tmp_path, dead_letter_rows_per_minute=5)
    ingest = platform.ctx.services["ingest"]
    try:
        for k in range(4):
            await ingest.submit([{"tag": f"no/such/{k}/{i}", "ts": T0, "v": 1.0} for i in range(500)], "flood")
        for _ in range(20):
            await ingest.dead_letter("flood", "malformed_json", "payload: not JSON", "{")
        counts = {(c["source"], c["cause"]): (c["count"], c["stored"]) for c in ingest.dead_letter_counts()}
        assert counts[("flood", "unknown_tag")] == (2000, 5) and counts[("flood", "malformed_json")] == (20, 5)
        suppressed = {(c["source"], c["cause"]): c["suppressed"] for c in ingest.status()["dead_letters"]}
        assert suppressed[("flood", "unknown_tag")] == 1995
    finally:
        await platform.stop()
    # Counts are persisted: a restart continues from them.
    platform = await started(tmp_path, dead_letter_rows_per_minute=5)
    try:
        ingest = platform.ctx.services["ingest"]
        await ingest.submit([{"tag": "no/such/tag", "ts": T0, "v": 1.0}], "flood")
        counts = {(c["source"], c["cause"]): c["count"] for c in ingest.dead_letter_counts()}
        assert counts[("flood", "unknown_tag")] == 2001 and counts[("flood", "malformed_json")] == 20
    finally:
        await platform.stop()


async def test_auto_create_makes_valid_uns_tags_in_plant_and_historian(tmp_path):
    platform = await started(tmp_path, auto_create_tags=True)
    ctx, ingest = platform.ctx, platform.ctx.services["ingest"]
    events = ctx.bus.subscribe("_events/plant/#")
    try:
        new_uns = "acme/s1/a2/l9/c1/oven1/zone_temp"
        result = await ingest.submit([
            {"tag": new_uns, "ts": T0, "v": 180},  # an int first: numbers become float tags
            {"tag": new_uns, "ts": T0 + 1, "v": 180.5},
            {"tag": "Sensors/Press 7/Door.Open", "ts": T0, "v": False},
            {"tag": "line-status", "ts": T0, "v": "ok"},
            {"tag": "other/s/a/l/c/e/t", "ts": T0, "v": 1.0},  # another enterprise: placed under auto
            {"tag": "acme/s1/a1/l1/c9/press1/x", "ts": T0, "v": 1.0},  # press1 exists elsewhere
            {"tag": "acme/s1/a1/l1/c1/press1/bad_value", "ts": T0, "v": None},  # no type to infer
        ], source="gateway")
        assert result.accepted == 5
        assert [(r.index, r.reason) for r in result.rejected] == [(5, "unknown_tag"), (6, "unknown_tag")]
        assert "already used at 'acme/s1/a1/l1/c1/press1'" in result.rejected[0].detail
        assert "infer its data type" in result.rejected[1].detail
        door = "acme/s1/auto/gateway/auto/gateway_sensors_press_7/door_open"
        status_tag = "acme/s1/auto/gateway/auto/gateway/line-status"
        other = "acme/s1/auto/gateway/auto/gateway_other_s_a_l_c_e/t"
        tags = ctx.plant.tag_index()
        assert {p: tags[p].data_type for p in (new_uns, door, status_tag, other)} == {
            new_uns: "float", door: "bool", status_tag: "string", other: "float"}
        assert tags[door].source.address == "Sensors/Press 7/Door.Open" and tags[new_uns].source.address is None
        assert tags[door].source.connector == "api"  # "gateway" is no connector of this plant
        assert tags[door].source.params == {"auto_created_by": "gateway"}
        # The plant with its new tags is still a valid plant file.
        reloaded = parse_plant(dump_plant(ctx.plant)).tag_index()
        assert {new_uns, door, status_tag, other, TEMP} <= set(reloaded)
        assert await ingest.wait_stored(result, timeout=10)
        assert raw(platform, new_uns) == [(T0, 180.0, "good"), (T0 + 1, 180.5, "good")]
        assert raw(platform, door) == [(T0, False, "good")]
        [event] = [m.payload for m in events.drain()]
        assert sorted(event["auto_created"]) == sorted([new_uns, door, status_tag, other])

        # The same names later find the same tags; nothing new is created.
        again = await ingest.submit([{"tag": "Sensors/Press 7/Door.Open", "ts": T0 + 2, "v": True},
                                     {"tag": new_uns, "ts": T0 + 2, "v": 181.0}], source="gateway")
        assert again.accepted == 2 and ingest.status()["auto_create"]["created"] == 4
        assert await ingest.wait_stored(again, timeout=10)
        assert raw(platform, door)[-1] == (T0 + 2, True, "good")
        # The alias belongs to the source that sent the name.
        other_source = await ingest.submit([{"tag": "Sensors/Press 7/Door.Open", "ts": T0 + 3, "v": "open"}],
                                           source="plc2")
        assert other_source.accepted == 1
        assert "acme/s1/auto/plc2/auto/plc2_sensors_press_7/door_open" in ctx.plant.tag_index()
    finally:
        events.close()
        await platform.stop()


async def test_auto_create_stops_at_its_limit(tmp_path):
    platform = await started(tmp_path, auto_create_tags=True, auto_create_max_tags=2)
    ingest = platform.ctx.services["ingest"]
    try:
        result = await ingest.submit([{"tag": f"acme/s1/a1/l1/c1/press1/t{i}", "ts": T0, "v": 1.0} for i in range(3)],
                                     source="api")
        assert result.accepted == 2
        assert [r.index for r in result.rejected] == [2] and "limit of 2" in result.rejected[0].detail
    finally:
        await platform.stop()


async def test_a_full_spool_refuses_the_batch_and_accepts_nothing_of_it(tmp_path):
    platform = await started(tmp_path, spool_max_mb=0.002)  # about 2 kB
    ctx, ingest = platform.ctx, platform.ctx.services["ingest"]
    sub = ctx.bus.subscribe("acme/#")
    try:
        big = [{"tag": TEMP, "ts": T0 + i, "v": float(i)} for i in range(500)] + [{"tag": "bad", "ts": T0, "v": 1}]
        with pytest.raises(SpoolFull, match="refused"):
            await ingest.submit(big, source="mqtt")
        assert sub.drain() == [] and ingest.status()["accepted"] == {} and ingest.status()["refused"] == {"mqtt": 500}
        assert ingest.dead_letter_counts() == []  # the source sends the batch again: nothing counted twice
        small = await ingest.submit(big[:10], source="mqtt")
        assert small.accepted == 10 and await ingest.wait_stored(small, timeout=10)
        assert len(raw(platform, TEMP)) == 10
    finally:
        sub.close()
        await platform.stop()


def test_api_posts_go_through_ingest_and_status_is_served(tmp_path):
    from zhizao.api.app import create_app
    from zhizao.connect.ingest_api import router

    app = create_app(settings(tmp_path, spool_max_mb=0.002))
    app.include_router(router)
    security = app.state.security
    operator = auth(security.issue_token(security.add_user("op", "correct-horse-9", "operator"), "api"))
    with TestClient(app) as client:
        r = client.post("/api/tags/data", json=[{"tag": TEMP, "ts": T0, "v": 1.5}, {"tag": "x/y", "ts": T0, "v": 1}],
                        headers=operator)
        assert r.status_code == 200 and r.json()["accepted"] == 1
        # Stored before the reply (the historian is up): readable at once.
        hist = client.get(f"/api/tags/{TEMP}/history", params={"start": T0, "end": T0 + 1}, headers=operator).json()
        assert hist["points"] == [[T0, 1.5]]
        r = client.post("/api/tags/data", json=[{"tag": TEMP, "ts": T0 + i, "v": 1.0} for i in range(1, 500)],
                        headers=operator)
        assert r.status_code == 503 and "spool: full" in r.json()["detail"] and r.headers["retry-after"]
        status = client.get("/api/ingest/status", headers={**operator, "Accept-Language": "zh-CN"}).json()
        assert status["accepted"] == {"api": 1} and status["refused"] == {"api": 499}
        assert status["spool"]["full"] and status["notice"].startswith("缓存已满")
        assert status["dead_letters"] == [{"source": "api", "cause": "unknown_tag", "count": 1, "suppressed": 0}]
        assert client.get("/api/ingest/status").status_code == 401


async def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_historian_failure_spools_writer_and_ingest_data_until_it_returns(tmp_path):
    """A real failure of the real backend: the DuckDB historian is closed under the platform,
    then a new one is opened on the same file."""
    platform = await started(tmp_path)
    ctx, ingest = platform.ctx, platform.ctx.services["ingest"]
    writer = ctx.services["historian_writer"]
    try:
        ctx.bus.publish(TEMP, {"ts": T0, "v": 1.0})  # e.g. the simulator: stored by the writer
        await writer.flush()
        assert raw(platform, TEMP) == [(T0, 1.0, "good")]
        path = ctx.historian.path
        ctx.historian.close()
        ctx.bus.publish(TEMP, {"ts": T0 + 1, "v": 2.0})
        await writer.flush()  # the write fails: the batch goes to the spool
        down = await ingest.submit([{"tag": TEMP, "ts": T0 + 2, "v": 3.0}], source="api")
        assert down.accepted == 1
        await wait_for(lambda: not ingest.historian_available)
        assert not await ingest.wait_stored(down, timeout=5)  # returns at once: the historian is down
        ctx.bus.publish(TEMP, {"ts": T0 + 3, "v": 4.0})
        await writer.flush()  # spooled directly while the historian is known to be down
        assert writer.stats()["spooled"] == 2 and writer.stats()["write_errors"] == 0
        assert ingest.spool.stats()["points"] == 3
        status = ingest.status()
        assert status["forwarder"]["state"] == "retrying" and "closed" in status["forwarder"]["last_error"]
        assert status["notice"] and "spool" in status["notice"]

        back = DuckDBHistorian(path)
        back.register_tags(ctx.plant.tags())
        ctx.historian = back
        await wait_for(lambda: ingest.spool.stats()["batches"] == 0)
        assert raw(platform, TEMP) == [(T0, 1.0, "good"), (T0 + 1, 2.0, "good"), (T0 + 2, 3.0, "good"),
                                       (T0 + 3, 4.0, "good")]
        assert ingest.historian_available and ingest.status()["forwarder"]["retries"] >= 1
    finally:
        await platform.stop()
