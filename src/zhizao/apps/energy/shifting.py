"""Load shifting: when to run flexible loads so buffers stay within limits at the least energy cost.

The model (a small modelling API in front of the solver, like PyJobShop's): the day is cut into
slots (e.g. 96 of 15 minutes) with a price each. A ``Load`` (a pulper, a refiner, a pump...) is on
or off in each slot; while on it draws ``power_kw`` and moves material: ``outputs`` add to buffers,
``inputs`` take from them (per slot). It runs at least ``min_on`` slots once started, stays off at
least ``min_off`` slots once stopped, and starts at most ``max_starts`` times. A ``Buffer`` (a
stock chest, a tank, a silo) holds between ``low`` and ``high`` at the end of every slot, starts at
``initial``, loses a fixed ``demand`` per slot (the downstream consumer) and must end the day at
``final_min`` or more (default: ``initial``, so savings are not bought by emptying it).

``solve`` builds a CP-SAT model (booleans per load and slot, integer levels scaled by 1000, so
amounts count to 3 decimals; cost in 1e-4 currency units) warm-started from the ASAP plan.
``asap`` is the reference policy: every load runs as soon as it can, the way level-controlled
equipment runs without a tariff in mind (a greedy rule; ``check`` tells whether it kept every
limit on a given problem); ``same_end_levels``
makes the optimised plan leave the buffers at least as full as ASAP does, for a fair comparison. ``check`` verifies a
plan independently of both: it re-simulates the levels and counts runs, gaps and starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

SCALE = 1000  # levels and rates to integers (3 decimals)
COST_SCALE = 10_000  # cost coefficients to integers


@dataclass(frozen=True)
class Load:
    name: str
    power_kw: float
    outputs: dict[str, float] = field(default_factory=dict)  # buffer -> amount per slot while on
    inputs: dict[str, float] = field(default_factory=dict)
    min_on: int = 1
    min_off: int = 1
    max_starts: int | None = None
    initially_on: bool = False


@dataclass(frozen=True)
class Buffer:
    name: str
    low: float
    high: float
    initial: float
    demand: tuple[float, ...] = ()  # per slot; empty: none
    final_min: float | None = None  # default: initial


@dataclass(frozen=True)
class Problem:
    prices: tuple[float, ...]  # per slot, currency per kWh
    loads: tuple[Load, ...]
    buffers: tuple[Buffer, ...]
    slot_minutes: int = 15

    @property
    def slots(self) -> int:
        return len(self.prices)

    @property
    def slot_h(self) -> float:
        return self.slot_minutes / 60

    def demand(self, b: Buffer, t: int) -> float:
        return b.demand[t] if b.demand else 0.0

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field of the first inconsistency."""
        if self.slots == 0:
            raise ValueError("prices: at least one slot is needed")
        if any(not math.isfinite(p) or p < 0 for p in self.prices):
            raise ValueError("prices: every price must be a finite number >= 0")
        names = {b.name for b in self.buffers}
        if len(names) != len(self.buffers):
            raise ValueError("buffers: names must be unique")
        if len({ld.name for ld in self.loads}) != len(self.loads):
            raise ValueError("loads: names must be unique")
        for i, b in enumerate(self.buffers):
            if not b.low <= b.initial <= b.high:
                raise ValueError(f"buffers[{i}] ({b.name}): need low <= initial <= high")
            if b.demand and len(b.demand) != self.slots:
                raise ValueError(f"buffers[{i}] ({b.name}).demand: {len(b.demand)} values for {self.slots} slots")
            if b.final_min is not None and not b.low <= b.final_min <= b.high:
                raise ValueError(f"buffers[{i}] ({b.name}).final_min: must lie between low and high")
        for i, ld in enumerate(self.loads):
            if ld.power_kw < 0:
                raise ValueError(f"loads[{i}] ({ld.name}).power_kw: must be >= 0")
            if ld.min_on < 1 or ld.min_off < 1:
                raise ValueError(f"loads[{i}] ({ld.name}): min_on and min_off are at least 1 slot")
            if ld.max_starts is not None and ld.max_starts < 0:
                raise ValueError(f"loads[{i}] ({ld.name}).max_starts: must be >= 0")
            for key in ("outputs", "inputs"):
                for name in getattr(ld, key):
                    if name not in names:
                        raise ValueError(f"loads[{i}] ({ld.name}).{key}: no buffer named {name!r}")


@dataclass
class Plan:
    policy: str  # "optimised" | "asap"
    on: dict[str, list[int]]  # load -> 0/1 per slot
    levels: dict[str, list[float]]  # buffer -> level at the end of each slot
    cost: float
    energy_kwh: float
    starts: dict[str, int]
    status: str  # optimal | feasible | infeasible | unknown (solver), or "heuristic"
    violations: list[str]
    bound: float | None = None  # proven lower bound of the cost (solver)
    solve_s: float = 0.0

    @property
    def feasible(self) -> bool:
        return not self.violations


