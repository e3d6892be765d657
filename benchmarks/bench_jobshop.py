"""Job-shop benchmark: Zhizao's batch CLI against PyJobShop on ../shared/data/jobshop, gap to the best known bound.

    .venv/bin/python benchmarks/bench_jobshop.py [--families ft,la,...] [--instances ft06,mk01] [--time-limit 30]
        [--workers 2] [--limit N] [--solvers zhizao,pyjobshop] [--out benchmarks/results/jobshop.json]

Each instance is solved by ``zhizao schedule solve FILE --format ... --time-limit T --workers W --json`` in a
fresh process (the wall time includes start-up) and by PyJobShop 0.0.9 (OR-Tools CP-SAT back end, the same
time limit and workers) in another fresh process. Every schedule is checked here, independently of both
solvers, against the instance file: all operations once, eligible machine and its processing time,
precedence inside each job, no overlap on a machine, makespan = latest end. The gap is
(makespan - best known upper bound) / best known upper bound. Runs can be done in parts: rows of earlier
runs in the output file are kept (a re-run instance replaces its row) and the summary covers all rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean

DATA = Path(os.environ.get("ZHIZAO_SHARED_DATA", Path(__file__).resolve().parents[1] / "../shared/data")) / "jobshop"
RESULTS = Path(__file__).parent / "results" / "jobshop.json"
GOALS = {"ft": 1.0, "la": 1.0, "abz": 1.0, "orb": 3.0, "swv": 3.0, "yn": 3.0, "brandimarte": 2.0,
         "hurink_edata": 2.0}
JSP_FAMILIES = ("ft", "la", "abz", "orb", "swv", "yn")
FJSP_FAMILIES = {"brandimarte": "brandimarte/", "hurink_edata": "hurink/edata/", "fattahi": "fattahi/",
                 "kacem": "kacem/"}


def catalogue() -> list[dict]:
    """Every instance with its family, format, path and best known upper/lower bound."""
    items = []
    for entry in json.loads((DATA / "jsp" / "bounds.json").read_text()):
        family = next((f for f in JSP_FAMILIES if entry["name"].startswith(f)), None)
        if family:
            items.append(_item(entry, family, "jsplib", DATA / "jsp" / entry["path"]))
    for entry in json.loads((DATA / "fjsp" / "bounds.json").read_text()):
        family = next((f for f, prefix in FJSP_FAMILIES.items() if entry["path"].startswith(prefix)), None)
        if family:
            items.append(_item(entry, family, "fjs", DATA / "fjsp" / entry["path"]))
    return items


def _item(entry: dict, family: str, fmt: str, path: Path) -> dict:
    bounds = entry.get("bounds") or {}
    upper = entry["optimum"] if entry.get("optimum") is not None else bounds.get("upper")
    lower = entry["optimum"] if entry.get("optimum") is not None else bounds.get("lower")
    return {"name": entry["name"], "family": family, "format": fmt, "path": str(path), "best_upper": upper,
            "best_lower": lower}


def read_routes(path: str, fmt: str) -> list[list[dict[int, int]]]:
    """Independent reader: per job, per operation, {machine: processing time} as written in the file."""
    numbers: list[int] = []
    for line in Path(path).read_text().splitlines():
        if fmt == "jsplib" and line.strip().startswith("#"):
            continue
        numbers.extend(int(x) for x in line.split())
    if fmt == "jsplib":
        n_jobs, n_machines = numbers[0], numbers[1]
        pos, jobs = 2, []
        for _ in range(n_jobs):
            jobs.append([{numbers[pos + 2 * k]: numbers[pos + 2 * k + 1]} for k in range(n_machines)])
            pos += 2 * n_machines
        return jobs
    lines = [[int(x) for x in line.split()] for line in Path(path).read_text().splitlines() if line.strip()]
    jobs = []
    for values in lines[1:1 + lines[0][0]]:
        pos, ops = 1, []
        for _ in range(values[0]):
            k = values[pos]
            ops.append({values[pos + 1 + 2 * i]: values[pos + 2 + 2 * i] for i in range(k)})
            pos += 1 + 2 * k
        jobs.append(ops)
    return jobs


def check(routes: list[list[dict[int, int]]], answer: dict) -> list[str]:
    """Feasibility of a printed schedule, from the instance file alone."""
    problems = []
    seen = {}
    for o in answer["operations"]:
        key = (o["job"], o["op"])
        if key in seen:
            problems.append(f"operation {key} twice")
        seen[key] = o
    for j, ops in enumerate(routes):
        previous_end = 0
        for k, eligible in enumerate(ops):
            o = seen.get((j, k))
            if o is None:
                problems.append(f"operation {(j, k)} missing")
                continue
            if o["machine"] not in eligible:
                problems.append(f"operation {(j, k)} on machine {o['machine']}, not eligible")
            elif o["end"] - o["start"] != eligible[o["machine"]]:
                problems.append(f"operation {(j, k)} lasts {o['end'] - o['start']}, not {eligible[o['machine']]}")
            if o["start"] < previous_end or o["start"] < 0:
                problems.append(f"operation {(j, k)} starts before its predecessor ends")
            previous_end = o["end"]
    if len(seen) != sum(len(ops) for ops in routes):
        problems.append("unknown operations in the answer")
    by_machine: dict[int, list[dict]] = {}
    for o in answer["operations"]:
        by_machine.setdefault(o["machine"], []).append(o)
    for machine, items in by_machine.items():
        items.sort(key=lambda o: (o["start"], o["end"]))
        for a, b in zip(items, items[1:], strict=False):
            if b["start"] < a["end"]:
                problems.append(f"machine {machine}: {a['job']}.{a['op']} and {b['job']}.{b['op']} overlap")
    if answer["operations"] and answer["makespan"] != max(o["end"] for o in answer["operations"]):
        problems.append("makespan is not the latest end")
    return problems


# ``--cli app`` runs the scheduling app's own typer commands (independent of the other apps' CLIs);
# ``--cli zhizao`` runs the installed ``zhizao`` command with every app registered.
APP_ONLY = ("import typer; from zhizao.apps.scheduling.cli import register; cli = typer.Typer(); register(cli); "
            "cli(prog_name='zhizao')")


def run_zhizao(item: dict, time_limit: float, workers: int, cli: str = "app") -> tuple[dict | None, float, str]:
    entry = [str(Path(sys.executable).with_name("zhizao"))] if cli == "zhizao" else [sys.executable, "-c", APP_ONLY]
    command = [*entry, "schedule", "solve", item["path"], "--format", item["format"], "--time-limit",
               str(time_limit), "--workers", str(workers), "--json"]
    return _run(command, time_limit)


def run_pyjobshop(item: dict, time_limit: float, workers: int) -> tuple[dict | None, float, str]:
    command = [sys.executable, __file__, "--pyjobshop-one", item["path"], item["format"], str(time_limit),
               str(workers)]
    return _run(command, time_limit)


def _run(command: list[str], time_limit: float) -> tuple[dict | None, float, str]:
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=time_limit * 3 + 60)
    except subprocess.TimeoutExpired:
        return None, time.monotonic() - started, "timeout"
    wall = time.monotonic() - started
    if done.returncode != 0:
        return None, wall, f"exit {done.returncode}: {done.stderr.strip()[-300:]}"
    try:
        return json.loads(done.stdout), wall, ""
    except json.JSONDecodeError:
        return None, wall, f"no JSON on stdout: {done.stdout[:200]!r}"


def pyjobshop_one(path: str, fmt: str, time_limit: float, workers: int) -> None:
    """Solve one instance with PyJobShop (in this process) and print the answer in the Zhizao CLI's shape."""
    from pyjobshop import Model

    routes = read_routes(path, fmt)
    model = Model()
    n_machines = 1 + max(m for ops in routes for eligible in ops for m in eligible)
    machines = [model.add_machine() for _ in range(n_machines)]
    tasks = []
    for ops in routes:
        job = model.add_job()
        previous = None
        for eligible in ops:
            task = model.add_task(job=job)
            for machine, duration in eligible.items():
                model.add_mode(task, machines[machine], duration)
            if previous is not None:
                model.add_end_before_start(previous, task)
            previous = task
            tasks.append(task)
    result = model.solve(solver="ortools", time_limit=time_limit, num_workers=workers, display=False)
    answer_ops = []
    index = 0
    for j, ops in enumerate(routes):
        for k in range(len(ops)):
            scheduled = result.best.tasks[index]
            mode = model.modes[scheduled.mode]
            answer_ops.append({"job": j, "op": k, "machine": mode.resources[0], "start": scheduled.start,
                               "end": scheduled.end})
            index += 1
    print(json.dumps({"makespan": int(result.objective), "lower_bound": int(result.lower_bound),
                      "status": result.status.value.lower(), "operations": answer_ops}))


