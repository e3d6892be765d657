"""``zhizao schedule ...``: the batch solver for job-shop instance files.

``solve`` keeps its time limit including interpreter start-up, parsing and the
import of OR-Tools: the solver gets what is left, and when too little is left
for CP-SAT the best dispatching-rule schedule is printed instead.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import typer

# seconds kept back, of the limit plus its 1 s tolerance, for the solver to stop, the answer and the exit
SHUTDOWN_RESERVE_S = 0.7
# if the solver has not returned this long before the tolerance ends, it is stopped and the best schedule kept
OUTPUT_RESERVE_S = 0.4
STOP_GRACE_S = 0.1
MAX_STARTUP_S = 15.0
# below this budget importing OR-Tools (about a second) does not pay off
MIN_SOLVER_BUDGET_S = 1.2


def process_age_s() -> float:
    """Seconds since this process started (Linux /proc; else since this module was imported)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


_IMPORTED = time.monotonic()


def register(cli: typer.Typer) -> None:
    schedule_app = typer.Typer(help="Production scheduling (APS): solve job-shop instances.", no_args_is_help=True)
    cli.add_typer(schedule_app, name="schedule")

    @schedule_app.command("solve")
    def solve_command(
        file: Path = typer.Argument(..., help="Instance file"),
        fmt: str = typer.Option(..., "--format", help="jsplib (job shop) or fjs (flexible job shop)"),
        time_limit: float = typer.Option(10.0, "--time-limit", help="Seconds, including start-up and parsing"),
        workers: int = typer.Option(2, "--workers", help="Solver threads"),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout"),
    ) -> None:
        """Minimise the makespan of a job-shop (jsplib) or flexible job-shop (fjs) instance.

        Prints the best schedule found and a proven lower bound; status is "optimal" only when proven."""
        from zhizao.apps.scheduling.instances import InstanceError, read_instance
        from zhizao.apps.scheduling.model import ModelError, SolveControl, SolveResult

        age = process_age_s()
        # a real `zhizao` process is a few seconds old here; an older one (a test runner, an embedding
        # program) runs the command in-process: count from the command's invocation then
        started = time.monotonic() - (age if age < MAX_STARTUP_S else 0.0)
        deadline = started + time_limit + 1.0 - SHUTDOWN_RESERVE_S
        hard_deadline = started + time_limit + 1.0 - OUTPUT_RESERVE_S
        if fmt not in ("jsplib", "fjs"):
            _fail(f"--format: expected jsplib or fjs, got {fmt!r}", 2)
        if time_limit <= 0 or workers < 1:
            _fail("--time-limit must be > 0 and --workers >= 1", 2)
        try:
            instance = read_instance(file, fmt)  # type: ignore[arg-type]
            instance.model.validate()
        except InstanceError as exc:
            _fail(f"error: {exc}", 2)
        except ModelError as exc:
            _fail(f"error: {file}: impossible instance: {exc}", 3)
        model = instance.model
        use_solver = deadline - time.monotonic() > MIN_SOLVER_BUDGET_S
        if use_solver:
            from ortools.sat.python import cp_model  # noqa: F401  (import before measuring the budget)
        budget = max(0.0, deadline - time.monotonic()) if use_solver else 0.0
        control = SolveControl()
        finished: list[SolveResult] = []
        worker = threading.Thread(target=lambda: finished.append(model.solve(budget, workers, control=control)),
                                  daemon=True)
        with _progress(budget, enabled=not as_json and sys.stderr.isatty()):
            worker.start()
            worker.join(max(0.0, hard_deadline - time.monotonic()))
            if worker.is_alive():  # the solver overran (a loaded machine): stop it, keep the best found
                control.stop()
                worker.join(STOP_GRACE_S)
        abandoned = worker.is_alive()
        result = finished[0] if finished else _best_so_far(control, model)
        if not result.feasible:
            _fail(f"error: {file}: no feasible schedule ({result.status})", 4)
        lower = min(math.ceil(result.lower_bound - 1e-6), result.makespan or 0)
        status = "optimal" if result.status == "optimal" or lower == result.makespan else "feasible"
        operations = sorted(result.operations, key=lambda s: (s.job, s.position))
        payload = {
            "makespan": result.makespan,
            "lower_bound": lower,
            "status": status,
            "operations": [{"job": s.job, "op": s.position, "machine": s.machine + instance.machine_offset,
                            "start": s.start, "end": s.end} for s in operations],
        }
        if as_json:
            sys.stdout.write(json.dumps(payload, separators=(",", ":")) + "\n")
            _fast_exit_if_standalone(abandoned)
            return
        gap = (result.makespan - lower) / result.makespan * 100 if result.makespan else 0.0
        typer.echo(f"{file.name}: makespan {result.makespan}, lower bound {lower}, {status} "
                   f"(gap {gap:.1f}%, {result.wall_time:.1f} s, {result.source})")
        by_machine: dict[int, list[str]] = {}
        for s in sorted(operations, key=lambda s: s.start):
            by_machine.setdefault(s.machine + instance.machine_offset, []).append(f"J{s.job}.{s.position}@{s.start}")
        for machine in sorted(by_machine):
            typer.echo(f"  M{machine}: " + " ".join(by_machine[machine]))


def _best_so_far(control: Any, model: Any) -> Any:
    """The best schedule a stopped solve had found (the warm start at least)."""
    from zhizao.apps.scheduling.dispatch import dispatch
    from zhizao.apps.scheduling.model import SolveResult

    operations = control.best if control.best is not None else dispatch(model, "MWKR").operations
    makespan = max((s.end for s in operations), default=0)
    return SolveResult("feasible", control.best_objective, control.best_bound, makespan, operations, 0.0,
                       source="stopped")


def _fast_exit_if_standalone(abandoned: bool) -> None:
    """In a real process (not a test runner capturing stdout), end now: the interpreter's teardown of
    OR-Tools can take a second on a loaded machine, and a stopped solver's threads longer."""
    sys.stdout.flush()
    if sys.stdout is sys.__stdout__ or abandoned:
        sys.stderr.flush()
        os._exit(0)


def _fail(message: str, code: int) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(code)


class _progress:
    """A time bar on stderr while the solver runs (the solver is anytime: it stops at the limit)."""

    def __init__(self, seconds: float, enabled: bool) -> None:
        self.seconds, self.enabled = max(seconds, 0.0), enabled
        self._stop = threading.Event()

    def __enter__(self) -> _progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("solving"), BarColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                      transient=True) as bar:
            task = bar.add_task("solve", total=self.seconds)
            started = time.monotonic()
            while not self._stop.wait(0.2):
                bar.update(task, completed=min(self.seconds, time.monotonic() - started))

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
