"""Why is an order late? The critical chain of a late order and its bottleneck machine.

Walking back from the order's last operation, each operation's start is explained
by what ended exactly then: its routing predecessor (link ``route``), the operation
before it on the same machine, setup included (link ``machine``: it waited for the
machine), or nothing (link ``release``/``calendar``: it started as soon as it was
released or the machine became available). The chain of these tight links is the
critical chain; the bottleneck is the machine on which the chain spent the most
time (processing plus the time its operations waited for that machine).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from zhizao.apps.scheduling.model import Model, ScheduledOperation
from zhizao.apps.scheduling.schedule import job_completion, utilisation


@dataclass
class ChainLink:
    operation: int
    job: int
    position: int
    machine: int
    start: int
    end: int
    link: str  # route | machine | release | calendar | start


@dataclass
class LateOrder:
    job: int
    name: str
    due: int
    completion: int
    tardiness: int
    bottleneck_machine: int
    bottleneck_name: str
    chain: list[ChainLink] = field(default_factory=list)
    time_on_machines: dict[int, int] = field(default_factory=dict)


def critical_chain(model: Model, operations: list[ScheduledOperation], last: ScheduledOperation) -> list[ChainLink]:
    by_op: dict[int, list[ScheduledOperation]] = defaultdict(list)
    for s in operations:
        by_op[s.operation].append(s)
    per_machine: dict[int, list[ScheduledOperation]] = defaultdict(list)
    for s in operations:
        per_machine[s.machine].append(s)
    chain: list[ChainLink] = []
    current: ScheduledOperation | None = last
    visited: set[tuple[int, int]] = set()
    while current is not None and (current.operation, current.lot) not in visited:
        visited.add((current.operation, current.lot))
        op = model.operations[current.operation]
        route_pred = None
        for p in op.predecessors:
            for s in by_op.get(p, []):
                if s.end == current.start:
                    route_pred = s
        machine_pred = None
        for s in per_machine[current.machine]:
            if s is current or s.start >= current.start:
                continue
            setup = model.machines[current.machine].setup(model.operations[s.operation].family, op.family)
            if s.end + setup == current.start:
                machine_pred = s
        if machine_pred is not None:
            link, following = "machine", machine_pred
        elif route_pred is not None:
            link, following = "route", route_pred
        else:
            release = model.jobs[op.job].release
            link = "release" if current.start == release else (
                "calendar" if any(b == current.start for _, b in model.machines[current.machine].unavailable)
                else "start")
            following = None
        chain.append(ChainLink(current.operation, current.job, current.position, current.machine, current.start,
                               current.end, link))
        current = following
    chain.reverse()
    return chain


def late_orders(model: Model, operations: list[ScheduledOperation]) -> list[LateOrder]:
    """Every order that finishes after its due date, most tardy first, with its chain and bottleneck."""
    completion = job_completion(model, operations)
    out: list[LateOrder] = []
    for job in model.jobs:
        if job.due is None or completion.get(job.index, 0) <= job.due:
            continue
        last = max((s for s in operations if s.job == job.index), key=lambda s: s.end)
        chain = critical_chain(model, operations, last)
        spent: dict[int, int] = defaultdict(int)
        for link in chain:
            spent[link.machine] += link.end - link.start
        # time the order's own operations waited for their machine (released by the route, machine busy)
        ends = {s.operation: s.end for s in operations}
        for s in operations:
            if s.job != job.index:
                continue
            ready = max([job.release] + [ends[p] for p in model.operations[s.operation].predecessors if p in ends])
            spent[s.machine] += max(0, s.start - ready)
        bottleneck = max(spent, key=lambda m: spent[m])
        out.append(LateOrder(job.index, job.name, job.due, completion[job.index], completion[job.index] - job.due,
                             bottleneck, model.machines[bottleneck].name, chain, dict(spent)))
    out.sort(key=lambda late: -late.tardiness * model.jobs[late.job].weight)
    return out


def explanation(model: Model, operations: list[ScheduledOperation]) -> dict:
    """Late orders with chains and bottlenecks, and utilisation per machine, as plain data."""
    util = utilisation(model, operations)
    return {
        "late_orders": [
            {"job": late.job, "order": late.name, "due": late.due, "completion": late.completion,
             "tardiness": late.tardiness, "bottleneck": late.bottleneck_name,
             "bottleneck_machine": late.bottleneck_machine,
             "time_on_machines": {model.machines[m].name: t for m, t in late.time_on_machines.items()},
             "chain": [{"order": model.jobs[c.job].name, "operation": model.operations[c.operation].name,
                        "machine": model.machines[c.machine].name, "start": c.start, "end": c.end,
                        "link": c.link} for c in late.chain]}
            for late in late_orders(model, operations)],
        "utilisation": {model.machines[m].name: u for m, u in util.items()},
    }