def _net(problem: Problem, b: Buffer, on: dict[str, list[int]], t: int) -> float:
    flow = sum(on[ld.name][t] * (ld.outputs.get(b.name, 0.0) - ld.inputs.get(b.name, 0.0)) for ld in problem.loads)
    return flow - problem.demand(b, t)


def simulate(problem: Problem, on: dict[str, list[int]]) -> dict[str, list[float]]:
    """Buffer levels at the end of every slot under the on/off plan ``on``."""
    levels: dict[str, list[float]] = {}
    for b in problem.buffers:
        level, out = b.initial, []
        for t in range(problem.slots):
            level += _net(problem, b, on, t)
            out.append(level)
        levels[b.name] = out
    return levels


def cost_of_plan(problem: Problem, on: dict[str, list[int]]) -> tuple[float, float]:
    """(cost, energy kWh) of a plan."""
    energy = cost = 0.0
    for ld in problem.loads:
        for t, x in enumerate(on[ld.name]):
            if x:
                kwh = ld.power_kw * problem.slot_h
                energy += kwh
                cost += kwh * problem.prices[t]
    return cost, energy


def _runs(xs: list[int]) -> list[tuple[int, int, int]]:
    """(value, start, length) of the maximal runs of equal values."""
    out: list[tuple[int, int, int]] = []
    for t, x in enumerate(xs):
        if out and out[-1][0] == x:
            v, s, n = out[-1]
            out[-1] = (v, s, n + 1)
        else:
            out.append((x, t, 1))
    return out


def check(problem: Problem, on: dict[str, list[int]], tol: float = 1e-6) -> list[str]:
    """Every rule the plan breaks, re-derived from the plan alone (no solver output is trusted)."""
    out: list[str] = []
    levels = simulate(problem, on)
    for b in problem.buffers:
        for t, level in enumerate(levels[b.name]):
            if level < b.low - tol or level > b.high + tol:
                out.append(f"{b.name}: level {level:.3f} outside [{b.low}, {b.high}] in slot {t}")
                break
        final = b.initial if b.final_min is None else b.final_min
        if levels[b.name][-1] < final - tol:
            out.append(f"{b.name}: ends at {levels[b.name][-1]:.3f}, below {final}")
    for ld in problem.loads:
        xs = on[ld.name]
        if len(xs) != problem.slots or any(x not in (0, 1) for x in xs):
            out.append(f"{ld.name}: the plan needs 0/1 for each of {problem.slots} slots")
            continue
        runs = _runs(xs)
        starts = sum(1 for v, s, _ in runs if v == 1 and not (s == 0 and ld.initially_on))
        for v, s, n in runs:
            at_end = s + n == problem.slots
            if v == 1 and n < ld.min_on and not at_end and not (s == 0 and ld.initially_on):
                out.append(f"{ld.name}: runs only {n} slots from slot {s} (min_on {ld.min_on})")
            if v == 0 and n < ld.min_off and not at_end and s > 0:
                out.append(f"{ld.name}: off only {n} slots from slot {s} (min_off {ld.min_off})")
        if ld.max_starts is not None and starts > ld.max_starts:
            out.append(f"{ld.name}: {starts} starts > max_starts {ld.max_starts}")
    return out


def _plan(problem: Problem, policy: str, on: dict[str, list[int]], status: str, bound: float | None = None,
          solve_s: float = 0.0) -> Plan:
    cost, energy = cost_of_plan(problem, on)
    starts = {ld.name: sum(1 for v, s, _ in _runs(on[ld.name]) if v == 1 and not (s == 0 and ld.initially_on))
              for ld in problem.loads}
    return Plan(policy, on, simulate(problem, on), cost, energy, starts, status, check(problem, on), bound, solve_s)


