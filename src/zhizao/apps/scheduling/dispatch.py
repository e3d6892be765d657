"""Dispatching rules: fast feasible schedules used as the solver's warm start (and as a fallback).

A Giffler–Thompson style generator builds an active schedule: among the ready
operations it finds the one that can finish first (on its best machine), then
lets the rule choose among the ready operations that could start before that
finish on the same machine. Rules: SPT (shortest processing time), MWKR (most
work remaining), MOR (most operations remaining), EDD (earliest due date), ATC
(apparent tardiness cost) and FIFO (release order). Each run honours releases,
precedences (assembly trees too), machine calendars, setups and fixed
(already started) operations; lot splitting is not used (one lot is feasible).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from zhizao.apps.scheduling.model import Model, ScheduledOperation

RULES = ("MWKR", "SPT", "MOR", "EDD", "ATC", "FIFO")


@dataclass
class DispatchResult:
    rule: str
    operations: list[ScheduledOperation]
    makespan: int


def first_fit(start: int, duration: int, unavailable: list[tuple[int, int]]) -> int:
    """Earliest time >= start at which [t, t + duration) avoids every unavailable period (sorted)."""
    t = start
    for a, b in unavailable:
        if b <= t:
            continue
        if t + duration <= a and not (duration == 0 and a <= t < b):
            break
        t = max(t, b)
    return t


def _remaining(model: Model) -> tuple[list[int], list[int]]:
    """Per operation: minimal work and count of operations from it to the end of its job (inclusive)."""
    work = [0] * len(model.operations)
    count = [0] * len(model.operations)
    for job in model.jobs:
        w = c = 0
        for op in reversed(job.operations):
            w += min(mode.duration for mode in op.modes)
            c += 1
            work[op.index], count[op.index] = w, c
    return work, count


def dispatch(model: Model, rule: str) -> DispatchResult:
    ops = model.operations
    work, count = _remaining(model)
    mean_p = sum(min(m.duration for m in op.modes) for op in ops) / max(1, len(ops))
    end = [0] * len(ops)
    done = [False] * len(ops)
    machine_free = [0] * len(model.machines)
    last_family: list[str | None] = [None] * len(model.machines)
    scheduled: list[ScheduledOperation] = []

    def place(op_index: int, machine: int, start: int, duration: int) -> None:
        op = ops[op_index]
        end[op_index] = start + duration
        done[op_index] = True
        machine_free[machine] = max(machine_free[machine], start + duration)
        last_family[machine] = op.family
        scheduled.append(ScheduledOperation(op_index, op.job, op.position, machine, start, start + duration,
                                            quantity=op.quantity))

    for op in sorted((o for o in ops if o.fixed is not None), key=lambda o: o.fixed[1]):  # type: ignore[index]
        machine, start = op.fixed  # type: ignore[misc]
        place(op.index, machine, start, op.duration_on(machine) or 0)

    def best_mode(op_index: int) -> tuple[int, int, int]:
        """(earliest completion, start, machine) of the operation's best mode."""
        op = ops[op_index]
        ready_at = max([model.jobs[op.job].release, model.not_before] + [end[p] for p in op.predecessors])
        best = (math.inf, 0, 0)
        for mode in op.modes:
            machine = model.machines[mode.machine]
            s = max(ready_at, machine_free[mode.machine] + machine.setup(last_family[mode.machine], op.family))
            s = first_fit(s, mode.duration, machine.unavailable)
            if s + mode.duration < best[0]:
                best = (s + mode.duration, s, mode.machine)
        return best  # type: ignore[return-value]

    def priority(op_index: int, start: int) -> float:
        op = ops[op_index]
        job = model.jobs[op.job]
        p = min(m.duration for m in op.modes)
        if rule == "SPT":
            return p
        if rule == "MWKR":
            return -work[op_index]
        if rule == "MOR":
            return -count[op_index]
        if rule == "EDD":
            return job.due if job.due is not None else math.inf
        if rule == "FIFO":
            return job.release
        if rule == "ATC":
            if job.due is None:
                return -job.weight / max(p, 1) * 1e-9
            slack = max(0.0, job.due - start - work[op_index])
            return -(job.weight / max(p, 1)) * math.exp(-slack / (2.0 * mean_p + 1e-9))
        raise ValueError(f"unknown dispatching rule {rule!r}")

    pending_preds = [sum(1 for p in op.predecessors if not done[p]) for op in ops]
    successors: list[list[int]] = [[] for _ in ops]
    for op in ops:
        for p in op.predecessors:
            successors[p].append(op.index)
    ready = {op.index for op in ops if not done[op.index] and pending_preds[op.index] == 0}
    while ready:
        options = {i: best_mode(i) for i in ready}
        finish, _, machine = min(options.values())
        conflict = [i for i, (f, s, m) in options.items() if m == machine and s < finish] or \
                   [min(options, key=lambda i: options[i][0])]
        chosen = min(conflict, key=lambda i: (priority(i, options[i][1]), options[i][0], i))
        _, start, chosen_machine = options[chosen]
        place(chosen, chosen_machine, start, ops[chosen].duration_on(chosen_machine) or 0)
        ready.discard(chosen)
        for s in successors[chosen]:
            pending_preds[s] -= 1
            if pending_preds[s] == 0 and not done[s]:
                ready.add(s)
    scheduled.sort(key=lambda s: s.operation)
    return DispatchResult(rule, scheduled, max((s.end for s in scheduled), default=0))


def best_dispatch(model: Model, score: Callable[[list[ScheduledOperation]], float],
                  rules: tuple[str, ...] = RULES) -> DispatchResult:
    """The schedule of the rule with the lowest ``score``."""
    results = [dispatch(model, rule) for rule in rules]
    return min(results, key=lambda r: score(r.operations))
