"""MQTT ingest benchmark: prints the figures as JSON and writes benchmarks/results/mqtt.json.

    .venv/bin/python benchmarks/bench_mqtt.py [--points 2000000] [--points-per-message 100] [--tags 200]
        [--historian postgresql://postgres@127.0.0.1:5432/test] [--latency-rate 10000] [--latency-s 20]

A publisher process (paho, QoS 1, UNS JSON arrays of points) sends to the local Mosquitto; this process
runs the platform side: the MQTT connector, the ``Ingest`` service (spool + forwarder) and the historian.

- duckdb_points_per_s: sustained rate into the DuckDB historian (points the forwarder stored, between
  10 % and 100 % of the stream). The publisher keeps at most ``--window`` messages ahead of what is
  stored, so the broker's queue (Mosquitto drops QoS 1 messages beyond ``max_queued_messages``, 1000)
  never overflows: the figure is what the platform absorbs, not what a broker buffers.
- postgresql_points_per_s: the same into PostgreSQL (with ``--historian postgresql://...``; a schema of
  its own, dropped afterwards).
- latency_*: at a steady ``--latency-rate`` points/s (messages of ``--latency-points-per-message``),
  publish time -> durable (accepted by ``Ingest.submit``: the moment the connector may acknowledge) and
  publish time -> stored (the historian write returned), p50/p99/max over the run after a 2 s warm-up.
- parse_points_per_s: ``parse_uns`` alone on one core (the connector's own CPU cost per point).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

RESULTS = Path(__file__).parent / "results" / "mqtt.json"
GOALS = {  # figure -> (goal, True when higher is better)
    "duckdb_points_per_s": (100_000, True),
    "postgresql_points_per_s": (50_000, True),
    "latency_stored_p99_ms": (1000.0, False),
}
HOST = "127.0.0.1"
WARMUP_S = 2.0


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---- the publisher process ------------------------------------------------------------------

def publish_stream(port: int, root: str, tags: list[str], points: int, per_message: int, t0: int,
                   rate: float | None, window: int, stored: Any, done: Any) -> None:
    """Publish ``points`` points as JSON arrays (one tag per message, consecutive ms timestamps), QoS 1.

    ``rate`` (points/s) paces the stream; without it the publisher runs as fast as the platform stores,
    staying at most ``window`` messages ahead of ``stored`` (a shared counter the platform side updates).
    With a rate, ``v`` is the publish time (epoch seconds), for latency."""
    import paho.mqtt.client as paho

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.connect(HOST, port)
    client.loop_start()
    messages = points // per_message
    per_tag = [0] * len(tags)
    start = time.monotonic()
    infos = []
    for k in range(messages):
        i = k % len(tags)
        base = t0 + per_tag[i]
        per_tag[i] += per_message
        if rate:
            due = start + k * per_message / rate
            while (delay := due - time.monotonic()) > 0:
                time.sleep(delay)
            now = time.time()
            body = [{"ts": base + j, "v": now} for j in range(per_message)]
        else:
            while k - stored.value // per_message > window:
                time.sleep(0.0005)
            body = [{"ts": base + j, "v": float(j)} for j in range(per_message)]
        infos.append(client.publish(f"{root}/{tags[i]}", json.dumps(body), qos=1))
    for info in infos:
        info.wait_for_publish(60)
    done.value = 1
    client.disconnect()
    client.loop_stop()


# ---- the platform side ----------------------------------------------------------------------

def plant_yaml(enterprise: str, tags: int) -> str:
    equipment = "\n".join(
        f"                    - id: eq{e}\n                      tags:\n"
        + "\n".join(f"                        - {{id: t{t}, data_type: float}}"
                    for t in range(e * 50, min(tags, (e + 1) * 50)))
        for e in range((tags + 49) // 50))
    return f"""
