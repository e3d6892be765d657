"""Early warnings on the simulated plant: prints the figures as JSON and writes benchmarks/results/sim_warnings.json.

Runs the demo plant headless with a fixed seed, trains each machine's health model on the
first days only and scores the following weeks exactly as the live service does (see
``zhizao.apps.maintenance.simeval``): share of failures preceded by a warning (goal ≥ 80 %),
median lead time in simulated hours, false alarms per machine-week.

    .venv/bin/python benchmarks/bench_sim_warnings.py [--seed 2026] [--train-days 7] [--eval-days 56]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from zhizao.apps.maintenance.simeval import evaluate_warnings
from zhizao.assets.loader import load_demo_plant

RESULTS = Path(__file__).parent / "results" / "sim_warnings.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026, help="simulator seed")
    parser.add_argument("--train-days", type=float, default=7.0, help="simulated days used for training only")
    parser.add_argument("--eval-days", type=float, default=56.0, help="simulated days scored after training")
    parser.add_argument("--sample-period", type=float, default=10.0, help="instrument sample period, seconds")
    parser.add_argument("--horizon-h", type=float, default=24.0, help="false alarm: no failure within this")
    args = parser.parse_args()
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task("sim", total=1.0)
        result = evaluate_warnings(load_demo_plant(), seed=args.seed, train_days=args.train_days,
                                   eval_days=args.eval_days, sample_period_s=args.sample_period,
                                   horizon_h=args.horizon_h, progress=lambda share: bar.update(task, completed=share))
    result["goal"] = {"share_wear_failures_warned": ">= 0.80",
                      "met": (result["share_wear_failures_warned"] or 0) >= 0.8}
    result["machine"] = {"python": sys.version.split()[0], "platform": platform.platform(),
                         "cpus": os.cpu_count(), "loadavg": os.getloadavg()}
    text = json.dumps(result, indent=2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
