"""``zhizao maintenance rul fit|predict``: the stable batch CLI for NASA C-MAPSS files.

    zhizao maintenance rul fit --train train_FD001.txt --model models/fd001 [--registry DIR]
    zhizao maintenance rul predict --model models/fd001 --test test_FD001.txt --json

``predict --json`` prints exactly one JSON object on stdout mapping each test unit (as a string)
to its RUL at the unit's last cycle; everything else (skipped rows, progress) goes to stderr.
Heavy libraries are imported inside the commands: ``zhizao --help`` imports this module.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

rul_app = typer.Typer(help="Remaining useful life from C-MAPSS-format run-to-failure files.", no_args_is_help=True)


def _fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)


def _read(path: Path, role: str):
    from zhizao.apps.maintenance.rul.cmapss import CmapssError, read_cmapss

    try:
        data = read_cmapss(path)
    except CmapssError as exc:
        _fail(f"--{role}: {exc}")
    for line in data.report():
        typer.echo(line, err=True)
    return data


@rul_app.command()
def fit(
    train: Path = typer.Option(..., "--train", help="Run-to-failure file: unit, cycle, 3 settings, 21 sensors"),
    model: Path = typer.Option(..., "--model", help="Folder to write the model into (created)"),
    registry: Path = typer.Option(None, "--registry", help="Also register the model in this model-registry root"),
    name: str = typer.Option(None, "--name", help="Registry model name (default: the training file's name)"),
    seeds: int = typer.Option(5, min=1, help="CNN ensemble members"),
    baseline_weight: float = typer.Option(1.0, "--lightgbm-weight", min=0.0, max=1.0,
                                          help="Share of LightGBM in predictions (rest: CNN)"),
    epochs: int = typer.Option(40, min=1, help="Most epochs per member (early stopping usually ends sooner)"),
    window: int = typer.Option(30, min=2, help="Cycles per input window"),
    cap: float = typer.Option(125.0, min=1.0, help="RUL cap of the piecewise-linear target"),
    seed: int = typer.Option(0, help="Random seed"),
    threads: int = typer.Option(1, min=1, help="CPU threads (1 is fastest for this small network on a busy host)"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar on stderr"),
) -> None:
    """Fit an RUL model (LightGBM on window features, with a CNN ensemble beside it) and write it to --model."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from zhizao.apps.maintenance.rul.estimator import RulModel, RulParams
    from zhizao.ml.registry import ModelRegistry, RegistryError, fingerprint

    data = _read(train, "train")
    if len(data.units) < 2:
        _fail(f"--train: {train} has {len(data.units)} unit; at least 2 run-to-failure units are needed")
    params = RulParams(window=window, cap=cap, seeds=seeds, epochs=epochs, seed=seed, threads=threads,
                       baseline_weight=baseline_weight)
    bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), disable=no_progress)
    tasks: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(f"fit {stage}", total=total)
        bars.update(tasks[stage], completed=done, total=total)

    try:
        with bars:
            estimator = RulModel(params).fit(data.frame, progress=progress)
    except ValueError as exc:
        _fail(f"--train: {train}: {exc}")
    estimator.meta["data"] = {"file": str(train), "fingerprint": fingerprint([train]),
                              "skipped_rows": len(data.issues)}
    estimator.save(model)
    summary = {"model": str(model), "units": estimator.meta["training"]["units"],
               "sensors": estimator.meta["training"]["sensors"], "regimes": estimator.meta["training"]["regimes"],
               "skipped_rows": len(data.issues), "metrics": estimator.meta["metrics"],
               "fit_seconds": estimator.meta["training"]["fit_seconds"]}
    if registry is not None:
        model_name = name or re.sub(r"[^A-Za-z0-9_.-]", "_", train.stem)[:64] or "rul"
        try:
            version = ModelRegistry(registry).register(
                "rul", model_name, model, metrics=estimator.meta["metrics"], params=estimator.meta["params"],
                data_fingerprint=estimator.meta["data"]["fingerprint"], notes=f"fitted on {train.name}")
        except RegistryError as exc:
            _fail(f"--registry: {exc}")
        summary["registry"] = {"kind": "rul", "name": model_name, "version": version.version,
                               "path": str(version.path)}
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        typer.echo(f"model written to {model}: {summary['units']} units, {len(summary['sensors'])} sensors, "
                   f"{summary['regimes']} regime(s), inner-validation RMSE "
                   f"{summary['metrics']['inner_val_rmse_mean']}, {summary['fit_seconds']} s")


@rul_app.command()
def predict(
    model: Path = typer.Option(..., "--model", help="Model folder written by `fit`"),
    test: Path = typer.Option(..., "--test", help="File whose units end before failure (same format as train)"),
    as_json: bool = typer.Option(False, "--json", help='Print {"<unit>": rul, ...} as one JSON object'),
    member: str = typer.Option(None, "--only", help="Use one side only: 'cnn' or 'lightgbm' (default: the fitted "
                                                   "blend, LightGBM alone unless fitted otherwise)"),
    threads: int = typer.Option(None, min=1, help="CPU threads (default: as fitted)"),
) -> None:
    """Predict each test unit's remaining useful life (cycles) at its last cycle."""
    from dataclasses import replace

    from zhizao.apps.maintenance.rul.estimator import ModelFolderError, RulModel

    if member not in (None, "cnn", "lightgbm"):
        _fail(f"--only: '{member}' must be 'cnn' or 'lightgbm'")
    try:
        estimator = RulModel.load(model)
    except ModelFolderError as exc:
        _fail(f"--model: {exc}")
    if threads is not None:
        estimator.params = replace(estimator.params, threads=threads)
    data = _read(test, "test")
    rul = estimator.predict_member_last(data.frame, member) if member else estimator.predict_last(data.frame)
    result = {str(unit): round(value, 3) for unit, value in sorted(rul.items())}
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo("unit\trul")
        for unit, value in result.items():
            typer.echo(f"{unit}\t{value:.1f}")
