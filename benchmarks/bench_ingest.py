"""Durable ingestion benchmark: prints the figures as JSON and writes benchmarks/results/ingest.json.

    .venv/bin/python benchmarks/bench_ingest.py [--points 1000000] [--batch 1000] [--tags 100]

- spool_append_points_per_s: ``Spool.append`` of batches (synchronous=FULL, the default);
- spool_append_normal_points_per_s: the same with ``spool_sync = "normal"``;
- spool_small_appends_per_s: 8 threads appending 10-point batches (group commit);
- ingest_submit_points_per_s: ``Ingest.submit`` (validation, spool, bus publish) until every
  batch is durable, with the forwarder draining into DuckDB meanwhile;
- end_to_end_points_per_s: the same until every point is in the DuckDB historian.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from pathlib import Path

from zhizao.assets.loader import parse_plant
from zhizao.bus import Bus
from zhizao.connect.ingest import Ingest
from zhizao.core.clock import WallClock
from zhizao.core.config import Settings
from zhizao.core.context import Context
from zhizao.store.db import Database
from zhizao.store.historian import Point, open_historian
from zhizao.store.spool import Spool

RESULTS = Path(__file__).parent / "results" / "ingest.json"
GOAL_APPEND = 200_000


def plant_yaml(tags: int) -> str:
    per_eq = 10
    eqs = []
    for e in range((tags + per_eq - 1) // per_eq):
        tag_lines = "".join(f"\n          - {{id: t{t}, source: {{connector: api}}}}"
                            for t in range(min(per_eq, tags - e * per_eq)))
        eqs.append(f"\n      - id: m{e}\n        tags:{tag_lines}")
    return ("enterprise:\n  id: bench\n  sites:\n  - id: s\n    areas:\n    - id: a\n      lines:\n      - id: l\n"
            "        cells:\n        - id: c\n          equipment:" + "".join(eqs).replace("\n", "\n      "))


def batches(paths: list[str], points: int, batch: int, t0: int) -> list[list[Point]]:
    out = []
    for b in range(points // batch):
        base = b * batch
        out.append([Point(paths[(base + i) % len(paths)], t0 + base + i, (base + i) * 0.001) for i in range(batch)])
    return out


def bench_spool(folder: Path, work: list[list[Point]], sync: str) -> float:
    spool = Spool(folder / f"spool-{sync}.sqlite", sync=sync)  # type: ignore[arg-type]
    start = time.perf_counter()
    for b in work:
        spool.append(b, "bench")
    elapsed = time.perf_counter() - start
    spool.close()
    return sum(map(len, work)) / elapsed


def bench_small_appends(folder: Path, path: str, t0: int, threads: int = 8, each: int = 300) -> dict:
    spool = Spool(folder / "spool-small.sqlite")

    def worker(w: int) -> None:
        for k in range(each):
            spool.append([Point(path, t0 + (w * each + k) * 10 + i, float(i)) for i in range(10)], f"w{w}")

    pool = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    start = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    elapsed = time.perf_counter() - start
    stats = spool.stats()
    spool.close()
    return {"appends_per_s": round(threads * each / elapsed), "commits": stats["commits"],
            "appends": stats["appends"]}


async def bench_ingest(folder: Path, work: list[list[Point]], yaml: str) -> dict:
    settings = Settings(data_dir=folder / "data")
    settings.data_dir.mkdir(parents=True)
    plant = parse_plant(yaml)
    historian = open_historian(settings.resolved_historian_url, clock=WallClock())
    historian.register_tags(plant.tags())
    db = Database(settings.resolved_database_url)
    db.create_all()
    ctx = Context(settings=settings, bus=Bus(), plant=plant, historian=historian, db=db, clock=WallClock())
    listener = ctx.bus.subscribe("#")  # a live consumer, as the historian writer is
    ingest = Ingest(ctx)
    await ingest.start()
    total = sum(map(len, work))
    start = time.perf_counter()
    accepted = 0
    for b in work:
        accepted += (await ingest.submit(b, "bench")).accepted
        listener.drain()
    durable = time.perf_counter() - start
    while ingest.spool.stats()["batches"]:
        await asyncio.sleep(0.005)
    stored = time.perf_counter() - start
    forwarder = ingest.forwarder.stats()
    await ingest.stop()
    rows = historian.stats()["rows"]["raw"]
    historian.close()
    db.close()
    assert accepted == total == rows, (accepted, total, rows)
    return {"ingest_submit_points_per_s": round(total / durable), "end_to_end_points_per_s": round(total / stored),
            "historian_writes": forwarder["writes"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="points per measurement")
    parser.add_argument("--batch", type=int, default=1_000, help="points per batch")
    parser.add_argument("--tags", type=int, default=100, help="tags the points are spread over")
    args = parser.parse_args()
    plant = parse_plant(plant_yaml(args.tags))
    paths = [t.path for t in plant.tags()]
    t0 = int(time.time() * 1000) - 86_400_000 + 3_600_000
    work = batches(paths, args.points, args.batch, t0)
    with tempfile.TemporaryDirectory(prefix="zhizao-bench-ingest-") as tmp:
        folder = Path(tmp)
        append_full = bench_spool(folder, work, "full")
        append_normal = bench_spool(folder, work, "normal")
        small = bench_small_appends(folder, paths[0], t0)
        ingest = asyncio.run(bench_ingest(folder, work, plant_yaml(args.tags)))
    result = {
        "benchmark": "ingest",
        "spool_append_points_per_s": round(append_full),
        "spool_append_normal_points_per_s": round(append_normal),
        "spool_small_appends_per_s": small["appends_per_s"],
        **ingest,
        "goals": {"spool_append_points_per_s": {"goal": GOAL_APPEND, "measured": round(append_full),
                                                "met": append_full >= GOAL_APPEND}},
        "setup": {"points": len(work) * args.batch, "batch": args.batch, "tags": args.tags,
                  "small_appends": small},
    }
    text = json.dumps(result, indent=2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
