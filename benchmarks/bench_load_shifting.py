"""Load shifting: cost reduction of the CP-SAT plan against running the loads as soon as possible.

On the example time-of-use day (Jiangsu-like periods, 96 slots of 15 minutes) it plans the
stock-preparation example and random variants (chains pulper -> chest -> refiner -> chest and
two loads feeding one chest, random powers, rates, run constraints, start budgets, chest sizes
and machine stops; seeds 0..N-1). For each: the ASAP reference, then the least-cost plan that
leaves every buffer at least as full as ASAP does at the end of the day. Both plans are verified
here, independently of the solver and of ``shifting.check``: levels re-simulated slot by slot
against low/high and the end level, run and pause lengths, starts, and the cost recomputed from
prices and powers. A scenario where the greedy ASAP rule itself breaks a limit is counted and
left out of the figure (there is no limit-respecting reference to compare with).

    .venv/bin/python benchmarks/bench_load_shifting.py [--scenarios 20] [--time-limit 20]

JSON on stdout and in benchmarks/results/load_shifting.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from rich.progress import Progress

from zhizao.apps.energy.scenarios import random_problem, stock_preparation
from zhizao.apps.energy.shifting import Problem, asap, same_end_levels, solve
from zhizao.apps.energy.tariff import example_tariff

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "load_shifting.json"
TOL = 1e-6


def verify(problem: Problem, on: dict[str, list[int]], end_levels: dict[str, float]) -> tuple[list[str], float, float]:
    """Broken rules, cost and kWh of a plan, recomputed from scratch."""
    broken: list[str] = []
    n = len(problem.prices)
    for b in problem.buffers:
        level = b.initial
        for t in range(n):
            level -= b.demand[t] if b.demand else 0.0
            for ld in problem.loads:
                if on[ld.name][t]:
                    level += ld.outputs.get(b.name, 0.0) - ld.inputs.get(b.name, 0.0)
            if not b.low - TOL <= level <= b.high + TOL:
                broken.append(f"{b.name} slot {t}: {level:.3f} outside [{b.low}, {b.high}]")
                break
        if level < end_levels[b.name] - TOL:
            broken.append(f"{b.name} ends at {level:.3f} < {end_levels[b.name]:.3f}")
    cost = kwh = 0.0
    for ld in problem.loads:
        xs = on[ld.name]
        starts = sum(1 for t in range(n) if xs[t] and (xs[t - 1] == 0 if t else not ld.initially_on))
        if ld.max_starts is not None and starts > ld.max_starts:
            broken.append(f"{ld.name}: {starts} starts")
        t = 0
        while t < n:
            u = t
            while u < n and xs[u] == xs[t]:
                u += 1
            length, ends_day = u - t, u == n
            if xs[t] and length < ld.min_on and not ends_day and not (t == 0 and ld.initially_on):
                broken.append(f"{ld.name}: run of {length} at {t}")
            if not xs[t] and length < ld.min_off and not ends_day and t > 0:
                broken.append(f"{ld.name}: pause of {length} at {t}")
            t = u
        for t in range(n):
            if xs[t]:
                kwh += ld.power_kw * problem.slot_minutes / 60
                cost += ld.power_kw * problem.slot_minutes / 60 * problem.prices[t]
    return broken, cost, kwh


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=20, help="random scenarios besides the example")
    parser.add_argument("--time-limit", type=float, default=20.0, help="CP-SAT seconds per scenario")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    tariff = example_tariff()
    bands = tariff.minute_bands()
    prices = [tariff.prices[bands[i * 15]] for i in range(96)]
    cases = [("example", stock_preparation(prices))] + [(f"seed{s}", random_problem(prices, s))
                                                        for s in range(args.scenarios)]
    load_before = os.getloadavg()
    rows, skipped = [], []
    began = time.perf_counter()
    with Progress(transient=True, console=None) as progress:
        task = progress.add_task("load shifting", total=len(cases))
        for name, problem in cases:
            reference = asap(problem)
            initial = {b.name: (b.initial if b.final_min is None else b.final_min) for b in problem.buffers}
            ref_broken, ref_cost, ref_kwh = verify(problem, reference.on, initial)
            if ref_broken:
                skipped.append({"scenario": name, "asap_broke": ref_broken[:3]})
                progress.advance(task)
                continue
            target = same_end_levels(problem, reference)
            best = solve(target, time_limit_s=args.time_limit, workers=args.workers, hint=reference)
            ends = {b.name: b.final_min for b in target.buffers}
            broken, cost, kwh = verify(problem, best.on, ends)
            rows.append({
                "scenario": name, "loads": len(problem.loads), "buffers": len(problem.buffers),
                "asap_cost": round(ref_cost, 2), "optimised_cost": round(cost, 2),
                "cost_reduction_pct": round((ref_cost - cost) / ref_cost * 100, 2),
                "asap_kwh": round(ref_kwh, 1), "optimised_kwh": round(kwh, 1),
                "asap_price_per_kwh": round(ref_cost / ref_kwh, 4), "optimised_price_per_kwh": round(cost / kwh, 4),
                "price_per_kwh_reduction_pct": round((1 - (cost / kwh) / (ref_cost / ref_kwh)) * 100, 2),
                "status": best.status,
                "gap_pct": round(max(cost - best.bound, 0.0) / cost * 100, 2) if best.bound is not None else None,
                "solve_s": round(best.solve_s, 2), "limits_kept": not broken, "broken": broken[:3],
            })
            progress.advance(task)
    reductions = [r["cost_reduction_pct"] for r in rows]
    result = {
        "goal": "cost reduction vs ASAP on a tariff day, all buffer limits respected (checked independently)",
        "tariff": tariff.name, "prices": tariff.prices, "slots": 96, "slot_minutes": 15,
        "scenarios_planned": len(rows), "scenarios_skipped_asap_broke_limits": len(skipped),
        "all_limits_kept": all(r["limits_kept"] for r in rows),
        "cost_reduction_pct": {
            "example": next((r["cost_reduction_pct"] for r in rows if r["scenario"] == "example"), None),
            "median": round(statistics.median(reductions), 2) if reductions else None,
            "mean": round(statistics.fmean(reductions), 2) if reductions else None,
            "min": min(reductions, default=None), "max": max(reductions, default=None),
        },
        # The part that is shifting in time alone (the average price paid per kWh), apart from using
        # less energy (e.g. the more efficient of two loads feeding one chest).
        "price_per_kwh_reduction_pct_median": round(statistics.median(r["price_per_kwh_reduction_pct"]
                                                                      for r in rows), 2) if rows else None,
        "proven_optimal": sum(r["status"] == "optimal" for r in rows),
        "time_limit_s": args.time_limit, "workers": args.workers,
        "wall_s": round(time.perf_counter() - began, 1),
        "rows": rows, "skipped": skipped,
        "env": {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine(),
                "loadavg_before": [round(v, 2) for v in load_before],
                "loadavg_after": [round(v, 2) for v in os.getloadavg()]},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    json.dump(main(), sys.stdout, indent=1)
    sys.stdout.write("\n")
