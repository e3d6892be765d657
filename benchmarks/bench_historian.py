"""Historian benchmark: prints the figures as JSON and writes benchmarks/results/historian.json.

    .venv/bin/python benchmarks/bench_historian.py [--points 5000000] [--tags 1000] [--batch 100000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from zhizao.store.bench import run_historian_bench

RESULTS = Path(__file__).parent / "results" / "historian.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=5_000_000, help="points to ingest")
    parser.add_argument("--tags", type=int, default=1_000, help="float tags they are spread over")
    parser.add_argument("--batch", type=int, default=100_000, help="points per write")
    parser.add_argument("--runs", type=int, default=9, help="repetitions of each query (median reported)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    args = parser.parse_args()
    result = run_historian_bench(points=args.points, tags=args.tags, batch=args.batch, runs=args.runs,
                                 progress=not args.no_progress)
    text = json.dumps(result, indent=2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
