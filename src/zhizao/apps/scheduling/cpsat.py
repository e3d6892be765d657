"""The CP-SAT formulation of a :class:`~zhizao.apps.scheduling.model.Model`.

Formulation. Each operation has a start and an end variable; its eligible
machines are optional intervals sharing them, exactly one present (a single
mode is a plain interval). Every machine gets a NoOverlap over its intervals
and its fixed unavailable periods; with sequence-dependent setups it also gets
a circuit over its operations whose arcs imply ``start >= end + setup``. A
split operation is up to ``max_lots`` optional sub-lots with integer quantities
whose times are proportional to their share. Tardiness, late flags, energy
cost (element constraint on the start into the cost table of the tariff) and
the stability penalty are linear terms on these variables.

Why it is fast. A dispatching-rule schedule is given as a complete solution
hint, and (for makespan) its makespan bounds the horizon; every start is
restricted to [head, horizon - tail] using the job's heads and tails, which
prunes the search from the first node. CP-SAT's own portfolio (including its
LNS workers) does the rest within the time limit; the result always carries the
best solution found and the proven lower bound (never below the trivial job
and machine bounds).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from zhizao.apps.scheduling.dispatch import DispatchResult, best_dispatch
from zhizao.apps.scheduling.model import (
    OBJECTIVES,
    Model,
    ModelError,
    Operation,
    ScheduledOperation,
    SolveControl,
    SolveResult,
    Tariff,
    merged,
)
from zhizao.apps.scheduling.schedule import kpis

ENERGY_SCALE = 1000  # energy cost is optimised in 1/1000 of the tariff's money unit


@dataclass
class _Lot:
    start: Any
    end: Any
    quantity: Any  # int or variable
    present: Any  # True or a literal
    modes: dict[int, Any] = field(default_factory=dict)  # machine -> presence literal
    durations: dict[int, Any] = field(default_factory=dict)  # machine -> int or variable
    intervals: dict[int, Any] = field(default_factory=dict)  # machine -> interval
    window: tuple[int, int] = (0, 0)  # earliest start, latest end


def min_duration(op: Operation) -> int:
    """Shortest time the operation can take: its fastest mode, on its largest sub-lot when split."""
    fastest = min(mode.duration for mode in op.modes)
    if op.max_lots == 1 or op.fixed is not None:
        return fastest
    largest_lot = max(op.min_lot, -(-op.quantity // op.max_lots))
    return -(-fastest * largest_lot // op.quantity)


def trivial_makespan_bound(model: Model) -> int:
    """Longest job (minimal times, from its release) and the busiest machine among single-mode operations."""
    ready = [0] * len(model.operations)
    for op in model._topological_order():
        own = max([model.jobs[op.job].release] + [ready[p] for p in op.predecessors])
        ready[op.index] = own + min_duration(op)
    load = [0] * len(model.machines)
    total = 0
    for op in model.operations:
        total += min(m.duration for m in op.modes)
        if len(op.modes) == 1 and op.max_lots == 1:
            load[op.modes[0].machine] += op.modes[0].duration
    return max([max(ready, default=0), max(load, default=0), math.ceil(total / max(1, len(model.machines)))])


class _Builder:
    def __init__(self, model: Model, horizon: int, cp: Any) -> None:
        self.model, self.horizon, self.cp = model, horizon, cp
        self.m = cp.CpModel()
        self.lots: dict[int, list[_Lot]] = {}
        self.op_start: dict[int, Any] = {}
        self.op_end: dict[int, Any] = {}
        self.terms: dict[str, Any] = {}
        self.stability: Any = 0
        # started operations of a repaired plan may lie before time 0 ("now")
        self.earliest = min([0] + [op.fixed[1] for op in model.operations if op.fixed is not None])

    # heads: earliest start; tails: minimal work after the operation (for the horizon)
    def _heads_tails(self) -> tuple[list[int], list[int]]:
        model = self.model
        order = model._topological_order()
        head = [0] * len(model.operations)
        for op in order:
            if op.fixed is not None:
                head[op.index] = op.fixed[1]
                continue
            job = model.jobs[op.job]
            head[op.index] = max([job.release, model.not_before] +
                                 [head[p] + min_duration(model.operations[p]) for p in op.predecessors])
        tail = [0] * len(model.operations)
        for op in reversed(order):
            for p in op.predecessors:
                tail[p] = max(tail[p], tail[op.index] + min_duration(op))
        return head, tail

    def build(self) -> None:
        model, m, horizon = self.model, self.m, self.horizon
        head, tail = self._heads_tails()
        per_machine: dict[int, list[tuple[Any, _Lot, int]]] = {i: [] for i in range(len(model.machines))}
        for op in model.operations:
            latest = max(head[op.index], horizon - tail[op.index] - min_duration(op))
            if op.fixed is not None:
                machine, start = op.fixed
                duration = op.duration_on(machine)
                if duration is None:
                    raise ModelError(f"operation {op.name} is fixed on machine {machine}, which is not eligible")
                lot = _Lot(start, start + duration, op.quantity, True, {machine: True}, {machine: duration})
                lot.intervals[machine] = m.new_fixed_size_interval_var(start, duration, f"fix{op.index}")
                self.lots[op.index] = [lot]
                self.op_start[op.index], self.op_end[op.index] = start, start + duration
                per_machine[machine].append((lot.intervals[machine], lot, op.index))
                continue
            if op.max_lots == 1:
                lots = [self._single_lot(op, head[op.index], latest)]
            else:
                lots = self._split_lots(op, head[op.index], latest)
            self.lots[op.index] = lots
            if len(lots) == 1:
                self.op_start[op.index], self.op_end[op.index] = lots[0].start, lots[0].end
            else:
                first = m.new_int_var(head[op.index], latest, f"s{op.index}")
                last = m.new_int_var(head[op.index], horizon, f"e{op.index}")
                for lot in lots:
                    m.add(first <= lot.start).only_enforce_if(lot.present)
                    m.add(last >= lot.end).only_enforce_if(lot.present)
                m.add(first == lots[0].start)
                self.op_start[op.index], self.op_end[op.index] = first, last
            for lot in lots:
                for machine, interval in lot.intervals.items():
                    per_machine[machine].append((interval, lot, op.index))
        for op in model.operations:
            for p in op.predecessors:
                if op.fixed is None:
                    for lot in self.lots[op.index]:
                        constraint = m.add(lot.start >= self.op_end[p])
                        if lot.present is not True:
                            constraint.only_enforce_if(lot.present)
        for machine, items in per_machine.items():
            intervals = [interval for interval, _, _ in items]
            for k, (a, b) in enumerate(merged(model.machines[machine].unavailable)):
                if b > a:
                    intervals.append(m.new_fixed_size_interval_var(a, b - a, f"off{machine}_{k}"))
            if len(intervals) > 1:
                m.add_no_overlap(intervals)
            self._setups(machine, items)
        self._objective_terms()

    def _single_lot(self, op: Any, earliest: int, latest: int) -> _Lot:
        m = self.m
        durations = sorted({mode.duration for mode in op.modes})
        start = m.new_int_var(earliest, latest, f"s{op.index}")
        end = m.new_int_var(earliest + durations[0], latest + durations[-1], f"e{op.index}")
        lot = _Lot(start, end, op.quantity, True, window=(earliest, latest + durations[-1]))
        if len(op.modes) == 1:
            mode = op.modes[0]
            lot.modes[mode.machine] = True
            lot.durations[mode.machine] = mode.duration
            lot.intervals[mode.machine] = m.new_interval_var(start, mode.duration, end, f"i{op.index}")
            return lot
        literals = []
        for mode in op.modes:
            lit = m.new_bool_var(f"x{op.index}_{mode.machine}")
            literals.append(lit)
            lot.modes[mode.machine] = lit
            lot.durations[mode.machine] = mode.duration
            lot.intervals[mode.machine] = m.new_optional_interval_var(start, mode.duration, end, lit,
                                                                      f"i{op.index}_{mode.machine}")
        m.add_exactly_one(literals)
        return lot

    def _split_lots(self, op: Any, earliest: int, latest: int) -> list[_Lot]:
        m = self.m
        lots: list[_Lot] = []
        quantities = []
        longest = max(mode.duration for mode in op.modes)
        for k in range(op.max_lots):
            present: Any = True if k == 0 else m.new_bool_var(f"lot{op.index}_{k}")
            quantity = m.new_int_var(0, op.quantity, f"q{op.index}_{k}")
            start = m.new_int_var(earliest, self.horizon, f"s{op.index}_{k}")
            end = m.new_int_var(earliest, self.horizon, f"e{op.index}_{k}")
            lot = _Lot(start, end, quantity, present, window=(earliest, self.horizon))
            if present is True:
                m.add(quantity >= op.min_lot)
            else:
                m.add(quantity >= op.min_lot).only_enforce_if(present)
                m.add(quantity == 0).only_enforce_if(~present)
                if lots[-1].present is not True:  # sub-lots are used in order (no symmetric solutions)
                    m.add_implication(present, lots[-1].present)
            literals = []
            for mode in op.modes:
                lit = m.new_bool_var(f"x{op.index}_{k}_{mode.machine}")
                literals.append(lit)
                duration = m.new_int_var(0, longest, f"d{op.index}_{k}_{mode.machine}")
                # duration = ceil(mode.duration * quantity / op.quantity) when this machine is chosen
                m.add(duration * op.quantity >= mode.duration * quantity).only_enforce_if(lit)
                m.add(duration * op.quantity <= mode.duration * quantity + op.quantity - 1).only_enforce_if(lit)
                lot.modes[mode.machine] = lit
                lot.durations[mode.machine] = duration
                lot.intervals[mode.machine] = m.new_optional_interval_var(start, duration, end, lit,
                                                                          f"i{op.index}_{k}_{mode.machine}")
            if present is True:
                m.add_exactly_one(literals)
            else:
                m.add(sum(literals) == present)
            m.add(end <= latest + longest)
            lots.append(lot)
            quantities.append(quantity)
        m.add(sum(quantities) == op.quantity)
        return lots

    def _setups(self, machine_index: int, items: list[tuple[Any, _Lot, int]]) -> None:
        """Sequence-dependent setups on a machine: a circuit whose arcs imply start >= end + setup."""
        machine = self.model.machines[machine_index]
        ops = self.model.operations
        eligible = [(lot, i) for _, lot, i in items if ops[i].max_lots == 1]
        families = {ops[i].family for _, i in eligible}
        if not any(machine.setup(a, b) for a in families for b in families) or len(eligible) < 2:
            return
        m = self.m
        arcs = []
        all_optional = True
        for k, (lot, i) in enumerate(eligible, start=1):
            present = lot.modes[machine_index]
            if present is True:
                all_optional = False
            else:
                arcs.append((k, k, ~present))
            first, last = m.new_bool_var(f"first{machine_index}_{k}"), m.new_bool_var(f"last{machine_index}_{k}")
            arcs.extend([(0, k, first), (k, 0, last)])
            for k2, (lot2, i2) in enumerate(eligible, start=1):
                if k2 == k:
                    continue
                lit = m.new_bool_var(f"arc{machine_index}_{k}_{k2}")
                arcs.append((k, k2, lit))
                setup = machine.setup(ops[i].family, ops[i2].family)
                m.add(lot2.start >= lot.end + setup).only_enforce_if(lit)
        if all_optional:
            arcs.append((0, 0, m.new_bool_var(f"empty{machine_index}")))
        m.add_circuit(arcs)

    def _objective_terms(self) -> None:
        model, m, horizon = self.model, self.m, self.horizon
        objective = model.objective
        wanted = set(objective.weights()) | set(objective.lexicographic)
        job_end: dict[int, Any] = {}
        for job in model.jobs if wanted & {"weighted_tardiness", "late_count"} else ():
            ends = [self.op_end[op.index] for op in job.operations]
            if len(ends) == 1:
                job_end[job.index] = ends[0]
            elif ends:
                var = m.new_int_var(self.earliest, horizon + 10 * horizon, f"C{job.index}")
                m.add_max_equality(var, ends)
                job_end[job.index] = var
        if "makespan" in wanted or not wanted:
            makespan = m.new_int_var(trivial_makespan_bound(model), max(horizon, 0) + 1, "makespan")
            for op in model.operations:
                m.add(makespan >= self.op_end[op.index])
            self.terms["makespan"] = makespan
        due_jobs = [job for job in model.jobs if job.due is not None and job.index in job_end]
        if "weighted_tardiness" in wanted:
            total = []
            for job in due_jobs:
                delay = m.new_int_var(0, 11 * horizon + max(0, -job.due), f"T{job.index}")
                m.add(delay >= job_end[job.index] - job.due)
                total.append(job.weight * delay)
            self.terms["weighted_tardiness"] = sum(total) if total else 0
        if "late_count" in wanted:
            flags = []
            for job in due_jobs:
                late = m.new_bool_var(f"late{job.index}")
                m.add(job_end[job.index] <= job.due).only_enforce_if(~late)
                flags.append(late)
            self.terms["late_count"] = sum(flags) if flags else 0
        if "energy_cost" in wanted:
            self.terms["energy_cost"] = self._energy()
        if model.stability is not None:
            self.stability = self._stability()

    def _energy(self) -> Any:
        """Energy cost: for each tariff period an operation may overlap, its overlap in time units is
        ``max(0, duration - time before the period - time after it)`` (exact lin_max terms), priced at the
        period's price times the machine's power. Minimising keeps the overlap variables tight."""
        model, m = self.model, self.m
        tariff = model.tariff
        assert tariff is not None
        costs = []
        for op in model.operations:
            for lot in self.lots[op.index]:
                if isinstance(lot.start, int):
                    continue  # a fixed operation's cost is a constant
                charged_per_machine = {}
                overlaps: dict[tuple[int, int], Any] = {}
                for machine, present in lot.modes.items():
                    power = model.machines[machine].power_kw
                    if power <= 0:
                        continue
                    terms = []
                    for a, b, price in _periods(tariff, *lot.window):
                        coefficient = round(power * price / tariff.units_per_hour * ENERGY_SCALE)
                        if coefficient <= 0:
                            continue
                        if (a, b) not in overlaps:
                            overlaps[(a, b)] = self._overlap(lot, a, b)
                        terms.append(coefficient * overlaps[(a, b)])
                    if terms:
                        charged_per_machine[machine] = (sum(terms), present)
                for machine, (expression, present) in charged_per_machine.items():
                    if present is True:
                        costs.append(expression)
                        continue
                    charged = m.new_int_var(0, 10**12, f"cost{op.index}_{machine}")
                    m.add(charged >= expression).only_enforce_if(present)
                    costs.append(charged)
        return sum(costs) if costs else 0

    def _overlap(self, lot: _Lot, a: int, b: int) -> Any:
        m, top = self.m, self.horizon * 11 + b
        before = m.new_int_var(0, top, "")
        after = m.new_int_var(0, top, "")
        m.add_max_equality(before, [0, a - lot.start])
        m.add_max_equality(after, [0, lot.end - b])
        overlap = m.new_int_var(0, b - a, "")
        m.add(overlap >= lot.end - lot.start - before - after)
        return overlap

    def _stability(self) -> Any:
        model, m = self.model, self.m
        stability = model.stability
        assert stability is not None
        terms = []
        for index, (machine, start) in stability.previous.items():
            op = model.operations[index]
            if op.fixed is not None or op.max_lots > 1:
                continue
            lot = self.lots[index][0]
            moved = m.new_int_var(0, 11 * self.horizon + abs(start), f"moved{index}")
            m.add(moved >= lot.start - start)
            m.add(moved >= start - lot.start)
            terms.append(stability.per_time_unit * moved)
            present = lot.modes.get(machine)
            if present is None:
                terms.append(stability.per_machine_change)
            elif present is not True:
                terms.append(stability.per_machine_change * (1 - present))
        return sum(terms) if terms else 0

    # -- hints and reading back ----------------------------------------------------------------
    def hint(self, schedule: list[ScheduledOperation]) -> None:
        m = self.m
        if "makespan" in self.terms:
            m.add_hint(self.terms["makespan"], max((s.end for s in schedule), default=0))
        for s in schedule:
            op = self.model.operations[s.operation]
            if op.fixed is not None:
                continue
            lots = self.lots[s.operation]
            lot = lots[0]
            for k, other in enumerate(lots):
                if k and other.present is not True:
                    m.add_hint(other.present, False)
            if not isinstance(lot.start, int):
                m.add_hint(lot.start, s.start)
                m.add_hint(lot.end, s.end)
            if len(lots) > 1:
                m.add_hint(lot.quantity, op.quantity)
            for machine, lit in lot.modes.items():
                if lit is not True:
                    m.add_hint(lit, machine == s.machine)
                duration = lot.durations[machine]
                if not isinstance(duration, int):
                    m.add_hint(duration, s.end - s.start if machine == s.machine else 0)

    def read(self, solver: Any) -> list[ScheduledOperation]:
        out = []
        for op in self.model.operations:
            for k, lot in enumerate(self.lots[op.index]):
                if lot.present is not True and not solver.boolean_value(lot.present):
                    continue
                machine = next(mc for mc, lit in lot.modes.items() if lit is True or solver.boolean_value(lit))
                start = lot.start if isinstance(lot.start, int) else solver.value(lot.start)
                duration = lot.durations[machine]
                length = duration if isinstance(duration, int) else solver.value(duration)
                quantity = lot.quantity if isinstance(lot.quantity, int) else solver.value(lot.quantity)
                out.append(ScheduledOperation(op.index, op.job, op.position, machine, start, start + length, k,
                                              quantity))
        return out


def _periods(tariff: Tariff, earliest: int, latest: int) -> list[tuple[int, int, float]]:
    """The tariff's periods as absolute [a, b) intervals meeting [earliest, latest)."""
    out = []
    first_cycle = (earliest + tariff.offset) // tariff.cycle
    last_cycle = (latest + tariff.offset) // tariff.cycle
    for k in range(first_cycle, last_cycle + 1):
        base = k * tariff.cycle - tariff.offset
        for a, b, price in tariff.periods:
            if base + b > earliest and base + a < latest:
                out.append((base + a, base + b, price))
    return out


