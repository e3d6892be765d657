"""``zhizao spc chart FILE``: a control chart and capability of exported measurements.

FILE is a text or CSV file: one value per line, or a header row and ``--column`` naming the
value column (default: the last column). The first ``--baseline`` values (default: all) are
Phase I; their limits are frozen and every value is then charted against them.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import typer


def read_values(file: Path, column: str | None) -> list[float]:
    """Numbers of one column; a line that is not a number is an error naming the line."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"{file}: {exc.strerror or exc}") from None
    rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{file}: no values")
    header = None
    try:
        float(rows[0][-1])
    except ValueError:
        header, rows = [c.strip() for c in rows[0]], rows[1:]
    index = len(header) - 1 if header else -1
    if column is not None:
        if header is None or column not in header:
            raise ValueError(f"{file}: --column {column!r} is not in the header {header}")
        index = header.index(column)
    values = []
    for line, row in enumerate(rows, start=2 if header else 1):
        try:
            v = float(row[index])
        except (ValueError, IndexError):
            raise ValueError(f"{file}:{line}: {row!r} has no number in the value column") from None
        if not math.isfinite(v):
            raise ValueError(f"{file}:{line}: {v} is not a finite number")
        values.append(v)
    return values


def analyse(values: list[float], chart: str, subgroup_size: int, baseline: int | None, lsl: float | None,
            usl: float | None, rules: list[int]) -> dict:
    """Phase I on the first ``baseline`` values, the chart of all of them, and capability."""
    from zhizao.apps.spc.capability import capability
    from zhizao.apps.spc.charts import (
        cusum,
        estimate_individuals,
        estimate_xbar_r,
        ewma,
        imr,
        subgroups_of,
        xbar_r,
    )
    from zhizao.apps.spc.rules import RuleConfig

    phase1 = values[:baseline] if baseline else values
    config = RuleConfig(enabled=tuple(rules))
    if chart == "xbar_r":
        base = estimate_xbar_r(subgroups_of(phase1, subgroup_size))
        charts = xbar_r(subgroups_of(values, subgroup_size), base, config)
    else:
        base = estimate_individuals(phase1)
        charts = {"imr": lambda: imr(values, base, config),
                  "ewma": lambda: (ewma(values, base.mean, base.sigma),),
                  "cusum": lambda: (cusum(values, base.mean, base.sigma),)}[chart]()
    out: dict = {
        "chart": chart, "values": len(values),
        "baseline": {"mean": base.mean, "sigma": base.sigma, "spread": base.spread, "n": base.n,
                     "count": base.count},
        "series": [{"kind": c.kind, "centre": c.centre[0], "lcl": c.lcl[0], "ucl": c.ucl[0],
                    "violations": [{"index": v.index, "rule": v.rule, "start": v.start} for v in c.violations]}
                   for c in charts],
    }
    if lsl is not None or usl is not None:
        cap = capability(values, lsl, usl, base.sigma)
        out["capability"] = {k: (None if getattr(cap, k) is None else getattr(cap, k).__dict__)
                             for k in ("cp", "cpk", "pp", "ppk")} | {"out_of_spec": cap.out_of_spec, "n": cap.n}
    return out


def register(cli: typer.Typer) -> None:
    spc_app = typer.Typer(help="Statistical process control of exported measurements.", no_args_is_help=True)
    cli.add_typer(spc_app, name="spc")

    @spc_app.command("chart")
    def chart_command(
        file: Path = typer.Argument(..., help="Values: one per line, or CSV with a header"),
        chart: str = typer.Option("xbar_r", help="xbar_r, imr, ewma or cusum"),
        column: str = typer.Option(None, help="CSV column with the values (default: the last)"),
        subgroup_size: int = typer.Option(5, "--subgroup-size", help="X̄-R: consecutive values per subgroup"),
        baseline: int = typer.Option(None, help="Phase I: the first N values (default: all)"),
        lsl: float = typer.Option(None, help="Lower specification limit"),
        usl: float = typer.Option(None, help="Upper specification limit"),
        rules: str = typer.Option("1,2,3,4,5,6,7,8", help="Nelson rules to apply, e.g. 1,2,5,6"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout"),
    ) -> None:
        """Control limits from a Phase I baseline, rule violations and Cp/Cpk/Pp/Ppk."""
        if chart not in ("xbar_r", "imr", "ewma", "cusum"):
            _fail(f"--chart: expected xbar_r, imr, ewma or cusum, got {chart!r}")
        try:
            rule_numbers = [int(r) for r in rules.split(",") if r.strip()]
            result = analyse(read_values(file, column), chart, subgroup_size, baseline, lsl, usl, rule_numbers)
        except ValueError as exc:
            _fail(str(exc))
        if as_json:
            typer.echo(json.dumps(result, indent=1))
            return
        b = result["baseline"]
        typer.echo(f"{result['values']} values; Phase I: mean {b['mean']:.6g}, sigma {b['sigma']:.4g}")
        for s in result["series"]:
            found = ", ".join(f"#{v['index'] + 1} rule {v['rule']}" for v in s["violations"][:20]) or "none"
            typer.echo(f"{s['kind']:>6}: CL {s['centre']:.6g}  LCL {s['lcl']:.6g}  UCL {s['ucl']:.6g}  "
                       f"violations: {found}")
        for k, v in result.get("capability", {}).items():
            if isinstance(v, dict):
                typer.echo(f"{k:>6}: {v['value']:.3f}  ({v['low']:.3f} .. {v['high']:.3f})")


def _fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(2)