enterprise:
  id: {enterprise}
  sites:
    - id: site1
      areas:
        - id: area1
          lines:
            - id: line1
              cells:
                - id: cell1
                  equipment:
{equipment}
"""


class TimedHistorian:
    """The historian with a stopwatch: records, per written point of a timed tag, write end - v (seconds)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.samples: list[float] = []
        self.timing = False
        if hasattr(inner, "write_marked"):
            def write_marked(points, key, last, **options):
                result = inner.write_marked(points, key, last, **options)
                self._record(points)
                return result

            self.write_marked = write_marked

    def write(self, points):
        result = self.inner.write(points)
        self._record(points)
        return result

    def _record(self, points) -> None:
        if self.timing:
            now = time.time()
            self.samples.extend(now - p.v for p in points)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Side:
    """One platform side: stores in a temporary folder, the historian at ``url``, a connector on ``root``."""

    def __init__(self, url: str | None, tags: int, batch_max_points: int) -> None:
        self.url = url
        self.tags = tags
        self.batch_max_points = batch_max_points
        self.enterprise = f"bench{uuid.uuid4().hex[:6]}"
        self.root = f"zbench-{uuid.uuid4().hex[:8]}"

    async def __aenter__(self) -> Side:
        from zhizao.assets.loader import parse_plant
        from zhizao.bus import Bus
        from zhizao.connect.ingest import Ingest
        from zhizao.connect.mqtt import MqttConnector
        from zhizao.connect.mqtt.config import MqttConfig
        from zhizao.core.clock import WallClock
        from zhizao.core.config import Settings
        from zhizao.core.context import Context
        from zhizao.store.db import Database
        from zhizao.store.historian import open_historian

        self._tmp = tempfile.TemporaryDirectory(prefix="zhizao-bench-mqtt-")
        tmp = Path(self._tmp.name)
        plant = parse_plant(plant_yaml(self.enterprise, self.tags))
        self.tag_paths = [t.path for t in plant.tags()]
        db = Database(f"sqlite:///{tmp / 'zhizao.db'}")
        db.create_all()
        self.historian = TimedHistorian(open_historian(self.url or f"duckdb:///{tmp / 'historian.duckdb'}",
                                                       clock=WallClock()))
        self.historian.register_tags(plant.tags())
        self.ctx = Context(settings=Settings(data_dir=tmp, mqtt_url=f"mqtt://{HOST}:1883"), bus=Bus(),
                           plant=plant, historian=self.historian, db=db, clock=WallClock())
        self.ingest = Ingest(self.ctx)
        await self.ingest.start()
        self.ctx.services["ingest"] = self.ingest
        config = MqttConfig.model_validate({
            "client_id": f"zhizao-bench-{uuid.uuid4().hex[:8]}", "clean_session": True,
            "topics": [{"filter": f"{self.root}/#", "root": self.root}],
            "batch_max_points": self.batch_max_points})
        self.connector = MqttConnector("bench", config, self.ctx)
        await self.connector.start()
        while self.connector.health().state != "connected":
            if self.connector.health().state == "error":
                raise RuntimeError(self.connector.health().detail)
            await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connector.stop()
        await self.ingest.stop()
        self.historian.close()
        self.ctx.db.close()
        self._tmp.cleanup()

    @property
    def stored(self) -> int:
        return self.ingest.forwarder.forwarded_points


def _start_publisher(**kwargs: Any) -> tuple[Any, Any, Any]:
    spawn = mp.get_context("spawn")  # no fork of a process with threads and an event loop
    stored, done = spawn.Value("q", 0), spawn.Value("b", 0)
    proc = spawn.Process(target=publish_stream, kwargs={**kwargs, "stored": stored, "done": done}, daemon=True)
    proc.start()
    return proc, stored, done


async def throughput(url: str | None, args: argparse.Namespace) -> dict:
    points = args.points // (args.points_per_message * args.tags) * args.points_per_message * args.tags
    async with Side(url, args.tags, args.batch_max_points) as side:
        t0 = (int(time.time()) - 3600) * 1000
        proc, stored, _done = _start_publisher(port=1883, root=side.root, tags=side.tag_paths, points=points,
                                           per_message=args.points_per_message, t0=t0, rate=None,
                                           window=args.window)
        loop = asyncio.get_running_loop()
        start = loop.time()
        marks: dict[float, float] = {}
        last_report = start
        while side.stored < points:
            n = side.stored
            stored.value = n
            for frac in (0.1, 1.0):
                if frac not in marks and n >= frac * points:
                    marks[frac] = loop.time()
            if loop.time() - last_report > 5:
                _log(f"  {n:,} of {points:,} points stored")
                last_report = loop.time()
            if loop.time() - start > args.timeout_s:
                raise RuntimeError(f"only {n} of {points} points stored within {args.timeout_s} s")
            await asyncio.sleep(0.005)
        marks[1.0] = loop.time()
        marks.setdefault(0.1, start)
        await asyncio.to_thread(proc.join, 30)
        counters = side.connector.health().counters
        return {
            "points_per_s": round(0.9 * points / (marks[1.0] - marks[0.1])),
            "points": points,
            "wall_s": round(marks[1.0] - start, 2),
            "messages": counters.get("messages", 0),
            "stored": side.stored,
            "rejected": {k: v for k, v in counters.items() if k not in ("messages", "points")},
            "spool_sync": side.ctx.settings.spool_sync,
        }


async def latency(url: str | None, args: argparse.Namespace) -> dict:
    per_message = args.latency_points_per_message
    points = int(args.latency_rate * args.latency_s) // per_message * per_message
    async with Side(url, args.tags, args.batch_max_points) as side:
        durable: list[float] = []

        def on_point(msg: Any) -> None:
            if side.historian.timing:
                durable.append(time.time() - msg.payload["v"])

        side.ctx.bus.on(f"{side.enterprise}/#", on_point)
        t0 = (int(time.time()) - 3600) * 1000
        proc, *_shared = _start_publisher(port=1883, root=side.root, tags=side.tag_paths, points=points,
                                          per_message=per_message, t0=t0, rate=args.latency_rate, window=0)
        await asyncio.sleep(WARMUP_S)
        side.historian.timing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.latency_s + 60
        while side.stored < points and loop.time() < deadline:
            await asyncio.sleep(0.05)
        side.historian.timing = False
        await asyncio.to_thread(proc.join, 30)
        stored_ms = sorted(s * 1000 for s in side.historian.samples)
        durable_ms = sorted(s * 1000 for s in durable)
        return {
            "rate_points_per_s": args.latency_rate, "points_per_message": per_message, "points": points,
            "stored": side.stored,
            "stored_ms": _percentiles(stored_ms), "durable_ms": _percentiles(durable_ms),
        }