def _score(model: Model) -> Any:
    weights = model.objective.weights() or {name: 1.0 for name in model.objective.lexicographic[:1]}

    def score(schedule: list[ScheduledOperation]) -> float:
        values = kpis(model, schedule)
        return sum(w * values[name] for name, w in weights.items())
    return score


def _horizon(model: Model, warm: DispatchResult) -> int:
    """Makespan alone: the warm start's makespan (any better schedule fits). Otherwise leave room for
    schedules that finish later but are cheaper or less tardy."""
    objective = model.objective
    if set(objective.weights()) == {"makespan"} and not objective.lexicographic and model.stability is None:
        return warm.makespan
    total = sum(max(m.duration for m in op.modes) for op in model.operations)
    latest_due = max([j.due or 0 for j in model.jobs] + [j.release for j in model.jobs], default=0)
    return max(warm.makespan, latest_due) + total


def solve(model: Model, time_limit: float = 10.0, workers: int = 2, seed: int = 0, log: bool = False,
          control: SolveControl | None = None) -> SolveResult:
    model.validate()
    if time_limit > 0:
        from ortools.sat.python import cp_model  # the first import takes a while: not part of the budget
    started = time.monotonic()
    score = _score(model)
    warm = best_dispatch(model, score)
    bound = float(trivial_makespan_bound(model))
    if control is not None:
        control.record(warm.operations, score(warm.operations), bound)
    remaining = time_limit - (time.monotonic() - started)
    if remaining < 0.05 or not model.operations:
        return _dispatch_result(model, warm, bound, started)
    builder = _Builder(model, _horizon(model, warm), cp_model)
    builder.build()
    builder.hint(warm.operations)
    stages = list(model.objective.lexicographic) or [None]
    operations, objective_value, lower = warm.operations, None, bound
    all_optimal = True  # lexicographic: optimal only when every stage was proven optimal
    for number, stage in enumerate(stages):
        expression = _expression(builder, model, stage)
        builder.m.minimize(expression)
        solver = cp_model.CpSolver()
        budget = (time_limit - (time.monotonic() - started)) / (len(stages) - number)
        solver.parameters.max_time_in_seconds = max(0.01, budget)
        solver.parameters.num_workers = max(1, workers)
        solver.parameters.random_seed = seed
        solver.parameters.log_search_progress = log
        recorder = None
        if control is not None:
            control.attach(solver.stop_search)
            recorder = _recorder(cp_model, builder, control) if stage is None else None
        code = solver.solve(builder.m, recorder)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if code == cp_model.INFEASIBLE:
                return SolveResult("infeasible", None, math.inf, None, [], time.monotonic() - started)
            all_optimal = False
            break
        operations = builder.read(solver)
        scale = ENERGY_SCALE if stage == "energy_cost" else 1
        objective_value = solver.objective_value / scale
        lower = solver.best_objective_bound / scale
        all_optimal = all_optimal and code == cp_model.OPTIMAL
        if stage is None and set(model.objective.weights()) == {"makespan"} and model.stability is None:
            lower = max(lower, bound)
        if number + 1 < len(stages):
            builder.m.add(expression <= round(solver.objective_value))
            builder.m.clear_hints()
            builder.hint(operations)
    values = kpis(model, operations)
    if objective_value is None:
        return _dispatch_result(model, warm, bound, started)
    return SolveResult("optimal" if all_optimal else "feasible", objective_value, lower, int(values["makespan"]),
                       operations, time.monotonic() - started, values)


