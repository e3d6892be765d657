"""Modbus benchmark: prints the figures as JSON and writes benchmarks/results/modbus.json.

    .venv/bin/python benchmarks/bench_modbus.py [--reads 2000] [--seconds 10] [--rate-ms 100]

- codec: float32 encode + decode pairs per second (pure Python);
- read latency: one 24-register read (a whole CNC of the demo plant) from the simulator's
  Modbus TCP server over loopback, median and 95th percentile;
- connector: a real platform (SQLite, DuckDB, ingest spool) polling every served tag of the
  demo plant (15 devices, one connection each) at ``--rate-ms`` for ``--seconds``: points
  accepted per second, polls that overran their period, points stored in the historian.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.connect.modbus.modbus_helpers import modbus, start_platform, start_sim  # noqa: E402

from zhizao.connect.modbus.codec import decode, encode  # noqa: E402
from zhizao.sim.modbus_server import modbus_connector_config  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "modbus.json"


def bench_codec(n: int = 200_000) -> float:
    started = time.perf_counter()
    for i in range(n):
        decode(encode(i * 0.5, "float32", "little", "big"), "float32", "little", "big")
    return round(n / (time.perf_counter() - started))


async def bench_reads(port: int, reads: int) -> dict:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, reconnect_delay=0)
    await client.connect()
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        rr = await client.read_input_registers(0, count=24, device_id=1)
        times.append(time.perf_counter() - started)
        assert not rr.isError()
    client.close()
    times.sort()
    return {"reads": reads, "median_ms": round(statistics.median(times) * 1000, 3),
            "p95_ms": round(times[int(0.95 * len(times))] * 1000, 3)}


async def bench_connector(seconds: float, rate_ms: int, port: int, plant) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        platform = await start_platform(Path(tmp), modbus_connector_config(plant, "127.0.0.1", port, rate_ms))
        plc = modbus(platform)
        await asyncio.sleep(1.0)  # connect, first polls
        before = dict(plc.health().counters)
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        elapsed = time.perf_counter() - started
        after = dict(plc.health().counters)
        await platform.stop()
        devices = len(plc.config.devices)
        return {
            "devices": devices, "tags": len(plc.tags), "rate_ms": rate_ms, "seconds": round(elapsed, 2),
            "points_per_s": round((after.get("points", 0) - before.get("points", 0)) / elapsed),
            "expected_points_per_s": round(len(plc.tags) * 1000 / rate_ms),
            "overruns": after.get("overrun", 0) - before.get("overrun", 0),
            "errors": {k: v for k, v in after.items() if k not in ("points", "overrun", "non_finite")},
        }


async def main_async(args: argparse.Namespace) -> dict:
    side = await start_sim()
    try:
        reads = await bench_reads(side.server.port, args.reads)
        connector = await bench_connector(args.seconds, args.rate_ms, side.server.port, side.plant)
    finally:
        await side.server.stop()
    return {"codec_float32_pairs_per_s": bench_codec(), "read_24_registers": reads, "connector": connector}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000, help="single reads for the latency figure")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the connector polls")
    parser.add_argument("--rate-ms", type=int, default=100, help="polling period of every device")
    result = asyncio.run(main_async(parser.parse_args()))
    text = json.dumps(result, indent=2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
