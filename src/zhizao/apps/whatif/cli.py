"""``zhizao whatif``: compare a scenario file with the plant as modelled."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(cli: typer.Typer) -> None:
    cli.command("whatif")(whatif)


def whatif(
    scenario_file: Path = typer.Option(..., "--scenario", exists=True, dir_okay=False,
                                       help="Scenario (YAML or JSON): extra_machines, buffer_capacity, cycle_factor, "
                                            "shifts, pm_interval_h, run_to_failure, order_load"),
    days: float = typer.Option(7.0, help="Simulated days measured per replication"),
    warmup_h: float = typer.Option(24.0, "--warmup-h", help="Simulated hours discarded at the start"),
    replications: int = typer.Option(5, help="Replications of baseline and scenario (same seeds)"),
    seed: int = typer.Option(1, help="Seed of the first replication"),
    workers: int = typer.Option(None, help="Processes (default: CPU count, at most 4)"),
    data_dir: Path = typer.Option(None, "--data-dir", help="Data folder whose plant to use (default: the demo plant)"),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON"),
) -> None:
    """What-if on the digital twin: throughput, WIP, lead time, on-time rate, OEE and energy per unit of
    the plant as modelled and with the scenario's changes, with 95 % confidence intervals."""
    from pydantic import ValidationError
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table
    from ruamel.yaml import YAML, YAMLError

    from zhizao.apps.whatif.engine import ScenarioError, compare
    from zhizao.apps.whatif.model import RunSettings, Scenario
    from zhizao.cli import fail, settings_for
    from zhizao.runtime import load_configured_plant

    try:
        raw = YAML(typ="safe").load(scenario_file.read_text(encoding="utf-8")) or {}
        scenario = Scenario.model_validate(raw)
        settings = RunSettings(days=days, warmup_h=warmup_h, replications=replications, seed=seed)
    except (YAMLError, ValidationError) as exc:
        fail(f"{scenario_file}: {exc}")
    plant = load_configured_plant(settings_for(data_dir, demo=data_dir is None))
    err = Console(stderr=True)
    try:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("replications", total=2 * replications)
            result = compare(plant, scenario, settings, workers=workers,
                             progress=lambda done, total: bar.update(task, completed=done))
    except ScenarioError as exc:
        fail(f"{scenario_file}: {exc}")
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=1))
        return

    def fmt(est) -> str:
        if est.mean is None:
            return "-"
        return f"{est.mean:.3f}" + (f" ± {est.half_width:.3f}" if est.half_width is not None else "")

    table = Table(title=f"{scenario.name}: {replications} replications × {days:g} days ({result.wall_s:.0f} s)")
    for column in ("KPI", "baseline", "scenario", "difference", "verdict"):
        table.add_column(column)
    for k in result.kpis:
        table.add_row(k.kpi, fmt(k.baseline), fmt(k.scenario), fmt(k.difference), k.verdict)
    Console().print(table)
