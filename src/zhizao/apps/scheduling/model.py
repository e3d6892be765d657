"""The scheduling modelling API and its result types (no solver imports here).

A small API in the spirit of PyJobShop: build a :class:`Model` with machines,
jobs (orders) and their operations, give each operation one *mode* per eligible
machine (machine + processing time), add extra precedences for assembly trees,
then ``model.solve(...)``. The solver (OR-Tools CP-SAT, ``zhizao.apps.scheduling.cpsat``)
can change without callers noticing.

Time is an integer in a unit the caller chooses (minutes in the platform,
abstract units in the benchmark instances). Money is in the tariff's unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ObjectiveName = Literal["makespan", "weighted_tardiness", "late_count", "energy_cost"]
OBJECTIVES: tuple[ObjectiveName, ...] = ("makespan", "weighted_tardiness", "late_count", "energy_cost")


def merged(periods: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted periods with overlapping or touching ones joined."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(p for p in periods if p[1] > p[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


class ModelError(ValueError):
    """The model cannot be scheduled as given (e.g. an operation without an eligible machine)."""


@dataclass
class Machine:
    index: int
    name: str
    power_kw: float = 0.0  # power drawn while processing, for the energy cost
    unavailable: list[tuple[int, int]] = field(default_factory=list)  # [start, end) periods: shifts off, maintenance
    # setup time from product family a to family b on this machine; missing pairs are 0
    setup_times: dict[tuple[str, str], int] = field(default_factory=dict)

    def setup(self, before: str | None, after: str | None) -> int:
        if before is None or after is None:
            return 0
        return self.setup_times.get((before, after), 0)


@dataclass
class Job:
    index: int
    name: str
    release: int = 0
    due: int | None = None
    weight: int = 1
    family: str | None = None  # product family for sequence-dependent setups
    operations: list[Operation] = field(default_factory=list)


@dataclass
class Mode:
    machine: int
    duration: int


@dataclass
class Operation:
    index: int  # global index in Model.operations
    job: int
    position: int  # 0-based index within its job, in insertion order
    name: str
    modes: list[Mode] = field(default_factory=list)
    predecessors: list[int] = field(default_factory=list)  # global operation indices
    family: str | None = None  # defaults to the job's family
    # lot splitting: at most ``max_lots`` sub-lots, each >= ``min_lot`` units, whose times are
    # proportional to their share of ``quantity`` (modes give the time of the whole quantity)
    quantity: int = 1
    max_lots: int = 1
    min_lot: int = 1
    # rescheduling: a fixed (machine, start) keeps the operation exactly there (started operations)
    fixed: tuple[int, int] | None = None

    def duration_on(self, machine: int) -> int | None:
        for mode in self.modes:
            if mode.machine == machine:
                return mode.duration
        return None


@dataclass
class Tariff:
    """A time-of-use electricity price repeating every ``cycle`` time units.

    ``periods`` are ``(start, end, price per kWh)`` inside one cycle, e.g. valley/flat/peak hours
    of a day in minutes; ``units_per_hour`` converts time units to hours (60 for minutes).
    """

    periods: list[tuple[int, int, float]]
    cycle: int = 1440
    units_per_hour: float = 60.0
    offset: int = 0  # phase of time 0 in the cycle (e.g. the local minute of day when the plan starts)

    def price_at(self, t: int) -> float:
        phase = (t + self.offset) % self.cycle
        for start, end, price in self.periods:
            if start <= phase < end:
                return price
        return 0.0

    def cost(self, power_kw: float, start: int, end: int) -> float:
        """Energy cost of drawing ``power_kw`` over [start, end)."""
        return sum(self.price_at(t) for t in range(start, end)) * power_kw / self.units_per_hour


@dataclass
class Objective:
    """Weights of a weighted sum, or an order for a lexicographic objective (``lexicographic`` non-empty)."""

    makespan: float = 0.0
    weighted_tardiness: float = 0.0
    late_count: float = 0.0
    energy_cost: float = 0.0
    lexicographic: tuple[ObjectiveName, ...] = ()

    @classmethod
    def of(cls, name: ObjectiveName) -> Objective:
        return cls(**{name: 1.0})

    def weights(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in OBJECTIVES if getattr(self, name)}


@dataclass
class Stability:
    """Rescheduling: the previous plan and how much a change costs (per time unit moved, per machine change)."""

    previous: dict[int, tuple[int, int]]  # operation index -> (machine, start)
    per_time_unit: float = 1.0
    per_machine_change: float = 10.0


@dataclass
class ScheduledOperation:
    operation: int
    job: int
    position: int
    machine: int
    start: int
    end: int
    lot: int = 0  # sub-lot number when the operation is split
    quantity: int = 1


@dataclass
class SolveResult:
    status: Literal["optimal", "feasible", "infeasible", "unknown"]
    objective: float | None
    lower_bound: float
    makespan: int | None
    operations: list[ScheduledOperation]
    wall_time: float
    kpis: dict[str, float] = field(default_factory=dict)
    source: str = "cp-sat"  # cp-sat | dispatch:<rule> when the solver found nothing better

    @property
    def feasible(self) -> bool:
        return self.status in ("optimal", "feasible")


class SolveControl:
    """Lets another thread stop a running solve and read the best schedule found so far (anytime use)."""

    def __init__(self) -> None:
        self.best: list[ScheduledOperation] | None = None
        self.best_objective: float | None = None
        self.best_bound: float = 0.0
        self._stop: Any = None  # the running solver's stop function

    def record(self, operations: list[ScheduledOperation], objective: float, bound: float) -> None:
        self.best, self.best_objective, self.best_bound = operations, objective, max(self.best_bound, bound)

    def attach(self, stop: Any) -> None:
        self._stop = stop

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()


class Model:
    """A scheduling problem: machines, jobs with operations and their modes, constraints and an objective."""

    def __init__(self) -> None:
        self.machines: list[Machine] = []
        self.jobs: list[Job] = []
        self.operations: list[Operation] = []
        self.tariff: Tariff | None = None
        self.objective: Objective = Objective(makespan=1.0)
        self.stability: Stability | None = None
        self.not_before: int = 0  # no unfixed operation starts earlier (rescheduling: "now")

    # -- building -------------------------------------------------------------------------------
    def add_machine(self, name: str | None = None, *, power_kw: float = 0.0,
                    unavailable: list[tuple[int, int]] | None = None,
                    setup_times: dict[tuple[str, str], int] | None = None) -> Machine:
        machine = Machine(len(self.machines), name or f"M{len(self.machines)}", power_kw,
                          sorted(unavailable or []), dict(setup_times or {}))
        self.machines.append(machine)
        return machine

    def add_job(self, name: str | None = None, *, release: int = 0, due: int | None = None, weight: int = 1,
                family: str | None = None) -> Job:
        job = Job(len(self.jobs), name or f"J{len(self.jobs)}", release, due, weight, family)
        self.jobs.append(job)
        return job

    def add_operation(self, job: Job, name: str | None = None, *, predecessors: list[Operation] | None = None,
                      family: str | None = None, quantity: int = 1, max_lots: int = 1,
                      min_lot: int = 1) -> Operation:
        """Append an operation to ``job``'s routing. By default it follows the job's previous operation;
        pass ``predecessors`` (possibly empty, possibly of other jobs) for assembly trees."""
        if predecessors is None:
            preds = [job.operations[-1].index] if job.operations else []
        else:
            preds = [p.index for p in predecessors]
        position = len(job.operations)
        op = Operation(len(self.operations), job.index, position, name or f"{job.name}.{position}",
                       predecessors=preds, family=family if family is not None else job.family,
                       quantity=quantity, max_lots=max_lots, min_lot=min_lot)
        self.operations.append(op)
        job.operations.append(op)
        return op

    def add_mode(self, operation: Operation, machine: Machine | int, duration: int) -> Mode:
        machine_index = machine if isinstance(machine, int) else machine.index
        if not 0 <= machine_index < len(self.machines):
            raise ModelError(f"operation {operation.name}: unknown machine {machine_index}")
        if duration < 0:
            raise ModelError(f"operation {operation.name}: negative processing time {duration}")
        mode = Mode(machine_index, int(duration))
        operation.modes.append(mode)
        return mode

    def add_precedence(self, before: Operation, after: Operation) -> None:
        if before.index not in after.predecessors:
            after.predecessors.append(before.index)

    def set_objective(self, objective: Objective | ObjectiveName) -> None:
        self.objective = Objective.of(objective) if isinstance(objective, str) else objective

    # -- checks and solving --------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`ModelError` naming the first operation that cannot be scheduled."""
        for op in self.operations:
            if not op.modes:
                raise ModelError(f"job {op.job} operation {op.position} ({op.name}) has no eligible machine")
            if op.max_lots < 1 or op.min_lot < 1 or op.quantity < 1:
                raise ModelError(f"operation {op.name}: quantity, max_lots and min_lot must be >= 1")
        names = [o for o in self.objective.lexicographic if o not in OBJECTIVES]
        if names:
            raise ModelError(f"objective: unknown {names[0]!r}, expected one of {', '.join(OBJECTIVES)}")
        if not self.objective.weights() and not self.objective.lexicographic and self.stability is None:
            raise ModelError("objective: no objective has a weight")
        if self.objective.energy_cost or "energy_cost" in self.objective.lexicographic:
            if self.tariff is None:
                raise ModelError("objective: energy_cost needs a tariff (model.tariff)")
        seen: set[int] = set()
        for op in self._topological_order():
            seen.add(op.index)
        if len(seen) != len(self.operations):
            raise ModelError("precedences contain a cycle")

    def _topological_order(self) -> list[Operation]:
        indegree = [len(op.predecessors) for op in self.operations]
        successors: list[list[int]] = [[] for _ in self.operations]
        for op in self.operations:
            for p in op.predecessors:
                successors[p].append(op.index)
        ready = [i for i, d in enumerate(indegree) if d == 0]
        order: list[Operation] = []
        while ready:
            i = ready.pop()
            order.append(self.operations[i])
            for s in successors[i]:
                indegree[s] -= 1
                if indegree[s] == 0:
                    ready.append(s)
        return order

    def solve(self, time_limit: float = 10.0, workers: int = 2, *, seed: int = 0, log: bool = False,
              control: SolveControl | None = None) -> SolveResult:
        """Best schedule found within ``time_limit`` seconds, with a proven lower bound of the objective."""
        from zhizao.apps.scheduling.cpsat import solve

        return solve(self, time_limit=time_limit, workers=workers, seed=seed, log=log, control=control)
