"""The MQTT connector against the real Mosquitto at 127.0.0.1:1883 (unique topics and client ids per test)."""

from __future__ import annotations

import json
import time

import paho.mqtt.client as paho
import pytest
from tests.connect.mqtt.mqtt_helpers import (
    BROKER,
    COUNT,
    LINE,
    PORT,
    PRESSURE,
    RUNNING,
    SPEED,
    STATE,
    TEMP,
    close_ctx,
    connector,
    platform_ctx,
    publish,
    rows,
    unique,
    wait_connected,
    wait_for,
)
from tests.connect.mqtt.sparkplug_helpers import metric, payload, topic

from zhizao.connect.mqtt import sparkplug_b_pb2 as pb

pytestmark = pytest.mark.services


def forget_session(client_id: str) -> None:
    """Drop a persistent session from the shared broker (connect once with a clean session)."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.connect(BROKER, PORT)
    client.loop_start()
    client.disconnect()
    client.loop_stop()


@pytest.fixture
async def ctx(tmp_path):
    ctx = await platform_ctx(tmp_path)
    yield ctx
    await close_ctx(ctx)


@pytest.fixture
def client_ids():
    ids: list[str] = []
    yield ids
    for client_id in ids:
        forget_session(client_id)


@pytest.fixture
async def make(ctx, client_ids):
    """Connectors on the platform context; stopped and their broker sessions dropped afterwards."""
    made = []

    def build(config: dict, name: str = "broker"):
        config = {"reconnect_min_s": 0.1, **config}
        config.setdefault("client_id", unique("zc"))
        client_ids.append(config["client_id"])
        conn = connector(ctx, config, name)
        made.append(conn)
        return conn

    yield build
    for conn in made:
        await conn.stop()


def now_ms() -> int:
    return int(time.time() * 1000) // 1000 * 1000


def stored(ctx, tag: str, n: int):
    return wait_for(lambda: len(rows(ctx, tag)) >= n, what=f"{n} rows of {tag}")


async def test_uns_objects_arrays_and_timestamps(ctx, make):
    root = unique()
    conn = make({"topics": [{"filter": f"{root}/#", "root": root}]})
    await conn.start()
    await wait_connected(conn)
    t0 = now_ms()
    publish([
        (f"{root}/{TEMP}", {"ts": t0, "v": 20.5}),
        (f"{root}/{TEMP}", [{"ts": t0 + 1000, "v": 21, "q": "uncertain"},
                            {"ts": "2026-01-01T08:00:00+08:00", "v": 19.0}]),
        (f"{root}/{COUNT}", {"ts": t0, "v": 7}),
        (f"{root}/{RUNNING}", [{"ts": t0, "v": True}, {"ts": t0 + 1, "v": False, "q": "bad"}]),
        (f"{root}/{STATE}", {"ts": t0, "v": "running"}),
    ])
    await stored(ctx, TEMP, 3)
    await stored(ctx, RUNNING, 2)
    await stored(ctx, STATE, 1)
    assert rows(ctx, TEMP) == [(1_767_225_600_000, 19.0, "good"), (t0, 20.5, "good"), (t0 + 1000, 21.0, "uncertain")]
    assert rows(ctx, COUNT) == [(t0, 7, "good")]
    assert rows(ctx, RUNNING) == [(t0, True, "good"), (t0 + 1, False, "bad")]
    assert rows(ctx, STATE) == [(t0, "running", "good")]
    counters = conn.health().counters
    assert counters["messages"] == 5 and counters["points"] == 7
    assert conn.health().state == "connected" and "mqtt://127.0.0.1:1883" in conn.health().detail


async def test_bad_input_is_counted_and_dead_lettered_while_good_data_flows(ctx, make):
    root = unique()
    uns = f"{root}/uns"
    conn = make({"topics": [{"filter": f"{root}/#", "root": uns}], "max_payload_bytes": 300})
    await conn.start()
    await wait_connected(conn)
    t0 = now_ms()
    good = [(f"{uns}/{SPEED}", {"ts": t0 + i, "v": float(i)}) for i in range(6)]
    bad = [
        (f"{uns}/{TEMP}", b'{"ts": 1, "v": '),                                   # malformed_json
        (f"{uns}/{TEMP}", [1, 2]),                                               # not_an_object x2
        (f"{uns}/{TEMP}", {"v": 1.0}),                                           # missing_field
        (f"{uns}/{TEMP}", {"ts": "noon", "v": 1.0}),                             # bad_timestamp
        (f"{uns}/{TEMP}", b'{"ts": %d, "v": NaN}' % t0),                          # non_finite
        (f"{uns}/{TEMP}", {"ts": t0, "v": [1]}),                                 # wrong_type
        (f"{uns}/{TEMP}", {"ts": t0, "v": 1.0, "q": "ok"}),                      # bad_quality
        (f"{uns}/{TEMP}", [{"ts": t0, "v": 1.0}] * 20),                          # oversized
        (f"{root}/elsewhere/{TEMP}", {"ts": t0, "v": 1.0}),                      # unknown_topic: outside root
        (f"{uns}/{LINE}/m1/nope", {"ts": t0, "v": 1.0}),                         # unknown_topic: no such tag
        (f"{uns}/{TEMP}", {"ts": 1000, "v": 1.0}),                               # bad_timestamp (ingest: 1970)
        (f"{uns}/{COUNT}", {"ts": t0, "v": "seven"}),                            # wrong_type (ingest: int tag)
        (f"{uns}/{TEMP}", [{"ts": t0 + 1, "v": 5.0}, {"ts": t0 + 2, "v": "x"}, {"ts": t0 + 3}]),  # mixed
    ]
    stream = [m for pair in zip(good, bad[:6], strict=False) for m in pair] + bad[6:]
    publish(stream)
    await stored(ctx, SPEED, 6)
    await stored(ctx, TEMP, 1)
    expected = {"malformed_json": 1, "not_an_object": 2, "missing_field": 2, "bad_timestamp": 2, "non_finite": 1,
                "wrong_type": 3, "bad_quality": 1, "oversized": 1, "unknown_topic": 2}
    await wait_for(lambda: all(conn.health().counters.get(c) == n for c, n in expected.items()),
                   what=f"counters {expected}, have {conn.health().counters}")
    assert rows(ctx, SPEED) == [(t0 + i, float(i), "good") for i in range(6)]
    assert rows(ctx, TEMP) == [(t0 + 1, 5.0, "good")]
    counters = conn.health().counters
    assert counters["messages"] == len(stream) and counters["points"] == 7
    ingest = ctx.services["ingest"]
    letters = ingest.dead_letters(source="broker")
    assert {c: sum(1 for d in letters if d["cause"] == c) for c in expected} == expected
    detail = next(d["detail"] for d in letters if d["cause"] == "missing_field" and "'ts'" in d["detail"])
    assert detail == f"{uns}/{TEMP}: missing field 'ts'"
    non_finite = next(d for d in letters if d["cause"] == "non_finite")
    assert "NaN" in non_finite["payload"]
    assert conn.health().state == "connected"


async def test_dead_letter_rows_are_limited_but_counts_exact(ctx, make):
    ctx.settings.dead_letter_rows_per_minute = 2
    root = unique()
    conn = make({"topics": [{"filter": f"{root}/#", "root": root}]})
    await conn.start()
    await wait_connected(conn)
    publish([(f"{root}/{TEMP}", b"garbage")] * 5 + [(f"{root}/{TEMP}", {"ts": now_ms(), "v": 1.0})])
    await stored(ctx, TEMP, 1)
    assert conn.health().counters["malformed_json"] == 5
    ingest = ctx.services["ingest"]
    counts = {(c["source"], c["cause"]): c for c in ingest.dead_letter_counts()}
    assert counts[("broker", "malformed_json")]["count"] == 5
    assert len(ingest.dead_letters(source="broker", cause="malformed_json")) == 2


async def test_sparkplug_birth_data_death_end_to_end(ctx, make):
    group = unique("g")
    conn = make({"topics": [{"filter": f"spBv1.0/{group}/#", "format": "sparkplug", "root": LINE}],
                 "sparkplug_mappings": [{"group_id": group, "edge_node_id": "edge1", "device_id": "dev2",
                                         "metric": "Pressure", "tag": PRESSURE}]})
    await conn.start()
    await wait_connected(conn)
    t0 = now_ms() - 60_000  # the node's clock; its death is stamped with the platform's receipt time
    publish([
        (topic(group, "NBIRTH", "edge1"), payload([
            metric("bdSeq", value=1), metric("Node Control/Rebirth", value=False),
            metric("m1/temp", alias=1, datatype=pb.Double, value=20.0),
            metric("m1/count", alias=2, datatype=pb.Int32, value=1, field="int_value"),
            metric("m1/unmapped", alias=3, datatype=pb.Double, value=0.0)], seq=0, ts=t0)),
        (topic(group, "DBIRTH", "edge1", "dev2"), payload([
            metric("m2/speed", alias=10, datatype=pb.Float, value=100.0, field="float_value"),
            metric("Pressure", alias=11, datatype=pb.Double, value=1.5)], seq=1, ts=t0)),
        (topic(group, "NDATA", "edge1"), payload([metric(alias=1, value=21.0), metric(alias=2, value=0xFFFFFFFE,
                                                                                      field="int_value")],
                                                 seq=2, ts=t0 + 1000)),
        (topic(group, "DDATA", "edge1", "dev2"), payload([metric(alias=11, value=1.75, timestamp=t0 + 1500)],
                                                         seq=3, ts=t0 + 2000)),
        (topic(group, "NDATA", "edge1"), payload([metric(alias=1, value=22.0)], seq=9, ts=t0 + 3000)),  # a gap
        (topic(group, "NDATA", "edge1"), payload([metric(alias=77, value=1.0)], seq=10, ts=t0 + 3000)),
        (topic(group, "DDEATH", "edge1", "dev2"), payload([], seq=11, ts=t0 + 4000)),
        (topic(group, "NDEATH", "edge1"), payload([metric("bdSeq", value=1)])),
    ])
    await stored(ctx, TEMP, 4)
    assert [(ts, v, q) for ts, v, q in rows(ctx, TEMP)[:3]] == [(t0, 20.0, "good"), (t0 + 1000, 21.0, "good"),
                                                                 (t0 + 3000, 22.0, "good")]
    assert rows(ctx, TEMP)[3][1:] == (22.0, "bad")  # NDEATH: the last value, marked bad, at receipt time
    await stored(ctx, COUNT, 3)
    assert [r[1:] for r in rows(ctx, COUNT)] == [(1, "good"), (-2, "good"), (-2, "bad")]
    await stored(ctx, SPEED, 3)
    assert rows(ctx, SPEED)[:2] == [(t0, 100.0, "good"), (t0 + 4000, 100.0, "bad")]  # DDEATH, then NDEATH
    assert rows(ctx, PRESSURE)[:3] == [(t0, 1.5, "good"), (t0 + 1500, 1.75, "good"), (t0 + 4000, 1.75, "bad")]
    counters = conn.health().counters
    assert counters["sequence_gap"] == 1 and counters["unknown_alias"] == 1
    assert counters["unknown_tag"] == 1  # m1/unmapped, declared in the birth
    assert counters["messages"] == 8
    letters = ctx.services["ingest"].dead_letters(source="broker", cause="unknown_tag")
    assert len(letters) == 1 and "m1/unmapped" in letters[0]["detail"]


async def test_persistent_session_receives_what_was_sent_while_stopped(ctx, make):
    root = unique()
    client_id = unique("zc")
    config = {"topics": [{"filter": f"{root}/#", "root": root}], "client_id": client_id}
    first = make(config)
    await first.start()
    await wait_connected(first)
    await first.stop()
    t0 = now_ms()
    publish([(f"{root}/{TEMP}", {"ts": t0 + i, "v": float(i)}) for i in range(5)])
    second = make(config)
    await second.start()
    await stored(ctx, TEMP, 5)
    assert rows(ctx, TEMP) == [(t0 + i, float(i), "good") for i in range(5)]
    assert second.health().counters["messages"] == 5


async def test_unstored_messages_are_not_acknowledged(ctx, make):
    """While the spool refuses points the message stays unacknowledged; the broker delivers it again."""
    root = unique()
    client_id = unique("zc")
    config = {"topics": [{"filter": f"{root}/#", "root": root}], "client_id": client_id}
    spool = ctx.services["ingest"].spool
    first = make(config)
    await first.start()
    await wait_connected(first)
    room, spool.max_bytes = spool.max_bytes, 1  # full: every submit raises SpoolFull
    t0 = now_ms()
    publish([(f"{root}/{TEMP}", {"ts": t0, "v": 1.0})])
    await wait_for(lambda: first.health().counters.get("submit_errors", 0) >= 1, what="a refused submit")
    assert first.health().state == "degraded" and "spool" in first.health().detail
    await first.stop()
    spool.max_bytes = room
    assert rows(ctx, TEMP) == []
    second = make(config)
    await second.start()
    await stored(ctx, TEMP, 1)
    assert rows(ctx, TEMP) == [(t0, 1.0, "good")]


async def test_shared_group_splits_the_stream(ctx, make):
    root = unique()
    group = unique("grp")
    config = {"topics": [{"filter": f"{root}/#", "root": root}], "shared_group": group}
    a, b = make(config, "node-a"), make(config, "node-b")
    await a.start()
    await b.start()
    await wait_connected(a)
    await wait_connected(b)
    t0 = now_ms() - 10_000
    n = 200
    publish([(f"{root}/{SPEED}", {"ts": t0 + i, "v": float(i)}) for i in range(n)])
    await stored(ctx, SPEED, n)
    got_a, got_b = a.health().counters.get("messages", 0), b.health().counters.get("messages", 0)
    assert got_a > 0 and got_b > 0 and got_a + got_b == n
    ts = [r[0] for r in rows(ctx, SPEED)]
    assert len(ts) == n and sorted(set(ts)) == [t0 + i for i in range(n)]


async def test_no_broker_url_is_an_error_state(ctx, make):
    ctx.settings.mqtt_url = None
    conn = make({"topics": [{"filter": "x/#"}]})
    await conn.start()
    assert conn.health().state == "error" and "ZHIZAO_MQTT_URL" in conn.health().detail


async def test_unreachable_broker_retries_with_back_off(ctx, make):
    from tests.connect.mqtt.mqtt_helpers import free_port

    conn = make({"url": f"mqtt://127.0.0.1:{free_port()}", "topics": [{"filter": "x/#"}],
                 "reconnect_max_s": 0.2})
    await conn.start()
    await wait_for(lambda: conn.health().counters.get("disconnects", 0) >= 2, what="two failed connects")
    assert conn.health().state == "disconnected"
    assert json.dumps(conn.health().counters)  # plain numbers for the API


async def test_sparkplug_data_without_birth_asks_the_node_to_rebirth(ctx, make):
    group = unique("g")
    commands: list[tuple[str, bytes]] = []
    listener = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=unique("ncmd"))
    listener.on_message = lambda _c, _u, m: commands.append((m.topic, m.payload))
    listener.connect(BROKER, PORT)
    listener.subscribe(f"spBv1.0/{group}/NCMD/#", qos=1)
    listener.loop_start()
    try:
        conn = make({"topics": [{"filter": f"spBv1.0/{group}/#", "format": "sparkplug", "root": LINE}]})
        await conn.start()
        await wait_connected(conn)
        # The node was born before the platform listened: its aliases are unknown.
        publish([(topic(group, "NDATA", "edge7"), payload([metric(alias=1, value=1.0)], seq=4)),
                 (topic(group, "NDATA", "edge7"), payload([metric(alias=1, value=2.0)], seq=5))])
        await wait_for(lambda: commands, what="a rebirth request")
        await wait_for(lambda: conn.health().counters.get("unknown_alias") == 2, what="both messages counted")
        request_topic, body = commands[0]
        assert request_topic == f"spBv1.0/{group}/NCMD/edge7"
        assert [(m.name, m.boolean_value) for m in pb.Payload.FromString(body).metrics] == [
            ("Node Control/Rebirth", True)]
        # The node answers with its birth; its data is then read.
        t0 = now_ms() - 60_000
        publish([(topic(group, "NBIRTH", "edge7"), payload([metric("m1/temp", alias=1, datatype=pb.Double,
                                                                    value=5.0)], seq=0, ts=t0)),
                 (topic(group, "NDATA", "edge7"), payload([metric(alias=1, value=6.0)], seq=1, ts=t0 + 1))])
        await stored(ctx, TEMP, 2)
        assert rows(ctx, TEMP) == [(t0, 5.0, "good"), (t0 + 1, 6.0, "good")]
        assert conn.health().counters["rebirth_requests"] == 1  # once per node, not per message
    finally:
        listener.loop_stop()
        listener.disconnect()