def _model(problem: Problem) -> tuple[Any, dict[str, list[Any]]]:
    """The CP-SAT model of the rules (no objective): on/off booleans per load and slot."""
    from ortools.sat.python import cp_model

    n = problem.slots
    m = cp_model.CpModel()
    x = {ld.name: [m.new_bool_var(f"{ld.name}_{t}") for t in range(n)] for ld in problem.loads}
    for ld in problem.loads:
        xs = x[ld.name]
        starts = []
        for t in range(n):
            start = m.new_bool_var(f"{ld.name}_start_{t}")
            stop = m.new_bool_var(f"{ld.name}_stop_{t}")
            if t == 0:  # the state before the day is given
                m.add(start == (0 if ld.initially_on else xs[0]))
                m.add(stop == ((1 - xs[0]) if ld.initially_on else 0))
            else:  # start <=> off before and on now; stop <=> on before and off now
                before = xs[t - 1]
                m.add_bool_and([xs[t], before.Not()]).only_enforce_if(start)
                m.add_bool_or([xs[t].Not(), before]).only_enforce_if(start.Not())
                m.add_bool_and([xs[t].Not(), before]).only_enforce_if(stop)
                m.add_bool_or([xs[t], before.Not()]).only_enforce_if(stop.Not())
            for k in range(1, min(ld.min_on, n - t)):
                m.add_implication(start, xs[t + k])
            for k in range(1, min(ld.min_off, n - t)):
                m.add_implication(stop, xs[t + k].Not())
            starts.append(start)
        if ld.max_starts is not None:
            m.add(sum(starts) <= ld.max_starts)
    for b in problem.buffers:
        level = round(b.initial * SCALE)
        final = b.initial if b.final_min is None else b.final_min
        for t in range(n):
            flow = sum(x[ld.name][t] * round((ld.outputs.get(b.name, 0.0) - ld.inputs.get(b.name, 0.0)) * SCALE)
                       for ld in problem.loads)
            level = level + flow - round(problem.demand(b, t) * SCALE)
            m.add(level >= math.ceil(b.low * SCALE - 1e-6))
            m.add(level <= math.floor(b.high * SCALE + 1e-6))
        m.add(level >= math.ceil(final * SCALE - 1e-6))
    return m, x


def _solver(time_limit_s: float, workers: int) -> Any:
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    return solver


def duty_estimates(problem: Problem) -> dict[str, float]:
    """Share of the day each load must run to keep up: a buffer's required inflow (its average
    demand plus what the loads drawing from it take) shared by the loads feeding it in proportion to
    their rates, worked upstream from the buffers that only have demand (loads in a cycle: 0.5)."""
    duty: dict[str, float] = {}
    pending = list(problem.loads)
    for _ in range(len(problem.loads)):
        for ld in list(pending):
            shares = []
            for name in ld.outputs:
                drawers = [o for o in problem.loads if name in o.inputs]
                if any(o.name not in duty for o in drawers):
                    break
                b = next(b for b in problem.buffers if b.name == name)
                need = sum(b.demand) / problem.slots if b.demand else 0.0
                need += sum(o.inputs[name] * duty[o.name] for o in drawers)
                feeders = sum(o.outputs[name] for o in problem.loads if name in o.outputs)
                shares.append(need / feeders if feeders else 0.0)
            else:
                duty[ld.name] = min(max(shares, default=0.5), 1.0)
                pending.remove(ld)
    return duty | {ld.name: 0.5 for ld in pending}


