"""Repairing a plan: a breakdown, a rush order or late material, at time ``now``.

Operations that have started stay where they are (they become fixed), except one
that was running on a machine that has just broken down: it is interrupted and
scheduled again after the repair. Nothing else may start before ``now``. Every
change to an operation that has not started costs (time moved and machine
changes, ``Stability``) on top of the plan's objective, so the repaired plan stays
close to the one the shop floor already knows. The result compares both plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zhizao.apps.scheduling.model import Model, ModelError, ScheduledOperation, SolveResult, Stability
from zhizao.apps.scheduling.schedule import kpis


@dataclass
class Breakdown:
    machine: int
    until: int  # expected end of the repair


@dataclass
class RushOrder:
    name: str
    routing: list[list[tuple[int, int]]]  # per operation: (machine, processing time) modes
    due: int | None = None
    weight: int = 10
    family: str | None = None


@dataclass
class LateMaterial:
    job: int
    available_at: int


Event = Breakdown | RushOrder | LateMaterial


@dataclass
class RescheduleResult:
    result: SolveResult
    frozen: list[int]  # operations kept as they were (started)
    interrupted: list[int]  # operations stopped by a breakdown, scheduled again
    comparison: dict = field(default_factory=dict)


def apply_event(model: Model, event: Event, now: int) -> None:
    """Change the model for the event (calendars, jobs, releases)."""
    if isinstance(event, Breakdown):
        if not 0 <= event.machine < len(model.machines):
            raise ModelError(f"breakdown: unknown machine {event.machine}")
        machine = model.machines[event.machine]
        machine.unavailable = sorted(machine.unavailable + [(now, max(now + 1, event.until))])
    elif isinstance(event, RushOrder):
        job = model.add_job(event.name, release=now, due=event.due, weight=event.weight, family=event.family)
        for modes in event.routing:
            op = model.add_operation(job)
            for machine, duration in modes:
                model.add_mode(op, machine, duration)
    elif isinstance(event, LateMaterial):
        if not 0 <= event.job < len(model.jobs):
            raise ModelError(f"late material: unknown order {event.job}")
        model.jobs[event.job].release = max(model.jobs[event.job].release, event.available_at)


def reschedule(model: Model, previous: list[ScheduledOperation], now: int, events: list[Event],
               time_limit: float = 10.0, workers: int = 2, per_time_unit: float = 1.0,
               per_machine_change: float = 10.0) -> RescheduleResult:
    """Apply ``events`` at ``now`` and repair ``previous`` (a schedule of ``model`` before the events)."""
    before = kpis(model, previous)
    broken = {e.machine for e in events if isinstance(e, Breakdown)}
    for event in events:
        apply_event(model, event, now)
    frozen, interrupted = [], []
    by_op: dict[int, list[ScheduledOperation]] = {}
    for s in previous:
        by_op.setdefault(s.operation, []).append(s)
    for index, lots in by_op.items():
        first = min(lots, key=lambda s: s.start)
        if first.start >= now:
            continue
        op = model.operations[index]
        if first.machine in broken and max(s.end for s in lots) > now:
            interrupted.append(index)
            continue
        op.fixed = (first.machine, first.start)
        op.max_lots = 1  # a started operation is not split any further
        frozen.append(index)
    model.not_before = now
    model.stability = Stability({s.operation: (s.machine, s.start) for s in previous
                                 if s.operation not in frozen and s.lot == 0},
                                per_time_unit, per_machine_change)
    result = model.solve(time_limit=time_limit, workers=workers)
    return RescheduleResult(result, frozen, interrupted, compare(model, previous, result.operations, before))


def compare(model: Model, old: list[ScheduledOperation], new: list[ScheduledOperation],
            old_kpis: dict[str, float] | None = None) -> dict:
    """KPIs before and after, and how many operations moved or changed machine (and by how much)."""
    old_first = {s.operation: s for s in old if s.lot == 0}
    new_first = {s.operation: s for s in new if s.lot == 0}
    moved = [i for i in old_first if i in new_first and new_first[i].start != old_first[i].start]
    changed = [i for i in old_first if i in new_first and new_first[i].machine != old_first[i].machine]
    shift = [abs(new_first[i].start - old_first[i].start) for i in moved]
    return {
        "before": old_kpis or kpis(model, old),
        "after": kpis(model, new),
        "moved_operations": len(moved),
        "machine_changes": len(changed),
        "mean_shift": round(sum(shift) / len(shift), 2) if shift else 0.0,
        "new_operations": len([i for i in new_first if i not in old_first]),
    }
