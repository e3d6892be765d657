"""C-MAPSS RUL benchmark: engine-wise cross-validation of the CNN ensemble beside LightGBM on window features
(and blends), and the time of a full `fit`. Writes benchmarks/results/cmapss.json.

    .venv/bin/python benchmarks/bench_cmapss.py [--data ../shared/data/cmapss] [--subset FD001] [--folds 5]
        [--rounds 5] [--seeds 5] [--threads 2]

The withheld test truth is never used: K folds by engine over the training engines; each held-out
engine is cut at random points as a test file does (``rounds`` cuts per engine) and the RUL at the
cut is predicted through the same code path as ``zhizao maintenance rul predict``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from zhizao.apps.maintenance.rul.cmapss import read_cmapss
from zhizao.apps.maintenance.rul.estimator import RulModel, RulParams
from zhizao.apps.maintenance.rul.validation import cross_validate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "cmapss.json"
DEFAULT_DATA = Path(os.environ.get("ZHIZAO_CMAPSS_DIR", ROOT / ".." / "shared" / "data" / "cmapss"))
GOALS = {"rmse": 12.0, "score": 250.0, "fit_seconds": 600.0}  # all: lower is better


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with train_<subset>.txt")
    parser.add_argument("--subset", default="FD001")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5, help="random cuts per held-out engine")
    parser.add_argument("--seeds", type=int, default=RulParams.seeds, help="CNN ensemble members")
    parser.add_argument("--epochs", type=int, default=RulParams.epochs)
    parser.add_argument("--threads", type=int, default=RulParams.threads)
    parser.add_argument("--blend", type=float, nargs="*", default=[0.5, 0.75], help="LightGBM weights of the "
                        "blends reported beside the fitted model's own (params.baseline_weight)")
    parser.add_argument("--no-full-fit", action="store_true", help="skip timing a fit on all training engines")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    train_file = args.data / f"train_{args.subset}.txt"
    frame = read_cmapss(train_file).frame
    params = RulParams(seeds=args.seeds, epochs=args.epochs, threads=args.threads)
    load_before = os.getloadavg()
    bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), disable=args.no_progress)
    fold_seconds: list[float] = []

    def fit_predict(train, test_like):
        started = time.perf_counter()
        model = RulModel(params).fit(train)
        cnn = model.predict_member_last(test_like, "cnn")
        lgbm = model.predict_member_last(test_like, "lightgbm")
        fold_seconds.append(round(time.perf_counter() - started, 1))
        weights = sorted({*args.blend, params.baseline_weight} - {0.0, 1.0})
        return {"cnn": cnn, "lightgbm": lgbm,
                **{f"blend_{w:g}": {u: (1 - w) * cnn[u] + w * lgbm[u] for u in cnn} for w in weights}}

    with bars:
        task = bars.add_task("cross-validation folds", total=args.folds)
        cv = cross_validate(frame, fit_predict, k=args.folds, rounds=args.rounds,
                            on_fold=lambda done, _total: bars.update(task, completed=done))
        full = None
        if not args.no_full_fit:
            fit_task = bars.add_task("full fit", total=1)
            started = time.perf_counter()
            model = RulModel(params).fit(frame)
            training = model.meta["training"]
            full = {"fit_seconds": round(time.perf_counter() - started, 1), "windows": training["windows"],
                    "sensors": training["sensors"], "regimes": training["regimes"], "members": training["members"]}
            bars.update(fit_task, completed=1)

    main_method = {0.0: "cnn", 1.0: "lightgbm"}.get(params.baseline_weight, f"blend_{params.baseline_weight:g}")
    figures = cv["methods"][main_method]
    measured = {"rmse": figures["rmse_mean"], "score": figures["score_mean"],
                "fit_seconds": full["fit_seconds"] if full else None}
    result = {
        "benchmark": "cmapss",
        "subset": args.subset,
        "model": main_method,
        "goals": {k: {"goal": g, "measured": measured[k], "met": None if measured[k] is None else measured[k] <= g}
                  for k, g in GOALS.items()},
        "cross_validation": cv,
        "fold_fit_predict_seconds": fold_seconds,
        "full_fit": full,
        "params": asdict(params),
        "env": {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
                "torch": __import__("torch").__version__, "lightgbm": __import__("lightgbm").__version__,
                "loadavg_before": [round(v, 2) for v in load_before],
                "loadavg_after": [round(v, 2) for v in os.getloadavg()]},
    }
    text = json.dumps(result, indent=2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