def asap(problem: Problem) -> Plan:
    """The reference policy: run every load as soon as it can, as tariff-blind level control does
    (keep the buffers full), slot by slot, without looking at prices.

    A running load keeps running (past min_on) while one more slot fits. A stopped load starts once
    min_off has passed, it has starts left, and a whole run fits: ``max(min_on, run)`` slots, where
    ``run`` spreads its duty (``duty_estimates``) over its start budget so the starts last the day
    (at most what its buffers hold).
    "Fits" is judged for the worst case of the other loads as they run now: a buffer the load fills
    stays below high even if the loads drawing from it stop once their committed minimum run ends,
    a buffer it draws from stays above low even if the loads feeding it stop then (loads free to
    start are counted as feeding from the next slot: they start when there is room); so a committed
    minimum run does not overflow, and runs dry only when a feeder cannot start after all. A
    buffer the load feeds that would fall below low within a minimum run and pause lets it start
    with only a minimum run fitting. Being greedy it can still break a limit (a start budget spent
    too early, a chest empty at the end of the day); ``Plan.violations`` says so.
    """
    problem.validate()
    n = problem.slots
    on = {ld.name: [0] * n for ld in problem.loads}
    state = {ld.name: ld.initially_on for ld in problem.loads}
    since = {ld.name: (ld.min_on if ld.initially_on else ld.min_off) for ld in problem.loads}
    starts = {ld.name: 0 for ld in problem.loads}
    level = {b.name: b.initial for b in problem.buffers}
    duty = duty_estimates(problem)
    capacity = {b.name: b.high - b.low for b in problem.buffers}
    mean_demand = {b.name: sum(b.demand) / n if b.demand else 0.0 for b in problem.buffers}
    run = {}
    for ld in problem.loads:
        wanted = ld.min_on if ld.max_starts is None else math.ceil(n * duty[ld.name] / max(ld.max_starts, 1))
        # The longest run its outputs can take, filling at its rate less their average demand.
        room = [capacity[name] / (rate - mean_demand[name]) for name, rate in ld.outputs.items()
                if rate > mean_demand[name]]
        run[ld.name] = max(ld.min_on, min([wanted, *(math.floor(r) for r in room)]))

    def available(load: Load) -> bool:
        """Off, past its min_off, with starts left."""
        return not state[load.name] and since[load.name] >= load.min_off and (
            load.max_starts is None or starts[load.name] < load.max_starts)

    def fits(load: Load, t: int, span: int) -> bool:
        for b in problem.buffers:
            fills, draws = b.name in load.outputs, b.name in load.inputs
            if not (fills or draws):
                continue
            others = [o for o in problem.loads if o is not load and state[o.name]]
            trial = level[b.name]
            for k in range(t, min(t + span, n)):
                # Worst case: filling, the others keep filling and stop drawing when their committed
                # minimum run ends; drawing, the others keep drawing and stop filling then.
                committed = [o for o in others if since[o.name] + (k - t) < o.min_on]
                if fills:
                    step = load.outputs[b.name] - load.inputs.get(b.name, 0.0) \
                        + sum(o.outputs.get(b.name, 0.0) for o in others) \
                        - sum(o.inputs.get(b.name, 0.0) for o in committed)
                else:  # feeders that are off but free to start are counted from the next slot
                    feeding = committed + [o for o in problem.loads if k > t and available(o)]
                    step = -load.inputs[b.name] - sum(o.inputs.get(b.name, 0.0) for o in others) \
                        + sum(o.outputs.get(b.name, 0.0) for o in feeding)
                trial += step - problem.demand(b, k)
                if (fills and trial > b.high + 1e-9) or (draws and trial < b.low - 1e-9):
                    return False
        return True

    def running_low(load: Load, t: int) -> bool:
        for b in problem.buffers:
            if b.name in load.outputs:
                trial = level[b.name]
                step = sum(o.outputs.get(b.name, 0.0) - o.inputs.get(b.name, 0.0)
                           for o in problem.loads if o is not load and state[o.name])
                for k in range(t, min(t + load.min_on + load.min_off, n)):
                    trial += step - problem.demand(b, k)
                    if trial < b.low:
                        return True
        return False

    for t in range(n):
        for ld in problem.loads:
            name = ld.name
            if state[name]:
                if since[name] >= ld.min_on and not fits(ld, t, 1):
                    state[name], since[name] = False, 0
            elif available(ld) and (fits(ld, t, run[name]) or (running_low(ld, t) and fits(ld, t, ld.min_on))):
                state[name], since[name] = True, 0
                starts[name] += 1
            on[name][t] = int(state[name])
            since[name] += 1
        for b in problem.buffers:
            level[b.name] += _net(problem, b, on, t)
    return _plan(problem, "asap", on, "heuristic")


def same_end_levels(problem: Problem, reference: Plan) -> Problem:
    """``problem`` with every buffer required to end at least as full as in ``reference``, so a
    cheaper plan is not bought by leaving less stock for the next day."""
    buffers = tuple(replace(b, final_min=max(b.final_min if b.final_min is not None else b.initial,
                                             min(reference.levels[b.name][-1], b.high)))
                    for b in problem.buffers)
    return replace(problem, buffers=buffers)


def solve(problem: Problem, time_limit_s: float = 10.0, workers: int = 2, hint: Plan | None = None) -> Plan:
    """The least-cost plan that keeps every buffer within its limits (CP-SAT), warm-started from ``hint``."""
    import time

    from ortools.sat.python import cp_model

    problem.validate()
    n = problem.slots
    m, x = _model(problem)
    m.minimize(sum(round(problem.prices[t] * ld.power_kw * problem.slot_h * COST_SCALE) * x[ld.name][t]
                   for ld in problem.loads for t in range(n)))
    if hint is not None and hint.feasible:
        for ld in problem.loads:
            for t in range(n):
                m.add_hint(x[ld.name][t], bool(hint.on[ld.name][t]))
    solver = _solver(time_limit_s, workers)
    began = time.perf_counter()
    code = solver.solve(m)
    took = time.perf_counter() - began
    status = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible",
              cp_model.INFEASIBLE: "infeasible"}.get(code, "unknown")
    if status in ("infeasible", "unknown"):
        empty = {ld.name: [0] * n for ld in problem.loads}
        plan = _plan(problem, "optimised", empty, status, solve_s=took)
        plan.violations.insert(0, "no plan keeps the buffers within their limits" if status == "infeasible"
                               else f"no plan found within {time_limit_s} s")
        return plan
    on = {ld.name: [int(solver.value(v)) for v in x[ld.name]] for ld in problem.loads}
    return _plan(problem, "optimised", on, status, solver.best_objective_bound / COST_SCALE, took)