def _percentiles(ms: list[float]) -> dict:
    if not ms:
        return {"n": 0}
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"n": len(ms), "p50": round(q[49], 1), "p99": round(q[98], 1), "max": round(ms[-1], 1)}


def parse_rate(per_message: int, seconds: float = 2.0) -> int:
    from zhizao.connect.mqtt.uns import parse_uns

    t0 = 1_767_225_600_000
    payload = json.dumps([{"ts": t0 + j, "v": j * 0.5} for j in range(per_message)]).encode()
    topic = "root/bench/site1/area1/line1/cell1/eq0/t0"
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        n += len(parse_uns(topic, payload, root="root").points)
    return round(n / (time.perf_counter() - start))


def _schema_url(url: str) -> tuple[str, str | None]:
    """The URL with a schema of the benchmark's own (unless it names one), and that schema."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "schema" in query:
        return url, None
    schema = f"zhizao_bench_{uuid.uuid4().hex[:8]}"
    return urlunsplit(parts._replace(query=urlencode({**query, "schema": schema}))), schema


def _drop_schema(url: str, schema: str) -> None:
    import psycopg

    parts = urlsplit(url)
    conninfo = urlunsplit(parts._replace(scheme="postgresql", query=""))
    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def run(args: argparse.Namespace) -> dict:
    result: dict[str, Any] = {"benchmark": "mqtt"}
    load_start = round(os.getloadavg()[0], 2)
    _log("parse_uns alone ...")
    result["parse_points_per_s"] = parse_rate(args.points_per_message)
    _log(f"throughput into DuckDB ({args.points:,} points) ...")
    duck = await throughput(None, args)
    result["duckdb_points_per_s"] = duck["points_per_s"]
    _log(f"latency into DuckDB at {args.latency_rate:,} points/s ...")
    duck_latency = await latency(None, args)
    result["latency_stored_p50_ms"] = duck_latency["stored_ms"].get("p50")
    result["latency_stored_p99_ms"] = duck_latency["stored_ms"].get("p99")
    result["latency_durable_p99_ms"] = duck_latency["durable_ms"].get("p99")
    details: dict[str, Any] = {"duckdb": {"throughput": duck, "latency": duck_latency}}
    if args.historian:
        url, schema = _schema_url(args.historian)
        try:
            from zhizao.store.historian import open_historian

            open_historian(url).close()  # reachable, and the PostgreSQL historian is there
        except Exception as exc:
            result["postgresql_points_per_s"] = None
            details["postgresql"] = {"skipped": f"cannot open the PostgreSQL historian: {exc!r}"}
            _log(f"PostgreSQL part skipped: {exc!r}")
        else:
            try:
                _log(f"throughput into PostgreSQL ({args.points:,} points) ...")
                pg = await throughput(url, args)
                result["postgresql_points_per_s"] = pg["points_per_s"]
                _log(f"latency into PostgreSQL at {args.latency_rate:,} points/s ...")
                pg_latency = await latency(url, args)
                result["postgresql_latency_stored_p99_ms"] = pg_latency["stored_ms"].get("p99")
                details["postgresql"] = {"throughput": pg, "latency": pg_latency}
            finally:
                if schema:
                    _drop_schema(url, schema)
    result["goals"] = {name: {"goal": goal, "measured": result.get(name),
                              "met": None if result.get(name) is None else
                              (result[name] >= goal if higher else result[name] <= goal)}
                       for name, (goal, higher) in GOALS.items() if name in result}
    result["setup"] = {
        "points": args.points, "points_per_message": args.points_per_message, "tags": args.tags,
        "window_messages": args.window, "batch_max_points": args.batch_max_points, "qos": 1,
        "broker": f"the local Mosquitto at {HOST}:1883, default settings", **details}
    # The machine may be shared: the load says how much of its 2 cores the run had.
    result["env"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                     "load_avg_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2)}}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2_000_000, help="points in the throughput runs")
    parser.add_argument("--points-per-message", type=int, default=100, help="points per JSON array (throughput)")
    parser.add_argument("--tags", type=int, default=200, help="float tags the points are spread over")
    parser.add_argument("--window", type=int, default=500, help="messages the publisher may run ahead of storage")
    parser.add_argument("--batch-max-points", type=int, default=50_000, help="the connector's batch_max_points")
    parser.add_argument("--historian", help="also measure into this PostgreSQL historian (postgresql://...)")
    parser.add_argument("--latency-rate", type=float, default=10_000, help="points/s of the latency run")
    parser.add_argument("--latency-points-per-message", type=int, default=10)
    parser.add_argument("--latency-s", type=float, default=20.0, help="length of the latency run")
    parser.add_argument("--timeout-s", type=float, default=600.0)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    text = json.dumps(result, indent=2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