def _recorder(cp_model: Any, builder: _Builder, control: SolveControl) -> Any:
    """A solution callback keeping the best schedule in ``control`` (read if the solve must be abandoned)."""

    class Recorder(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            control.record(builder.read(self), self.objective_value, self.best_objective_bound)

    return Recorder()


def _expression(builder: _Builder, model: Model, stage: str | None) -> Any:
    if stage is not None:
        if stage not in OBJECTIVES:
            raise ModelError(f"objective: unknown {stage!r}")
        term = builder.terms[stage]
        return term
    expression: Any = 0
    for name, weight in model.objective.weights().items():
        term = builder.terms[name]
        scale = ENERGY_SCALE if name == "energy_cost" else 1
        expression += (weight / scale) * term if scale != 1 or weight != int(weight) else int(weight) * term
    return expression + builder.stability


def _dispatch_result(model: Model, warm: DispatchResult, bound: float, started: float) -> SolveResult:
    values = kpis(model, warm.operations)
    only_makespan = set(model.objective.weights()) == {"makespan"}
    status = "feasible" if model.operations else "optimal"  # nothing to schedule is trivially optimal
    return SolveResult(status, _score(model)(warm.operations), bound if only_makespan else 0.0,
                       warm.makespan, warm.operations, time.monotonic() - started, values,
                       source=f"dispatch:{warm.rule}")
