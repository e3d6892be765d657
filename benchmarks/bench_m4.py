"""M4 benchmark of ``zhizao forecast``: OWA against Naive2 by backtesting on the M4 training files.

For each evaluation window the last ``k * H`` points of every training series are cut off;
the CLI forecasts the next ``H`` from the rest (it chooses its models by backtesting on
that rest only, never seeing the window), and sMAPE, MASE (seasonal scale) and OWA against
Naive2 are computed on the window. Window 1 (the last H) estimates the withheld M4 test;
window 2 (the H before) checks that the choices were not tuned to one window. In the same
run, statsforecast's AutoETS alone is scored on the same windows. Wall time of the whole
CLI run and the load average are recorded (the machine may be shared).

    .venv/bin/python benchmarks/bench_m4.py [--set hourly|weekly] [--windows 1 2] [--no-ets]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from zhizao.apps.forecasting import baselines
from zhizao.apps.forecasting.m4io import read_m4
from zhizao.apps.forecasting.metrics import evaluate

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ZHIZAO_M4_DIR", ROOT.parent / "shared" / "data" / "m4"))
SETS = {"hourly": ("Hourly-train.csv", 48, 24), "weekly": ("Weekly-train.csv", 13, 52)}


def write_m4(path: Path, ids: list[str], series: list[np.ndarray]) -> None:
    width = max(len(s) for s in series)
    with path.open("w") as fh:
        fh.write(",".join(f'"V{i}"' for i in range(1, width + 2)) + "\n")
        for series_id, values in zip(ids, series, strict=True):
            cells = [f'"{v:.10g}"' for v in values] + [""] * (width - len(values))
            fh.write(",".join([f'"{series_id}"', *cells]) + "\n")


def read_output(path: Path) -> tuple[list[str], list[np.ndarray]]:
    lines = path.read_text().strip().splitlines()
    rows = [line.split(",") for line in lines[1:]]
    return [r[0] for r in rows], [np.array(r[1:], float) for r in rows]


def run_cli(train_file: Path, out: Path, horizon: int, season: int, extra: list[str]) -> tuple[float, dict]:
    command = [sys.executable, "-m", "zhizao.cli", "forecast", "--input", str(train_file), "--format", "m4",
               "--horizon", str(horizon), "--season", str(season), "--output", str(out), "--json", *extra]
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    return time.perf_counter() - started, json.loads(done.stdout)


def run_ets(train: list[np.ndarray], horizon: int, season: int) -> tuple[float, list[np.ndarray]]:
    from zhizao.apps.forecasting import stat_models

    started = time.perf_counter()
    forecasts = stat_models.run("ets", train, horizon, season, jobs=os.cpu_count() or 1)
    fallback = [f if f is not None else baselines.naive(y, horizon) for f, y in zip(forecasts, train, strict=True)]
    return time.perf_counter() - started, fallback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=sorted(SETS), default="hourly")
    parser.add_argument("--windows", type=int, nargs="+", default=[1, 2], help="1 = last H points, 2 = the H before")
    parser.add_argument("--no-ets", action="store_true", help="skip the AutoETS comparison")
    parser.add_argument("--cli-args", default="", help="extra arguments for zhizao forecast (quoted)")
    args = parser.parse_args()
    file_name, horizon, season = SETS[args.set]
    path = DATA / file_name
    if not path.exists():
        sys.exit(f"{path}: M4 data not found (set ZHIZAO_M4_DIR)")
    data = read_m4(path)
    result: dict = {"benchmark": f"m4_{args.set}", "series": len(data.ids), "horizon": horizon, "season": season,
                    "machine": {"python": platform.python_version(), "platform": platform.platform(),
                                "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()},
                    "windows": []}
    for window in args.windows:
        cut = window * horizon
        train = [v[:len(v) - cut] for v in data.values]
        actual = [v[len(v) - cut:len(v) - cut + horizon] for v in data.values]
        naive2 = [baselines.naive2(y, horizon, season) for y in train]
        entry: dict = {"window": window, "held_out": f"points {cut}..{cut - horizon + 1} from the end"}
        with tempfile.TemporaryDirectory() as tmp:
            train_file, out = Path(tmp) / "train.csv", Path(tmp) / "forecast.csv"
            write_m4(train_file, data.ids, train)
            load_before = os.getloadavg()
            seconds, summary = run_cli(train_file, out, horizon, season, args.cli_args.split())
            ids, forecasts = read_output(out)
        if ids != data.ids:
            raise SystemExit("the CLI output does not have one row per input series in input order")
        entry["cli"] = {"seconds": round(seconds, 1), "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
                        "chosen": summary["chosen"], "backtest_best": _best(summary["backtest"]),
                        **evaluate(train, actual, forecasts, naive2, season)}
        print(json.dumps({"window": window, "cli": entry["cli"]}, indent=1), file=sys.stderr)
        if not args.no_ets:
            seconds, ets = run_ets(train, horizon, season)
            entry["autoets"] = {"seconds": round(seconds, 1), **evaluate(train, actual, ets, naive2, season)}
            print(json.dumps({"window": window, "autoets": entry["autoets"]}, indent=1), file=sys.stderr)
        result["windows"].append(entry)
    result["machine"]["loadavg_end"] = os.getloadavg()
    text = json.dumps(result, indent=2)
    out_file = Path(__file__).parent / "results" / f"m4_{args.set}.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(text + "\n")
    print(text)


def _best(backtest: dict) -> dict:
    return {group: min(rows.items(), key=lambda kv: kv[1]["owa"])[0] for group, rows in backtest.items() if rows}


if __name__ == "__main__":
    main()
