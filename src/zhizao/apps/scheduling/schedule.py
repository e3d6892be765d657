"""Schedule arithmetic that does not need the solver: KPIs and an independent feasibility check."""

from __future__ import annotations

from collections import defaultdict

from zhizao.apps.scheduling.model import Model, ScheduledOperation


def job_completion(model: Model, operations: list[ScheduledOperation]) -> dict[int, int]:
    done: dict[int, int] = {}
    for s in operations:
        done[s.job] = max(done.get(s.job, 0), s.end)
    return done


def energy_cost(model: Model, operations: list[ScheduledOperation]) -> float:
    if model.tariff is None:
        return 0.0
    return sum(model.tariff.cost(model.machines[s.machine].power_kw, s.start, s.end) for s in operations)


def kpis(model: Model, operations: list[ScheduledOperation]) -> dict[str, float]:
    """makespan, weighted tardiness, late orders, on-time rate, energy cost and mean machine utilisation."""
    completion = job_completion(model, operations)
    makespan = max((s.end for s in operations), default=0)
    tardiness = late = with_due = 0
    for job in model.jobs:
        if job.due is None or job.index not in completion:
            continue
        with_due += 1
        delay = max(0, completion[job.index] - job.due)
        tardiness += job.weight * delay
        late += delay > 0
    util = utilisation(model, operations)
    return {
        "makespan": makespan,
        "weighted_tardiness": tardiness,
        "late_count": late,
        "on_time_rate": (with_due - late) / with_due if with_due else 1.0,
        "energy_cost": round(energy_cost(model, operations), 2),
        "utilisation": round(sum(util.values()) / len(util), 4) if util else 0.0,
    }


def utilisation(model: Model, operations: list[ScheduledOperation]) -> dict[int, float]:
    """Busy share of each machine between the schedule's first start and its makespan."""
    if not operations:
        return {m.index: 0.0 for m in model.machines}
    begin = min(s.start for s in operations)
    span = max(1, max(s.end for s in operations) - begin)
    busy: dict[int, int] = defaultdict(int)
    for s in operations:
        busy[s.machine] += s.end - s.start
    return {m.index: round(busy[m.index] / span, 4) for m in model.machines}


def violations(model: Model, operations: list[ScheduledOperation]) -> list[str]:
    """Every broken constraint, as readable messages (empty: the schedule is feasible)."""
    problems: list[str] = []
    by_op: dict[int, list[ScheduledOperation]] = defaultdict(list)
    for s in operations:
        by_op[s.operation].append(s)
    for op in model.operations:
        lots = by_op.get(op.index, [])
        if not lots:
            problems.append(f"operation {op.name} is not scheduled")
            continue
        if sum(s.quantity for s in lots) != op.quantity:
            problems.append(f"operation {op.name}: lots sum to {sum(s.quantity for s in lots)}, not {op.quantity}")
        job = model.jobs[op.job]
        for s in lots:
            full = op.duration_on(s.machine)
            if full is None:
                problems.append(f"operation {op.name} on machine {s.machine}, which is not eligible")
                continue
            need = -(-full * s.quantity // op.quantity)
            if s.end - s.start != need:
                problems.append(f"operation {op.name}: duration {s.end - s.start} on machine {s.machine}, "
                                f"expected {need}")
            if op.fixed is None and s.start < job.release:
                problems.append(f"operation {op.name} starts at {s.start} before its release {job.release}")
            if op.fixed is not None and (s.machine, s.start) != op.fixed:
                problems.append(f"operation {op.name} was started and must stay at {op.fixed}")
            if op.fixed is None and s.start < model.not_before:
                problems.append(f"operation {op.name} starts at {s.start}, before {model.not_before}")
            for a, b in model.machines[s.machine].unavailable:
                if s.start < b and a < s.end:
                    problems.append(f"operation {op.name} overlaps the unavailable period [{a}, {b}) of "
                                    f"machine {s.machine}")
        for p in op.predecessors:
            before = by_op.get(p, [])
            if before and lots and min(s.start for s in lots) < max(s.end for s in before):
                problems.append(f"operation {op.name} starts before its predecessor {model.operations[p].name} ends")
    per_machine: dict[int, list[ScheduledOperation]] = defaultdict(list)
    for s in operations:
        per_machine[s.machine].append(s)
    for machine, items in per_machine.items():
        items.sort(key=lambda s: (s.start, s.end))
        for a, b in zip(items, items[1:], strict=False):
            family_a = model.operations[a.operation].family
            family_b = model.operations[b.operation].family
            setup = model.machines[machine].setup(family_a, family_b) if model.operations[a.operation].max_lots == 1 \
                and model.operations[b.operation].max_lots == 1 else 0
            if b.start < a.end + setup:
                problems.append(f"machine {machine}: {model.operations[a.operation].name} and "
                                f"{model.operations[b.operation].name} overlap (setup {setup})")
    return problems
