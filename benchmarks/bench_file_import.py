"""File import benchmark: a generated wide CSV and long Parquet file through preview and commit
(real ingest service, spool and DuckDB historian); prints JSON and writes
benchmarks/results/file_import.json.

    .venv/bin/python benchmarks/bench_file_import.py [--rows 100000] [--bad-every 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from zhizao.connect.file.config import ImportOptions
from zhizao.connect.file.importer import commit, preview
from zhizao.core.config import Settings
from zhizao.runtime import Platform

RESULTS = Path(__file__).parent / "results" / "file_import.json"
TAGS = ("temperature", "vibration_rms", "motor_current", "power", "spindle_speed", "spindle_current")


def make_files(folder: Path, rows: int, bad_every: int) -> tuple[Path, Path]:
    start = (int(time.time()) // 86_400 - 1) * 86_400_000  # yesterday: inside the retention
    rng = np.random.default_rng(1)
    ts = start + np.arange(rows, dtype=np.int64) * 1000
    wide = pd.DataFrame({"time": pd.to_datetime(ts, unit="ms", utc=True).strftime("%Y-%m-%d %H:%M:%S.%f")})
    for tag in TAGS:
        wide[f"cnc1/{tag}"] = np.round(rng.uniform(0, 30, rows), 3).astype(str)
    if bad_every:
        wide.loc[::bad_every, "cnc1/temperature"] = "n/a"
    csv = folder / "wide.csv"
    wide.to_csv(csv, index=False)
    names = np.array([f"cnc2/{tag}" for tag in TAGS])
    long = pd.DataFrame({"ts": pd.to_datetime(np.repeat(ts, len(TAGS)), unit="ms", utc=True),
                         "tag": np.tile(names, rows), "value": rng.uniform(0, 30, rows * len(TAGS))})
    parquet = folder / "long.parquet"
    long.to_parquet(parquet)
    return csv, parquet


async def run(rows: int, bad_every: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv, parquet = make_files(folder, rows, bad_every)
        platform = Platform(Settings(data_dir=folder / "data"))
        await platform.start()
        out: dict = {"rows": rows, "tags_per_row": len(TAGS)}
        try:
            for name, path in (("wide_csv", csv), ("long_parquet", parquet)):
                started = time.perf_counter()
                pv = await asyncio.to_thread(preview, path, path.name, platform.ctx.plant)
                preview_s = time.perf_counter() - started
                started = time.perf_counter()
                result = await commit(path, path.name, ImportOptions(**pv["options"]), platform.ctx,
                                      source=f"file:{path.name}")
                commit_s = time.perf_counter() - started
                out[name] = {"file_mb": round(path.stat().st_size / 2**20, 1), "preview_s": round(preview_s, 3),
                             "commit_s": round(commit_s, 2), "accepted": result.accepted,
                             "rejected": dict(result.rejected), "stored": result.stored,
                             "points_per_s": round(result.accepted / commit_s)}
        finally:
            await platform.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows per file (6 tags each)")
    parser.add_argument("--bad-every", type=int, default=1000, help="a bad cell every N rows in the CSV (0: none)")
    args = parser.parse_args()
    result = asyncio.run(run(args.rows, args.bad_every))
    text = json.dumps(result, indent=2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
