"""PostgreSQL historian benchmark: prints the figures as JSON and writes
benchmarks/results/postgres_historian.json.

    .venv/bin/python benchmarks/bench_postgres_historian.py [--url postgresql://postgres@127.0.0.1:5432/test]
        [--points 2000000] [--tags 1000] [--batch 100000] [--write-points 200000] [--runs 9]

Synthetic plant data as in bench_historian.py: ``tags`` float tags sampled so that ``points``
span one day, written in time slices across all tags. Ingest is measured through
``write_columns`` (numpy columns) and through ``write`` (Point objects, per-point validation,
what the bus writer and the spool's forwarder use); then a replay of already stored points
(all dropped as duplicates), the 1-day 1-minute average of 100 tags, and the latest values
of all tags (read from the shared table, and from the short-lived snapshot). Everything
runs in a schema of its own that is dropped at the end. Only historian calls are timed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg

from zhizao.core.clock import FixedClock
from zhizao.store.historian import Point
from zhizao.store.postgres_historian import PostgresHistorian

RESULTS = Path(__file__).parent / "results" / "postgres_historian.json"
END = 1_767_225_600_000  # 2026-01-01T00:00:00Z
GOALS = {  # figure -> (goal, True when higher is better); the MQTT path needs >= 50,000 points/s end to end
    "ingest_points_per_s": (50_000, True),
    "write_points_per_s": (50_000, True),
}


@dataclass(frozen=True)
class _Tag:
    path: str
    data_type: str = "float"


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def run(url: str, points: int, tags: int, batch: int, write_points: int, runs: int, query_tags: int = 100) -> dict:
    per_tag = points // tags
    points = per_tag * tags
    period_ms = 86_400_000 // per_tag
    start = END - per_tag * period_ms
    paths = [f"bench/site1/area{i // 100}/line{i // 20 % 5}/cell1/eq{i // 4 % 5}/t{i}" for i in range(tags)]
    rng = np.random.default_rng(7)
    level = rng.uniform(10, 100, tags)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in url else "?"
    hist = PostgresHistorian(f"{url}{sep}schema={schema}", clock=FixedClock(END), latest_ttl_s=0)
    try:
        hist.register_tags(_Tag(p) for p in paths)
        ids = hist.tag_ids(paths)

        ingest_s = 0.0
        for lo in range(0, points, batch):
            k = np.arange(lo, min(lo + batch, points))
            tag = k % tags
            ts = start + (k // tags) * period_ms
            v = level[tag] + rng.normal(0, 0.5, len(k))
            t0 = time.perf_counter()
            res = hist.write_columns(ids[tag], ts, v)
            ingest_s += time.perf_counter() - t0
            assert not res.rejected

        # Point objects just after the columnar data; 10,000 per write, as the bus writer batches.
        write_s = 0.0
        chunk = 10_000
        objects: list[list[Point]] = []
        for lo in range(0, write_points, chunk):
            objects.append([Point(paths[j % tags], END + j // tags * 1000, float(j % 97))
                            for j in range(lo, min(lo + chunk, write_points))])
        for pts in objects:
            t0 = time.perf_counter()
            hist.write(pts)
            write_s += time.perf_counter() - t0

        replay = objects[: max(1, len(objects) // 4)]
        t0 = time.perf_counter()
        for pts in replay:
            hist.write(pts)
        replay_s = time.perf_counter() - t0
        replayed = sum(len(p) for p in replay)

        q_tags = paths[:: tags // query_tags][:query_tags]
        buckets = sum(len(s) for s in hist.read_agg(q_tags, END - 86_400_000, END, 60_000, "avg").values())
        rollup_ms = _median_ms(lambda: hist.read_agg(q_tags, END - 86_400_000, END, 60_000, "avg"), runs)
        assert len(hist.latest(paths)) == tags
        latest_ms = _median_ms(lambda: hist.latest(paths), runs)
        hist.latest_ttl_s = 60.0
        latest_cached_ms = _median_ms(lambda: hist.latest(paths), runs)
        stats = hist.stats()
        with psycopg.connect(url.split("?")[0]) as conn:
            size = conn.execute("SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c JOIN pg_namespace n "
                                "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
                                (schema,)).fetchone()[0]
            server = conn.execute("SHOW server_version").fetchone()[0]
            shared_buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
    finally:
        hist.close()
        with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    figures = {
        "ingest_points_per_s": round(points / ingest_s),
        "write_points_per_s": round(write_points / write_s),
        "replay_points_per_s": round(replayed / replay_s),
        "rollup_1d_1min_ms": round(rollup_ms, 1),
        "latest_ms": round(latest_ms, 2),
        "latest_cached_ms": round(latest_cached_ms, 3),
    }
    return {
        "benchmark": "postgres_historian",
        **figures,
        "goals": {k: {"goal": g, "measured": figures[k], "met": figures[k] >= g if up else figures[k] <= g}
                  for k, (g, up) in GOALS.items()},
        "setup": {
            "points": points, "tags": tags, "batch": batch, "sample_period_ms": period_ms,
            "write_points": write_points, "write_batch": chunk, "replayed_points": replayed,
            "duplicates_dropped": stats["duplicates"], "stored_rows": stats["rows"]["raw"],
            "layout": stats["layout"], "bytes_per_point": round(size / max(stats["rows"]["raw"], 1), 1),
            "rollup_query": {"tags": query_tags, "interval_ms": 60_000, "agg": "avg", "buckets": buckets,
                             "runs": runs},
            "latest_query": {"tags": tags, "runs": runs},
            "ingest_path": "PostgresHistorian.write_columns: binary COPY straight into the day partitions",
            "write_path": "PostgresHistorian.write (Point objects, per-point validation), same storage path",
            "replay_path": "batches already stored: COPY into a staging table, INSERT ... ON CONFLICT DO NOTHING",
        },
        "env": {"cpus": os.cpu_count(), "postgresql": server, "shared_buffers": shared_buffers,
                "psycopg": psycopg.__version__},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test", help="PostgreSQL database")
    parser.add_argument("--points", type=int, default=2_000_000, help="points ingested through write_columns")
    parser.add_argument("--tags", type=int, default=1_000, help="float tags they are spread over")
    parser.add_argument("--batch", type=int, default=100_000, help="points per write_columns call")
    parser.add_argument("--write-points", type=int, default=200_000, help="points written as Point objects")
    parser.add_argument("--runs", type=int, default=9, help="repetitions of each query (median reported)")
    args = parser.parse_args()
    result = run(args.url, args.points, args.tags, args.batch, args.write_points, args.runs)
    text = json.dumps(result, indent=2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