def summarise(rows: list[dict], time_limit: float) -> dict:
    summary: dict[str, dict] = {}
    for family in sorted({r["family"] for r in rows}):
        entry: dict = {"goal_gap_pct": GOALS.get(family)}
        for solver in sorted({r["solver"] for r in rows}):
            mine = [r for r in rows if r["family"] == family and r["solver"] == solver]
            if not mine:
                continue
            gaps = [r["gap_pct"] if r["gap_pct"] is not None else 100.0 for r in mine]
            entry[solver] = {
                "instances": len(mine),
                "mean_gap_pct": round(mean(gaps), 3),
                "feasible": sum(r["feasible"] for r in mine),
                "proven_optimal": sum(r["status"] == "optimal" for r in mine),
                "mean_wall_s": round(mean(r["wall_s"] for r in mine), 2),
                "max_wall_s": round(max(r["wall_s"] for r in mine), 2),
                "over_time_limit": sum(r["wall_s"] > r["time_limit"] + 1.0 for r in mine),
            }
        summary[family] = entry
    overall: dict = {}
    for solver in sorted({r["solver"] for r in rows}):
        mine = [r for r in rows if r["solver"] == solver]
        overall[solver] = {
            "instances": len(mine),
            "mean_gap_pct": round(mean(r["gap_pct"] if r["gap_pct"] is not None else 100.0 for r in mine), 3),
            "mean_of_family_means_pct": round(mean(e[solver]["mean_gap_pct"] for e in summary.values()
                                                   if solver in e), 3),
        }
    by_key = {(r["solver"], r["instance"]): r for r in rows}
    pairs = [(by_key[("zhizao", i)], by_key[("pyjobshop", i)]) for s, i in by_key
             if s == "zhizao" and ("pyjobshop", i) in by_key]
    if pairs:
        def gap(r: dict) -> float:
            return r["gap_pct"] if r["gap_pct"] is not None else 100.0
        overall["zhizao_vs_pyjobshop"] = {
            "instances": len(pairs),
            "better": sum(gap(z) < gap(p) for z, p in pairs),
            "equal": sum(gap(z) == gap(p) for z, p in pairs),
            "worse": sum(gap(z) > gap(p) for z, p in pairs),
        }
    summary["overall"] = overall
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(GOALS), help="comma-separated: " + ", ".join(
        list(JSP_FAMILIES) + list(FJSP_FAMILIES)))
    parser.add_argument("--instances", default="", help="comma-separated instance names (Hurink edata ones: e-la01)")
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="at most N instances per family, spread evenly")
    parser.add_argument("--solvers", default="zhizao,pyjobshop")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--cli", choices=("app", "zhizao"), default="app",
                        help="how to start Zhizao's CLI: the scheduling app's commands alone, or the full zhizao")
    parser.add_argument("--pyjobshop-one", nargs=4, metavar=("PATH", "FORMAT", "SECONDS", "WORKERS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pyjobshop_one:
        path, fmt, seconds, workers = args.pyjobshop_one
        pyjobshop_one(path, fmt, float(seconds), int(workers))
        return
    if not DATA.exists():
        sys.exit(f"data set not found: {DATA} (set ZHIZAO_SHARED_DATA)")
    families = [f for f in args.families.split(",") if f]
    wanted = {n for n in args.instances.split(",") if n}
    selected = []
    for family in families:
        items = [i for i in catalogue() if i["family"] == family and (not wanted or i["name"] in wanted)]
        if args.limit and len(items) > args.limit:
            step = len(items) / args.limit
            items = [items[int(k * step)] for k in range(args.limit)]
        selected.extend(items)
    solvers = {"zhizao": lambda item, t, w: run_zhizao(item, t, w, args.cli), "pyjobshop": run_pyjobshop}
    chosen = [s for s in args.solvers.split(",") if s]
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    rows = {(r["solver"], r["instance"]): r for r in previous.get("rows", [])}
    load_before = os.getloadavg()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=False) as progress:
        task = progress.add_task("jobshop", total=len(selected) * len(chosen))
        for item in selected:
            routes = read_routes(item["path"], item["format"])
            for solver in chosen:
                progress.update(task, description=f"{item['name']} ({solver})")
                answer, wall, error = solvers[solver](item, args.time_limit, args.workers)
                problems = check(routes, answer) if answer else [error]
                makespan = answer["makespan"] if answer and not problems else None
                upper = item["best_upper"]
                rows[(solver, item["name"])] = {
                    "solver": solver, "instance": item["name"], "family": item["family"],
                    "makespan": makespan, "lower_bound": answer["lower_bound"] if answer else None,
                    "status": answer["status"] if answer else "error", "best_known_upper": upper,
                    "gap_pct": round((makespan - upper) / upper * 100, 3) if makespan and upper else None,
                    "feasible": not problems, "problems": problems[:3], "wall_s": round(wall, 2),
                    "time_limit": args.time_limit, "workers": args.workers,
                    "cli": args.cli if solver == "zhizao" else None, "loadavg_1m": os.getloadavg()[0],
                }
                progress.advance(task)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                _write(args.out, list(rows.values()), args, load_before)
    print(json.dumps(json.loads(args.out.read_text())["summary"], indent=2))


def _write(out: Path, rows: list[dict], args: argparse.Namespace, load_before: tuple[float, ...]) -> None:
    rows.sort(key=lambda r: (r["family"], r["instance"], r["solver"]))
    result = {
        "benchmark": "jobshop",
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "processor": platform.processor()},
        "loadavg_at_start": load_before, "loadavg_now": os.getloadavg(),
        "note": ("shared machine: other jobs ran at the same time (see loadavg_1m per row); wall_s includes "
                 "process start-up. Zhizao's limit covers start-up, parsing and model building; PyJobShop's "
                 "time_limit is its CP-SAT solve only, so its wall time is longer"),
        "summary": summarise(rows, args.time_limit),
        "rows": rows,
    }
    out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
