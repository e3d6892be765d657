"""``zhizao energy ...``: load-shifting plans and the example tariff, without a running platform.

``zhizao energy shift [PROBLEM.json]`` plans the flexible loads of a problem file (the JSON of
``ShiftProblemIn``; default: the stock-preparation example) on a tariff (``--tariff FILE``, the JSON
of ``Tariff``; default: the example), prints the as-soon-as-possible and least-cost plans and the
saving. ``zhizao energy example`` prints both example documents, to start a plant's own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer


def register(cli: typer.Typer) -> None:
    energy_app = typer.Typer(help="Energy & carbon: load shifting of flexible loads.", no_args_is_help=True)
    cli.add_typer(energy_app, name="energy")

    @energy_app.command("shift")
    def shift_command(
        problem_file: Path = typer.Argument(None, help="Problem JSON (loads, buffers); default: the example"),
        tariff_file: Path = typer.Option(None, "--tariff", help="Tariff JSON; default: the example"),
        time_limit: float = typer.Option(10.0, "--time-limit", help="Solver seconds"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout"),
    ) -> None:
        """Least-cost run windows vs running as soon as possible, every buffer limit checked."""
        from pydantic import ValidationError
        from rich.console import Console

        from zhizao.apps.energy import shifting
        from zhizao.apps.energy.model import ShiftProblemIn, example_problem
        from zhizao.apps.energy.tariff import Tariff, example_tariff

        try:
            spec = ShiftProblemIn.model_validate_json(problem_file.read_text()) if problem_file else example_problem()
            tariff = Tariff.model_validate_json(tariff_file.read_text()) if tariff_file else example_tariff()
        except (OSError, ValidationError) as exc:
            typer.secho(f"{problem_file if problem_file else tariff_file}: {exc}", fg="red", err=True)
            raise typer.Exit(2) from None
        count = 1440 // spec.slot_minutes
        bands = tariff.minute_bands()
        prices = [tariff.prices[bands[i * spec.slot_minutes]] for i in range(count)]
        problem = spec.problem(prices)
        try:
            problem.validate()
        except ValueError as exc:
            typer.secho(f"{problem_file or 'example'}: {exc}", fg="red", err=True)
            raise typer.Exit(2) from None
        with Console(stderr=True).status("planning (ASAP, then CP-SAT)..."):
            asap = shifting.asap(problem)
            target = shifting.same_end_levels(problem, asap) if asap.feasible else problem
            best = shifting.solve(target, time_limit_s=time_limit, hint=asap)
        result = {
            "slot_minutes": spec.slot_minutes, "currency": tariff.currency,
            "asap": {"cost": asap.cost, "energy_kwh": asap.energy_kwh, "violations": asap.violations,
                     "starts": asap.starts, "on": asap.on},
            "optimised": {"cost": best.cost, "energy_kwh": best.energy_kwh, "status": best.status,
                          "bound": best.bound, "violations": shifting.check(problem, best.on),
                          "starts": best.starts, "on": best.on},
        }
        if asap.feasible and best.feasible and asap.cost > 0:
            result["saving_pct"] = (asap.cost - best.cost) / asap.cost * 100
        if as_json:
            json.dump(result, sys.stdout, indent=1)
            sys.stdout.write("\n")
            return
        for name in ("asap", "optimised"):
            r = result[name]
            typer.echo(f"{name:>9}: {r['cost']:10.2f} {tariff.currency}  {r['energy_kwh']:9.1f} kWh  "
                       f"{'ok' if not r['violations'] else '; '.join(r['violations'])}")
            for load, xs in r["on"].items():
                typer.echo(f"{'':>11}{load:<10} {''.join('█' if x else '·' for x in xs)}")
        if "saving_pct" in result:
            typer.echo(f"saving: {result['saving_pct']:.1f} %")

    @energy_app.command("example")
    def example_command() -> None:
        """The example tariff and flexible-load problem as JSON, to edit."""
        from zhizao.apps.energy.model import example_problem
        from zhizao.apps.energy.tariff import default_emission_factor, example_tariff

        typer.echo(json.dumps({"tariff": example_tariff().model_dump(), "emission_factor":
                               default_emission_factor().model_dump(), "flexible": example_problem().model_dump()},
                              ensure_ascii=False, indent=1))
