"""Zero loss across a broker restart: a private Mosquitto (persistence on) is stopped and started again while a
publisher process sends QoS 1 points; every point the broker acknowledged must end up in the historian."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.connect.mqtt.mqtt_helpers import (
    PRESSURE,
    SPEED,
    TEMP,
    PrivateBroker,
    close_ctx,
    connector,
    platform_ctx,
    unique,
    wait_connected,
    wait_for,
)

pytestmark = pytest.mark.services

POINTS = 3000
RATE = 1000.0  # messages (one point each) per second
PUBLISHER = Path(__file__).with_name("mqtt_publisher.py")
TAGS = (TEMP, SPEED, PRESSURE)  # float tags: the publisher sends float values


@pytest.fixture
def broker(tmp_path):
    broker = PrivateBroker(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()


def stored(ctx) -> list[tuple[str, int]]:
    return [(tag, p.ts) for tag in TAGS for p in ctx.historian.read_raw(tag, 0, 2**62)]


async def test_every_acknowledged_point_survives_a_broker_restart(tmp_path, broker, record_property):
    ctx = await platform_ctx(tmp_path)
    root = unique()
    conn = connector(ctx, {"url": broker.url, "client_id": unique("zc"), "reconnect_min_s": 0.1,
                           "reconnect_max_s": 0.5, "topics": [{"filter": f"{root}/#", "root": root}]})
    out = tmp_path / "published.json"
    publisher = None
    try:
        await conn.start()
        await wait_connected(conn)
        t0 = (int(time.time()) - 3600) * 1000
        publisher = subprocess.Popen([sys.executable, str(PUBLISHER), "--port", str(broker.port), "--root", root,
                                      "--tags", ",".join(TAGS), "--points", str(POINTS), "--rate", str(RATE),
                                      "--t0", str(t0), "--out", str(out)])
        # Mid-stream: once a fifth of the points are stored, the broker goes down, and comes back 0.5 s later.
        await wait_for(lambda: len(stored(ctx)) >= POINTS // 5, what="a fifth of the points stored")
        broker.stop()
        await asyncio.sleep(0.5)
        broker.start()
        assert await asyncio.to_thread(publisher.wait, 90) == 0
        published = json.loads(out.read_text())
        acked = {(tag, ts) for tag, ts in published["acked"]}
        await wait_for(lambda: acked <= set(stored(ctx)), timeout_s=60,
                       what="every acknowledged point in the historian")
        rows = stored(ctx)
        duplicates = len(rows) - len(set(rows))
        report = {"points": POINTS, "acked": len(acked), "unacked": published["unacked"], "rows": len(rows),
                  "duplicates": duplicates, "missing": len(acked - set(rows)),
                  "disconnects": conn.health().counters.get("disconnects", 0)}
        print("broker restart:", json.dumps(report))
        record_property("broker_restart", report)
        assert report["missing"] == 0
        assert not set(conn.health().counters) - {"messages", "points", "disconnects"}  # nothing rejected
        assert report["disconnects"] >= 1  # the connector did see the broker go away
        assert len(acked) > POINTS // 5
    finally:
        if publisher is not None and publisher.poll() is None:
            publisher.kill()
            publisher.wait()
        await conn.stop()
        await close_ctx(ctx)
