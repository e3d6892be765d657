"""``zhizao forecast``: the batch forecasting command (a stable interface: scripts and evaluations call it)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import typer


def register(cli: typer.Typer) -> None:
    cli.command("forecast")(forecast)


def forecast(
    input_file: Path = typer.Option(..., "--input", help="Series file (M4 layout: id, then the values; ragged rows)"),
    file_format: str = typer.Option("m4", "--format", help="Input layout; 'm4' is the one supported"),
    horizon: int = typer.Option(..., "--horizon", help="Steps to forecast (H)"),
    season: int = typer.Option(1, "--season", help="Season length in steps (S; 1 = none)"),
    output: Path = typer.Option(..., "--output", help="CSV to write: id,F1,...,FH, one row per input series"),
    models: str = typer.Option("auto", "--models", help="Comma-separated candidates (naive, snaive, naive2, theta, "
                               "ets, mstl, arima, lgbm; croston/sba/tsb/adida are added for intermittent series) "
                               "or 'auto'"),
    level: float = typer.Option(90.0, "--level", help="Prediction interval coverage in percent"),
    intervals: Path = typer.Option(None, "--intervals", help="Also write the interval bounds: id,bound,F1,...,FH"),
    selection: str = typer.Option("group", "--selection", help="Choose per 'group' (robust) or per 'series'"),
    origins: int = typer.Option(1, "--origins", help="Backtest origins (each costs one more fit of every model)"),
    jobs: int = typer.Option(0, "--jobs", help="Worker processes/threads (0 = all CPU cores)"),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON on stdout"),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar"),
) -> None:
    """Forecast every series of a file; the model (or combination) is chosen by backtesting on each file's own
    history. Bad values are reported with their line and column on stderr and treated as missing."""
    from zhizao.apps.forecasting.engine import Forecaster, ForecastInputError
    from zhizao.apps.forecasting.m4io import M4FormatError, read_m4, write_forecasts

    if file_format.lower() != "m4":
        _fail(f"--format: unsupported {file_format!r}; supported: m4")
    started = time.monotonic()
    try:
        data = read_m4(input_file)
    except M4FormatError as exc:
        _fail(f"--input: {exc}")
    for problem in data.problems:
        typer.echo(problem, err=True)
    names = "auto" if models.strip() == "auto" else tuple(m.strip() for m in models.split(",") if m.strip())
    workers = jobs if jobs > 0 else (os.cpu_count() or 1)
    try:
        engine = Forecaster(horizon, season, models=names, level=level, selection=selection, origins=origins,
                            jobs=workers)
    except ForecastInputError as exc:
        _fail(f"--{exc}")
    run = _with_progress(engine, data.values, quiet)
    write_forecasts(output, data.ids, run.forecasts, horizon)
    if intervals is not None:
        _write_intervals(intervals, data.ids, run, horizon)
    for index, note in run.notes:
        typer.echo(f"{input_file}: series {data.ids[index]}: {note}", err=True)
    summary = {"input": str(input_file), "output": str(output), "problems": len(data.problems),
               "seconds": round(time.monotonic() - started, 1), **run.summary()}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(f"{len(data.ids)} series forecast {horizon} steps ahead -> {output} "
                   f"({summary['seconds']} s); chosen: {json.dumps(summary['chosen'])}", err=True)


def _with_progress(engine, values, quiet: bool):
    if quiet:
        return engine.forecast(values)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task("backtest", total=engine.stages())
        phase = {"fits": 0}

        def advance(model: str) -> None:
            phase["fits"] += 1
            stage = "backtest" if phase["fits"] <= engine.stages() - engine.stages() // (engine.origins + 1) \
                else "final fit"
            bar.update(task, completed=phase["fits"] - 1, description=f"{stage}: {model}")

        engine.progress = advance
        run = engine.forecast(values)
        bar.update(task, completed=engine.stages(), description="done")
    return run


def _write_intervals(path: Path, ids: list[str], run, horizon: int) -> None:
    import csv

    from zhizao.apps.forecasting.m4io import format_value

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "bound", *[f"F{h}" for h in range(1, horizon + 1)]])
        for series_id, lower, upper in zip(ids, run.lower, run.upper, strict=True):
            writer.writerow([series_id, f"lo-{run.level:g}", *[format_value(float(v)) for v in lower]])
            writer.writerow([series_id, f"hi-{run.level:g}", *[format_value(float(v)) for v in upper]])


def _fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(2)
