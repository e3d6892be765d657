"""``zhizao process``: key parameters and recommended setpoints from batch records; the closed-loop demo."""

from __future__ import annotations

import json
from pathlib import Path

import typer

process_app = typer.Typer(help="Process-parameter optimisation: key parameters, surrogate, recommended setpoints.",
                          no_args_is_help=True)


def register(cli: typer.Typer) -> None:
    cli.add_typer(process_app, name="process")


@process_app.command("analyse")
def analyse_cmd(
    batches: Path = typer.Option(..., "--batches", exists=True, dir_okay=False,
                                 help="CSV of recorded batches: one column per parameter and the outcome"),
    spec_file: Path = typer.Option(..., "--spec", exists=True, dir_okay=False,
                                   help="YAML: parameters (name, low, high, unit), outcome, direction, constraints"),
    as_json: bool = typer.Option(False, "--json", help="Print the analysis as JSON"),
) -> None:
    """Rank the parameters, fit the surrogate (cross-validated R²) and recommend setpoints within the limits."""
    from rich.console import Console
    from rich.table import Table

    from zhizao.apps.process.records import RecordError, load_batches, load_spec
    from zhizao.apps.process.service import analyse
    from zhizao.cli import fail

    try:
        spec = load_spec(spec_file)
        rows, problems = load_batches(batches, spec)
    except RecordError as exc:
        fail(str(exc))
    err = Console(stderr=True)
    for problem in problems:
        err.print(f"[yellow]skipped[/yellow] {problem}")
    result = analyse(spec, rows)
    if as_json:
        typer.echo(json.dumps({**result.model_dump(), "skipped": problems}, ensure_ascii=False, indent=1))
        return
    out = Console()
    out.print(f"{result.batches} batches; surrogate cross-validated R² = {result.surrogate_r2_cv:.3f}")
    table = Table(title="Key parameters (permutation importance)")
    table.add_column("parameter")
    table.add_column("importance", justify="right")
    for imp in result.importance:
        table.add_row(imp.parameter, f"{imp.importance:.3f} ± {imp.spread:.3f}")
    out.print(table)
    rec = result.recommendation
    table = Table(title=f"Recommended setpoints: expected {spec.outcome} {rec.predicted:.3f} ± {rec.predicted_std:.3f}")
    table.add_column("parameter")
    table.add_column("setpoint", justify="right")
    for p in spec.parameters:
        table.add_row(f"{p.name} [{p.unit}]" if p.unit else p.name, f"{rec.setpoints[p.name]:.4g}")
    out.print(table)


@process_app.command("demo")
def demo_cmd(
    seed: int = typer.Option(0, help="Which simulated process (each seed hides another optimum)"),
    budget: int = typer.Option(30, min=1, max=200, help="Batches the closed loop may run"),
    method: str = typer.Option("bayes", help="bayes (Optuna Gaussian process) or random"),
) -> None:
    """Closed loop on the simulated injection-moulding process: how close the recommendation gets to
    the hidden optimum (JSON)."""
    from zhizao.apps.process.service import closed_loop
    from zhizao.cli import fail

    if method not in ("bayes", "random"):
        fail(f"--method: '{method}' is not bayes or random")
    result = closed_loop(seed, budget, method)
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "trace"}, indent=1))
