"""Fleet benchmark: per-asset health models for 1,000 simulated assets trained and scored on Dask.
Writes benchmarks/results/fleet.json.

    .venv/bin/python benchmarks/bench_fleet.py [--assets 1000] [--workers 2] [--scheduler tcp://host:8786]

Reports end-to-end time (cluster start included), peak memory of the client and of every worker,
and how well the risk ranking finds the degrading assets (precision@k, k = number of degrading ones).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from zhizao.apps.maintenance.fleet import FleetConfig, run_fleet

RESULTS = Path(__file__).parent / "results" / "fleet.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (1 thread each)")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address (default: ZHIZAO_DASK_SCHEDULER "
                                                          "or a LocalCluster)")
    parser.add_argument("--chunk", type=int, default=20, help="assets per Dask task")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    load_before = os.getloadavg()
    bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), disable=args.no_progress)
    with bars:
        task = bars.add_task("fit + score assets", total=args.assets)
        result = run_fleet(args.assets, FleetConfig(seed=args.seed), scheduler=args.scheduler, workers=args.workers,
                           chunk=args.chunk, progress=lambda done, _total: bars.update(task, completed=done))
    ranking = result.pop("ranking")
    result = {
        "benchmark": "fleet",
        **result,
        "model": "per-asset regime-aware PCA (k-means regimes on load/speed; T² and SPE vs healthy 99th pct)",
        "top_20": ranking[:20],
        "missed_degrading": [r["asset"] for r in ranking[result["k"]:] if r["degrading"]],
        "env": {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
                "dask": __import__("dask").__version__,
                "loadavg_before": [round(v, 2) for v in load_before],
                "loadavg_after": [round(v, 2) for v in os.getloadavg()]},
    }
    text = json.dumps(result, indent=2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
