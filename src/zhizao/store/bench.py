"""Historian benchmark: validated batch ingest, a 1-minute rollup query, latest values.

Synthetic plant data: ``tags`` float tags sampled at a fixed period so that
``points`` points span ``span_hours``; batches are time slices across all tags,
as connectors deliver them. Only the historian calls are timed, not the data
generation.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from zhizao.core.clock import FixedClock
from zhizao.store.duckdb_historian import DuckDBHistorian
from zhizao.store.historian import Point

GOALS = {  # measured figure -> (goal, True when higher is better)
    "ingest_points_per_s": (500_000, True),
    "rollup_1d_1min_ms": (100.0, False),
    "latest_ms": (20.0, False),
}


@dataclass(frozen=True)
class _Tag:
    path: str
    data_type: str = "float"


def _paths(tags: int) -> list[str]:
    return [f"bench/site1/area{i // 100}/line{i // 20 % 5}/cell1/eq{i // 4 % 5}/t{i}" for i in range(tags)]


def run_historian_bench(points: int = 5_000_000, tags: int = 1_000, batch: int = 100_000,
                        span_hours: float = 24.0, query_tags: int = 100, runs: int = 9,
                        point_objects: int = 200_000, path: str | Path | None = None,
                        progress: bool = True) -> dict:
    """Run the benchmark on a temporary DuckDB file (or ``path``) and return the figures."""
    if points < tags or tags < query_tags:
        raise ValueError("need points >= tags >= query_tags")
    if path is not None and Path(path).exists():
        raise ValueError(f"path: {path} exists; the benchmark needs a new file")
    per_tag = points // tags
    points = per_tag * tags
    period_ms = max(1, int(span_hours * 3_600_000 / per_tag))
    end = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    start = end - per_tag * period_ms
    paths = _paths(tags)
    rng = np.random.default_rng(7)
    phase = rng.uniform(0, 2 * np.pi, tags)
    level = rng.uniform(10, 100, tags)

    with tempfile.TemporaryDirectory(prefix="zhizao-bench-") as tmp:
        db_path = Path(path) if path else Path(tmp) / "historian.duckdb"
        hist = DuckDBHistorian(db_path, clock=FixedClock(end))
        hist.register_tags(_Tag(p) for p in paths)
        ids = hist.tag_ids(paths)
        bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                        disable=not progress)
        try:
            with bars as bar:
                ingest_s, rejected = _ingest(hist, bar, ids, points, batch, start, period_ms, phase, level)
                write_s = _write_points(hist, bar, paths, point_objects, end)
                q_tags = paths[:: tags // query_tags][:query_tags]
                rollup_ms, buckets = _rollup(hist, bar, q_tags, end - 86_400_000, end, runs)
                latest_ms = _latest(hist, bar, paths, runs)
            stored = hist.stats()["rows"]["raw"]
        finally:
            hist.close()
        wal = db_path.with_name(db_path.name + ".wal")
        size = db_path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    figures = {
        "ingest_points_per_s": round(points / ingest_s),
        "rollup_1d_1min_ms": round(rollup_ms, 1),
        "latest_ms": round(latest_ms, 3),
    }
    return {
        "benchmark": "historian",
        **figures,
        "write_points_per_s": round(point_objects / write_s) if point_objects else None,
        "goals": {k: {"goal": g, "measured": figures[k], "met": figures[k] >= g if up else figures[k] <= g}
                  for k, (g, up) in GOALS.items()},
        "setup": {
            "points": points, "tags": tags, "batch": batch, "span_hours": span_hours,
            "sample_period_ms": period_ms, "rejected": rejected, "stored_rows": stored,
            "rollup_query": {"tags": query_tags, "interval_ms": 60_000, "agg": "avg", "buckets": buckets,
                             "runs": runs},
            "latest_query": {"tags": tags, "runs": runs},
            "write_points_sample": point_objects,
            "db_bytes_per_point": round(size / max(stored, 1), 2),
            "ingest_path": "DuckDBHistorian.write_columns (vectorised validation)",
            "write_points_path": "DuckDBHistorian.write (Point objects, per-point validation)",
        },
        "env": {"cpus": os.cpu_count(), "duckdb": duckdb.__version__},
    }


def _ingest(hist: DuckDBHistorian, bar: Progress, ids: np.ndarray, points: int, batch: int,
            start: int, period_ms: int, phase: np.ndarray, level: np.ndarray) -> tuple[float, int]:
    task = bar.add_task("ingest", total=points)
    rng = np.random.default_rng(1)
    elapsed, rejected = 0.0, 0
    for lo in range(0, points, batch):
        k = np.arange(lo, min(lo + batch, points))
        tag = k % len(ids)
        ts = start + (k // len(ids)) * period_ms
        v = level[tag] + 5 * np.sin(ts / 3_600_000 + phase[tag]) + rng.normal(0, 0.5, len(k))
        t0 = time.perf_counter()
        res = hist.write_columns(ids[tag], ts, v)
        elapsed += time.perf_counter() - t0
        rejected += len(res.rejected)
        bar.update(task, advance=len(k))
    return elapsed, rejected


def _write_points(hist: DuckDBHistorian, bar: Progress, paths: list[str], n: int, end: int) -> float:
    """Per-point validated path (what the bus writer uses), written just after the columnar data."""
    if not n:
        return 0.0
    task = bar.add_task("write(Point)", total=n)
    chunk = 10_000
    elapsed = 0.0
    for lo in range(0, n, chunk):
        pts = [Point(paths[k % len(paths)], end + k, float(k % 97)) for k in range(lo, min(lo + chunk, n))]
        t0 = time.perf_counter()
        hist.write(pts)
        elapsed += time.perf_counter() - t0
        bar.update(task, advance=len(pts))
    return elapsed


def _rollup(hist: DuckDBHistorian, bar: Progress, tags: list[str], start: int, end: int,
            runs: int) -> tuple[float, int]:
    task = bar.add_task("1-day 1-min rollup", total=runs)
    times = []
    buckets = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        res = hist.read_agg(tags, start, end, 60_000, "avg")
        times.append((time.perf_counter() - t0) * 1000)
        buckets = sum(len(v) for v in res.values())
        bar.update(task, advance=1)
    return statistics.median(times), buckets


def _latest(hist: DuckDBHistorian, bar: Progress, tags: list[str], runs: int) -> float:
    task = bar.add_task("latest values", total=runs)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = hist.latest(tags)
        times.append((time.perf_counter() - t0) * 1000)
        if len(res) != len(tags):
            raise RuntimeError(f"latest: {len(res)} of {len(tags)} tags have a value")
        bar.update(task, advance=1)
    return statistics.median(times)
