"""``zhizao maintenance``: the C-MAPSS RUL batch CLI (``rul``), the Dask fleet (``fleet``) and the
simulated-plant evaluation of the early warnings (``evaluate``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer


def register(cli: typer.Typer) -> None:
    from zhizao.apps.maintenance.rul.cli import rul_app

    maintenance_app = typer.Typer(help="Predictive maintenance: RUL, fleet health, early warnings.",
                                  no_args_is_help=True)
    maintenance_app.add_typer(rul_app, name="rul")
    maintenance_app.command("fleet")(fleet)
    maintenance_app.command("evaluate")(evaluate)
    cli.add_typer(maintenance_app, name="maintenance")


def fleet(
    assets: int = typer.Option(1000, min=1, help="Simulated field assets to train and score"),
    scheduler: str = typer.Option(None, help="Dask scheduler address (default: ZHIZAO_DASK_SCHEDULER, "
                                             "else a LocalCluster)"),
    workers: int = typer.Option(2, min=1, help="LocalCluster worker processes"),
    chunk: int = typer.Option(20, min=1, help="Assets per Dask task"),
    top: int = typer.Option(20, min=0, help="Assets of the risk ranking to print (all with --json)"),
    as_json: bool = typer.Option(False, "--json", help="JSON only on stdout"),
) -> None:
    """Train and score a per-asset health model for every asset of a fleet on Dask; rank them by risk."""
    from zhizao.apps.maintenance.fleet import run_fleet

    with _progress("assets") as (bar, task):
        result = run_fleet(assets=assets, scheduler=scheduler, workers=workers, chunk=chunk,
                           progress=lambda done, total: bar.update(task, completed=done / total))
    if not as_json:
        result["ranking"] = result["ranking"][:top]
    typer.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))


@contextmanager
def _progress(label: str) -> Iterator[tuple[Any, Any]]:
    """A progress bar on stderr (stdout stays clean for --json)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(label), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                  transient=True, console=Console(stderr=True)) as bar:
        yield bar, bar.add_task(label, total=1.0)


def evaluate(
    seed: int = typer.Option(2026, help="Simulator seed"),
    train_days: float = typer.Option(7.0, help="Simulated days collected for training (nothing is scored)"),
    eval_days: float = typer.Option(56.0, help="Simulated days scored after training"),
    sample_period_s: float = typer.Option(10.0, help="Instrument sample period of the simulator, seconds"),
    horizon_h: float = typer.Option(24.0, help="A warning not followed by a failure within this is false"),
    as_json: bool = typer.Option(False, "--json", help="JSON only on stdout"),
) -> None:
    """Run the demo plant headless, train the health models on the first days, score the rest:
    share of failures warned, lead time, false alarms per machine-week."""
    from zhizao.apps.maintenance.simeval import evaluate_warnings
    from zhizao.assets.loader import load_demo_plant

    with _progress("simulating") as (bar, task):
        result = evaluate_warnings(load_demo_plant(), seed=seed, train_days=train_days, eval_days=eval_days,
                                   sample_period_s=sample_period_s, horizon_h=horizon_h,
                                   progress=lambda share: bar.update(task, completed=share))
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "models"}, indent=2))
