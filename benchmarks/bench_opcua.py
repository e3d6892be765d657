"""OPC UA subscription throughput: 5,000 nodes changing every second, into the historian.

A separate process serves a plant of ``--nodes`` float variables over OPC UA (the
simulator's server, fed from its bus) and changes every value each ``--period``
seconds. This process runs a platform (DuckDB historian in a temporary folder) whose
OPC UA connector subscribes to all of them at that sampling and publishing interval.
After a warm-up (every node delivered once) it measures for ``--seconds``:

- points stored vs expected: every change (source timestamp) inside the window, of every
  node, counted when it arrives, also in the ``GRACE_S`` after the window;
- lag of each point: time it was durable and published on the bus minus its source
  timestamp (so it includes the publishing interval, the batching and the durable
  write): p50, p90, p99, max, and p99 of the first and last 10 s (a growing lag is a backlog);
- CPU of this (client) process and of the server process, in % of one core;
- historian backlog: accepted points the store-and-forward spool has not yet written.

Sustained without backlog: ≥ 99.9 % of the expected points, the p99 lag of the last 10 s
no more than one period above that of the first 10 s, and no point later than 10 periods.
JSON on stdout and in benchmarks/results/opcua.json.

    .venv/bin/python benchmarks/bench_opcua.py [--nodes 5000] [--seconds 60] [--period 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PER_EQUIPMENT = 100
GRACE_S = 10.0


def plant_yaml(nodes: int, connector: dict | None = None) -> str:
    """A plant with ``nodes`` float tags, 100 per equipment; bound to ``connector`` when given."""
    equipment = []
    for e in range((nodes + PER_EQUIPMENT - 1) // PER_EQUIPMENT):
        eq_id = f"e{e:03d}"
        tags = []
        for k in range(min(PER_EQUIPMENT, nodes - e * PER_EQUIPMENT)):
            tag = {"id": f"t{k:03d}", "unit": "bar"}
            if connector is not None:
                path = f"bench/s1/a1/l1/c1/{eq_id}/t{k:03d}"
                tag["source"] = {"connector": connector["name"], "address": f"ns=2;s={path}"}
            tags.append(tag)
        equipment.append({"id": eq_id, "tags": tags})
    plant = {"version": 1, "connectors": [connector] if connector else [],
             "enterprise": {"id": "bench", "sites": [{"id": "s1", "areas": [{"id": "a1", "lines": [
                 {"id": "l1", "cells": [{"id": "c1", "equipment": equipment}]}]}]}]}}
    return json.dumps(plant)  # JSON is YAML


# ---- the server process ---------------------------------------------------------------
async def serve(nodes: int, period: float) -> None:
    from zhizao.assets.loader import parse_plant
    from zhizao.bus import Bus
    from zhizao.sim.opcua_server import serve_opcua

    plant = parse_plant(plant_yaml(nodes), file="bench")
    paths = [tag.path for tag in plant.tags()]
    bus = Bus()
    handle = await serve_opcua(None, plant, bus, 0)
    print(json.dumps({"url": handle.url}), flush=True)
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 100, len(paths))
    loop = asyncio.get_running_loop()
    start = loop.time()
    tick = 0
    while True:
        now_ms = time.time_ns() // 1_000_000
        values += rng.uniform(0.001, 1.0, len(paths))  # every value changes every period (OPC UA sends changes)
        for path, v in zip(paths, values.tolist(), strict=True):
            bus.publish(path, {"ts": now_ms, "v": round(v, 4), "q": "good"})
        tick += 1
        await asyncio.sleep(max(0.0, start + tick * period - loop.time()))


# ---- the client (this) process ------------------------------------------------------------
def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spool_backlog(platform) -> dict:
    """Accepted points the forwarder has not yet written to the historian."""
    spool = getattr(platform.ctx.services["ingest"], "spool", None)
    if spool is None:  # an ingest that writes the historian directly has no backlog of its own
        return {"points": 0, "oldest_age_s": 0.0}
    stats = spool.stats()
    return {"points": stats["points"], "oldest_age_s": stats["oldest_age_s"]}


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(nodes: int, seconds: float, period: float) -> dict:
    from zhizao.core.config import Settings
    from zhizao.runtime import Platform

    server = subprocess.Popen([sys.executable, __file__, "--serve", "--nodes", str(nodes), "--period", str(period)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    folder = Path(tempfile.mkdtemp(prefix="zhizao-bench-opcua-"))
    try:
        line = await asyncio.to_thread(server.stdout.readline)  # type: ignore[union-attr]
        url = json.loads(line)["url"]
        interval_ms = period * 1000
        connector = {"name": "plc", "kind": "opcua", "config": {
            "endpoint": url, "sampling_interval_ms": interval_ms, "publishing_interval_ms": interval_ms,
            "batch_ms": 100}}
        (folder / "plant.yaml").write_text(plant_yaml(nodes, connector), encoding="utf-8")
        platform = Platform(Settings(data_dir=folder / "data", plant_file=folder / "plant.yaml"))
        stored_at: list[int] = []  # when each point was durable and published (epoch ms)
        source_ts: list[int] = []  # its source timestamp
        seen: set[str] = set()

        def on_point(msg) -> None:  # the ingest path publishes each point once it is durable
            stored_at.append(time.time_ns() // 1_000_000)
            source_ts.append(msg.payload["ts"])
            seen.add(msg.topic)

        platform.ctx.bus.on("bench/#", on_point)
        t0 = time.monotonic()
        await platform.start()
        plc = platform.ctx.services["connectors"].connectors["plc"]
        while len(seen) < nodes:
            if time.monotonic() - t0 > 120:
                raise TimeoutError(f"only {len(seen)} of {nodes} nodes delivered in 120 s: {plc.health()}")
            await asyncio.sleep(0.2)
        warmup_s = time.monotonic() - t0
        print(f"warm-up {warmup_s:.1f} s: all {nodes} nodes delivered; measuring {seconds:g} s", file=sys.stderr)
        cpu_client, cpu_server, t_start = own_cpu(), cpu_of(server.pid), time.monotonic()
        window_start = time.time_ns() // 1_000_000
        backlog: list[dict] = []  # points accepted but not yet in the historian (store-and-forward spool)
        while (elapsed := time.monotonic() - t_start) < seconds:
            await asyncio.sleep(min(5.0, seconds - elapsed))
            backlog.append(spool_backlog(platform))
            print(f"  {time.monotonic() - t_start:5.1f} s: {len(source_ts):,} points, historian backlog "
                  f"{backlog[-1]}, connector {plc.health().state} {dict(plc.health().counters)}", file=sys.stderr)
        elapsed = time.monotonic() - t_start
        window_end = time.time_ns() // 1_000_000
        cpu_client, cpu_server = own_cpu() - cpu_client, cpu_of(server.pid) - cpu_server
        await asyncio.sleep(GRACE_S)  # values changed in the window but still on their way count too
        health = plc.health()
        stats = platform.ctx.historian.stats()
        await platform.stop()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)

    n = min(len(stored_at), len(source_ts))
    at, ts = np.array(stored_at[:n]), np.array(source_ts[:n])
    inside = (ts >= window_start) & (ts < window_end)
    at, ts = at[inside], ts[inside]
    lag = (at - ts).astype(float)
    ticks = len(np.unique(ts))  # the server stamps all values of one change with one time
    expected = ticks * nodes
    ratio = len(lag) / expected if expected else 0.0
    first, last = lag[ts < window_start + 10_000], lag[ts >= window_end - 10_000]
    p99, p99_first, p99_last = (float(np.percentile(x, 99)) for x in (lag, first, last))
    per_second = np.bincount(((at - window_start) // 1000).astype(int))[:int(elapsed)]
    return {
        "nodes": nodes, "period_s": period, "seconds": round(elapsed, 1), "warmup_s": round(warmup_s, 1),
        "changes": ticks, "changes_expected": round(elapsed / period),
        "points_received": len(lag), "points_expected": expected, "received_ratio": round(ratio, 5),
        "points_per_s": round(len(lag) / elapsed, 1), "expected_per_s": round(nodes / period, 1),
        "points_per_s_min_max": [int(per_second.min()), int(per_second.max())] if len(per_second) else None,
        "lag_ms": {"p50": round(float(np.percentile(lag, 50))), "p90": round(float(np.percentile(lag, 90))),
                   "p99": round(p99), "max": round(float(lag.max())),
                   "p99_first_10s": round(p99_first), "p99_last_10s": round(p99_last)},
        "cpu_client_pct": round(100 * cpu_client / elapsed, 1),
        "cpu_server_pct": round(100 * cpu_server / elapsed, 1),
        "connector_state": health.state, "connector_counters": health.counters,
        "historian_rejected": stats.get("rejected_total"),
        "historian_backlog_max": {k: max(b.get(k, 0) for b in backlog) for k in ("points", "oldest_age_s")},
        "sustained_without_backlog": bool(ratio >= 0.999 and p99_last <= p99_first + 1000 * period
                                          and lag.max() <= 10_000 * period),
        "cpu_cores": os.cpu_count(), "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--period", type=float, default=1.0, help="seconds between value changes and samples")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.nodes, args.period))
        return
    result = asyncio.run(measure(args.nodes, args.seconds, args.period))
    out = ROOT / "benchmarks" / "results" / "opcua.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
