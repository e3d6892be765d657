"""The simulated plant: a SimPy model of each line's material flow.

A line is its ``flow``: machines with buffers between them (two machines next
to each other hand over through one place). The first machine takes units of
the released orders, earliest due date first (FIFO among equal due dates; an
order once started is finished first). Every machine waits for its shift, takes
a part from its input (idle ``starved``, or ``no_order`` when nothing is on its
way), is set up when the product family changes, machines the part, and puts a
good part into its output (idle ``blocked`` while that is full). Failures, minor
stops and maintenance interrupt whatever the machine is doing; a part in the
machine is finished afterwards. A sampling process reads every instrument each
``sample_period_s`` and publishes what the plant has tags for, like a polling
connector would.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import deque
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import simpy

from zhizao.assets.model import Equipment, Plant, Product, Site
from zhizao.assets.model import Line as LineSpec
from zhizao.bus import Bus
from zhizao.sim.calendar import ShiftCalendar
from zhizao.sim.degradation import BoringTool, Health
from zhizao.sim.model import (
    BORE_TAG,
    DEFAULT_PROFILE,
    FAILURE_PROFILES,
    LATENT_DEFECTS,
    OWN_DEFECTS,
    Order,
    Part,
    SimClock,
    SimError,
    StateClock,
    Stoppage,
)
from zhizao.sim.sensors import Climate, MachineSensors

SimGen = Generator[simpy.Event, Any, Any]

DEFAULT_CYCLE_S = 60.0
HANDLING_S = 2.0  # loading/unloading a part; waits shorter than this are not shown as idle
PM_INTERVAL_H = 48.0  # planned maintenance of each machine, staggered over the machines
PM_DURATION_MIN = 40.0
ORDER_LOAD = 0.62  # work arriving as a share of the bottleneck's ideal capacity
ARRIVAL_SHAPE = 4.0
ORDER_QTY = (20, 120)  # units, in steps of 10
START_BACKLOG = 3  # orders released at the start, so the line starts busy
LINE_BASE_LOAD = 0.06  # compressed air, lighting, conveyors: share of the machines' rated power
MAX_CONTROL_S = 7 * 86_400.0
MODE_PATTERN = re.compile(r"^[a-z0-9_]+$")
# Machine tags read every sample (``state`` is published on change, ``bore_diameter`` per part).
SAMPLED_TAGS = frozenset({
    "part_count", "good_count", "scrap_count", "temperature", "vibration_rms", "motor_current", "power",
    "energy", "spindle_speed", "spindle_current", "feed_override"})


@dataclass(frozen=True)
class SimOptions:
    """Changes to the plant as modelled, for what-if runs (the defaults change nothing).

    Demand (order arrivals and due dates) follows the plant as modelled, so a
    faster or extra machine meets the same orders.
    """

    parallel: Mapping[str, int] = field(default_factory=dict)  # machine id -> identical machines side by side
    cycle_factor: Mapping[str, float] = field(default_factory=dict)  # machine id -> factor on its cycle times
    order_load: float = ORDER_LOAD  # work arriving as a share of the bottleneck's ideal capacity
    pm_interval_h: float | None = PM_INTERVAL_H  # None: no planned maintenance (run to failure)
    pm_duration_min: float = PM_DURATION_MIN


class Station(Protocol):
    """Where parts come from or go to: a buffer, the order book or the line's end."""

    def get(self) -> simpy.Event: ...

    def put(self, part: Part) -> simpy.Event: ...


def _lognormal(rng: np.random.Generator, mean: float, sigma: float = 0.5) -> float:
    """A positive random duration with the given mean."""
    return mean * float(rng.lognormal(-sigma * sigma / 2, sigma))


class Buffer:
    def __init__(self, env: simpy.Environment, eq: Equipment | None, capacity: float) -> None:
        self.eq = eq
        self.capacity = capacity
        self.store = simpy.Store(env, capacity)
        self.level_path = eq.tag("level").path if eq is not None and eq.tag("level") else None

    @property
    def level(self) -> int:
        return len(self.store.items)

    def get(self) -> simpy.Event:
        return self.store.get()

    def put(self, part: Part) -> simpy.Event:
        return self.store.put(part)


class OrderBook:
    """The line's released orders: the source of the first machine's units."""

    def __init__(self, line: Line) -> None:
        self.line = line
        self.queue: list[Order] = []  # waiting, earliest due first
        self.current: Order | None = None
        self.waiting: deque[simpy.Event] = deque()
        self.started = 0  # units started on the line
        self.completed: list[Order] = []
        self.released = 0

    @property
    def pending_units(self) -> int:
        current = self.current.qty - self.current.started if self.current else 0
        return current + sum(o.qty for o in self.queue)

    def release(self, order: Order) -> None:
        bisect.insort(self.queue, order, key=lambda o: (o.due_ms, o.seq))
        self.released += 1
        self.line.sim.publish_order(order)
        self._serve()
        self.line.refresh()

    def get(self) -> simpy.Event:
        event = self.line.sim.env.event()
        self.waiting.append(event)
        self._serve()
        return event

    def put(self, part: Part) -> simpy.Event:
        raise TypeError("parts cannot be put back into the order book")

    def _serve(self) -> None:
        while self.waiting:
            if self.current is None or self.current.started >= self.current.qty:
                if not self.queue:
                    return
                self.current = self.queue.pop(0)
            order = self.current
            order.started += 1
            self.started += 1
            if order.started == 1:
                self.line.sim.publish_order(order)
            self.waiting.popleft().succeed(Part(order, order.started))


class Sink:
    """The end of the line: good parts leave for the warehouse."""

    def __init__(self, line: Line) -> None:
        self.line = line

    def get(self) -> simpy.Event:
        raise TypeError("nothing comes back from the end of the line")

    def put(self, part: Part) -> simpy.Event:
        part.order.good += 1
        self.line.order_progress(part.order)
        return self.line.sim.env.event().succeed()


class Machine:
    def __init__(self, sim: SimPlant, line: Line, eq: Equipment, index: int,
                 rng: np.random.Generator, copy: int = 1) -> None:
        self.sim, self.line, self.eq, self.index, self.rng = sim, line, eq, index, rng
        # A what-if's extra machines at a station are copies of the modelled one.
        self.id = eq.id if copy == 1 else f"{eq.id}#{copy}"
        self.env = sim.env
        self.profile = FAILURE_PROFILES.get(eq.kind, DEFAULT_PROFILE)
        self.health = Health(self.profile, rng)
        self.sensors = MachineSensors(eq.kind, eq.rated_power_kw, rng, line.climate.air_c)
        self.tags = {t.id: t.path for t in eq.all_tags}
        self.sampled_tags = [(t.id, t.path) for t in eq.all_tags if t.id in SAMPLED_TAGS]
        self.inspects = eq.kind == "inspection" or BORE_TAG in self.tags
        self.tool: BoringTool | None = None  # set on the machine that bores
        self.process: simpy.Process  # started by the line once it is wired
        self.input: Station
        self.output: Station
        self.state: str | None = None
        self.reason: str | None = None
        self.since_ms = sim.clock.now_ms()
        self.times = StateClock()
        self._mark = 0.0
        self.parts = self.good = self.scrap = self.taken = 0
        self.failures: dict[str, int] = {}
        self.family: str | None = None  # the product family the machine is set up for
        self.feed_pct = 100.0
        self.doing = "shift"  # what it waits for: "shift", "input", "output" or "work"
        self.stoppage: Stoppage | None = None  # under way or about to be
        self.running_h = 0.0
        self.next_sudden_h = float(rng.exponential(self.profile.sudden_mtbf_h))
        self.next_minor_h = float(rng.exponential(1 / self.profile.minor_stops_per_h))

    # ---- state ------------------------------------------------------------
    def _account(self) -> None:
        if self.state is not None:
            self.times.add(self.state, self.env.now - self._mark)
        self._mark = self.env.now

    def set_state(self, state: str, reason: str) -> None:
        if (state, reason) == (self.state, self.reason):
            return
        self._account()
        previous = self.state
        self.state, self.reason = state, reason
        ts = self.since_ms = self.sim.clock.now_ms()
        self.sim.publish(f"_events/state/{self.eq.path}", {
            "ts": ts, "equipment": self.eq.path, "state": state, "previous": previous, "reason": reason})
        if state != previous and "state" in self.tags:
            self.sim.publish(self.tags["state"], {"ts": ts, "v": state, "q": "good"})

    def _input_reason(self) -> str:
        """Starved if a part is on its way (or still to be started), else no order."""
        book = self.line.orders
        if book.pending_units:
            return "starved"
        upstream_scrap = sum(m.scrap for m in self.line.machines[: self.index])
        return "starved" if book.started - upstream_scrap - self.taken > 0 else "no_order"

    def show_waiting(self) -> None:
        """Show why the machine waits; outside working time that is the shift, whatever else it waits for."""
        status = self.line.schedule.status
        if status == "off":
            self.set_state("off", "not_scheduled")
        elif status == "break":
            self.set_state("idle", "break")
        elif self.doing == "output":
            self.set_state("idle", "blocked")
        elif self.doing == "input":
            self.set_state("idle", self._input_reason())

    # ---- the machine's life -----------------------------------------------
    def run(self) -> SimGen:
        while True:
            yield from self._await_shift()
            part = yield from self._take()
            yield from self._await_shift()
            cycle_s, setup_s = self.line.step(self.eq.id, part.order.product)
            family = part.order.product.family
            if family != self.family:
                if self.family is not None and setup_s > 0:
                    yield from self._work(_lognormal(self.rng, setup_s, 0.15), "setup", "changeover")
                self.family = family
            # Never faster than ideal; a few percent slower on average (speed losses).
            actual_s = cycle_s * 100 / self.feed_pct * (1 + float(self.rng.gamma(2.0, 0.02)))
            yield from self._work(actual_s, "running", "producing")
            if self._finish(part):
                yield from self._put(part)

    def _wait(self, event: simpy.Event) -> SimGen:
        """Wait for ``event``; a stoppage meanwhile is served and the wait resumed."""
        while True:
            try:
                return (yield event)
            except simpy.Interrupt as interrupt:
                yield from self._stop(interrupt.cause)
                if not event.triggered:
                    self.show_waiting()

    def _await_shift(self) -> SimGen:
        while self.line.schedule.status != "work":
            self.doing = "shift"
            self.show_waiting()
            yield from self._wait(self.line.schedule.changed)

    def _take(self) -> SimGen:
        part = yield from self._wait_showing(self.input.get(), "input")
        self.taken += 1
        self.line.refresh()
        return part

    def _put(self, part: Part) -> SimGen:
        yield from self._wait_showing(self.output.put(part), "output")

    def _wait_showing(self, request: simpy.Event, doing: str) -> SimGen:
        """Wait for a buffer request; show idle (starved/blocked) only if it takes longer
        than part handling, so hand-overs at the same instant are not reported as stops."""
        self.doing = "handling"  # show_waiting shows nothing while handling
        if not request.triggered:
            yield from self._wait(self.env.any_of([request, self.env.timeout(HANDLING_S)]))
        if not request.triggered:
            self.doing = doing
            self.show_waiting()
        value = yield from self._wait(request)
        self.doing = "handling"
        return value

    def _work(self, duration_s: float, state: str, reason: str) -> SimGen:
        self.doing = "work"
        self.set_state(state, reason)
        end = self.env.now + duration_s
        while True:
            try:
                yield self.env.timeout(end - self.env.now)
                return
            except simpy.Interrupt as interrupt:
                left = end - self.env.now
                yield from self._stop(interrupt.cause)
                end = self.env.now + left
                self.set_state(state, reason)

    def _stop(self, stoppage: Stoppage) -> SimGen:
        self.set_state(stoppage.state, stoppage.reason)
        if stoppage.mode is not None:
            self.failures[stoppage.mode] = self.failures.get(stoppage.mode, 0) + 1
            self.sim.publish(f"_events/failure/{self.eq.path}", {
                "ts": self.sim.clock.now_ms(), "equipment": self.eq.path, "mode": stoppage.mode})
        yield self.env.timeout(stoppage.duration_s)
        if stoppage.renews:
            self.health.renew()
        if stoppage.new_tool and self.tool is not None:
            self.tool.change()
        self.stoppage = None

    @property
    def stopping(self) -> bool:
        return self.stoppage is not None

    def request_stop(self, stoppage: Stoppage) -> bool:
        """Stop the machine now; False if it is already stopped for something else."""
        if self.stoppage is not None:
            return False
        self.stoppage = stoppage
        self.env.process(self._deliver(stoppage))
        return True

    def _deliver(self, stoppage: Stoppage) -> SimGen:
        # From a process of its own, so that the machine's process has started
        # and is never the one interrupting itself.
        self.process.interrupt(stoppage)
        yield self.env.timeout(0)

    # ---- quality ----------------------------------------------------------
    def _finish(self, part: Part) -> bool:
        """Count the part, decide whether it is good; scrap leaves the line."""
        self.parts += 1
        product = part.order.product
        defect = None
        own = OWN_DEFECTS.get(self.eq.kind)
        if own and self.rng.random() < own[1] * (1 + 4 * self.health.wear):  # worn machines finish worse
            defect = own[0]
        latent = LATENT_DEFECTS.get(self.eq.kind)
        if latent and self.rng.random() < latent[1]:
            part.latent_defect = latent[0]
        spec = product.spec.get(BORE_TAG)
        if self.tool is not None and spec is not None:
            part.bore = self.tool.cut((spec[0] + spec[1]) / 2, spec[1] - spec[0])
        if self.inspects and defect is None:
            defect = self._inspect(part, spec)
        good = defect is None
        self.good += good
        self.scrap += not good
        self.sim.publish(f"_events/part/{self.eq.path}", {
            "ts": self.sim.clock.now_ms(), "equipment": self.eq.path, "order": part.order.id,
            "product": product.id, "good": good, "defect": defect})
        if not good:
            part.order.scrapped += 1
            self.line.order_progress(part.order)
            self.line.refresh()
        return good

    def _inspect(self, part: Part, spec: tuple[float, float] | None) -> str | None:
        if part.bore is not None and spec is not None:
            gauge_sigma = (spec[1] - spec[0]) / 30
            measured = round(part.bore + gauge_sigma * float(self.rng.standard_normal()), 4)
            if BORE_TAG in self.tags:
                ts = self.sim.clock.now_ms()
                self.sim.publish(self.tags[BORE_TAG], {"ts": ts, "v": measured, "q": "good"})
            if not spec[0] <= measured <= spec[1]:
                return "bore_out_of_spec"
        return part.latent_defect

    # ---- sampling: degradation, random stops, instruments -----------------
    def sample(self, ts: int, dt_s: float, ambient_c: float) -> float:
        """Advance wear, start due stoppages, publish the instruments; returns the power read."""
        self._account()
        seconds = self.times.take_recent()
        running_h = seconds.get("running", 0.0) / 3600
        self.running_h += running_h
        self.health.advance(running_h, float(self.rng.standard_normal()))
        self._due_stoppages()
        state = self.state or "idle"
        values: dict[str, float | int] = self.sensors.sample(
            dt_s, seconds, state, self.health.wear, ambient_c, self.feed_pct)
        values.update(part_count=self.parts, good_count=self.good, scrap_count=self.scrap)
        for tag_id, path in self.sampled_tags:
            self.sim.publish(path, {"ts": ts, "v": values[tag_id], "q": "good"})
        return values["power"]

    def _due_stoppages(self) -> None:
        if self.stopping or self.state is None:
            return
        p, rng = self.profile, self.rng
        if self.health.worn_out:
            mode = self.health.mode
            self.request_stop(Stoppage("down", f"failure.{mode}", _lognormal(rng, p.wear_repair_min * 60),
                                       renews=True, mode=mode))
        elif self.running_h >= self.next_sudden_h:
            self.next_sudden_h = self.running_h + float(rng.exponential(p.sudden_mtbf_h))
            mode = p.sudden_modes[int(rng.integers(len(p.sudden_modes)))]
            self.request_stop(Stoppage("down", f"failure.{mode}", _lognormal(rng, p.sudden_repair_min * 60),
                                       new_tool=mode == "tool", mode=mode))
        elif self.state == "running" and self.running_h >= self.next_minor_h:
            self.next_minor_h = self.running_h + float(rng.exponential(1 / p.minor_stops_per_h))
            duration_s = 10 + float(rng.exponential(p.minor_stop_s - 10))
            self.request_stop(Stoppage("down", "minor_stop", duration_s))

    def status(self) -> dict[str, Any]:
        self._account()
        total = sum(self.times.total.values())
        return {
            "id": self.id, "path": self.eq.path, "state": self.state, "reason": self.reason,
            "since_ms": self.since_ms, "part_count": self.parts, "good_count": self.good,
            "scrap_count": self.scrap, "feed_override": self.feed_pct, "failures": dict(self.failures),
            "state_seconds": {s: round(v, 1) for s, v in self.times.total.items()},
            "utilisation": round(self.times.total.get("running", 0.0) / total, 4) if total else None,
            "hidden": {
                "health": round(1 - self.health.wear, 4), "wear": round(self.health.wear, 4),
                "next_wear_failure_mode": self.health.mode, "running_h": round(self.running_h, 3),
                "tool_wear": round(self.tool.wear, 4) if self.tool is not None else None,
            },
        }


class Schedule:
    """The shift status of one site, with an event that fires when it changes."""

    def __init__(self, sim: SimPlant, calendar: ShiftCalendar) -> None:
        self.sim, self.calendar = sim, calendar
        self.status = calendar.status_at(sim.clock.now_ms())
        self.changed = sim.env.event()
        self.lines: list[Line] = []
        sim.env.process(self._run())

    def _run(self) -> SimGen:
        env, clock = self.sim.env, self.sim.clock
        while (change_ms := self.calendar.next_change(clock.now_ms())) is not None:
            yield env.timeout((change_ms - clock.now_ms()) / 1000)
            self.status = self.calendar.status_at(change_ms)
            changed, self.changed = self.changed, env.event()
            changed.succeed()
            for line in self.lines:
                line.refresh()


class Line:
    def __init__(self, sim: SimPlant, spec: LineSpec, path: str, schedule: Schedule, climate: Climate,
                 rng: np.random.Generator, streams: Iterator[np.random.Generator]) -> None:
        self.sim, self.path, self.schedule, self.climate, self.rng = sim, path, schedule, climate, rng
        env = sim.env
        equipment = {eq.id: eq for cell in spec.cells for eq in cell.equipment}
        self.orders = OrderBook(self)
        self.sink = Sink(self)
        self.machines: list[Machine] = []
        self.buffers: list[Buffer] = []
        # Wire the flow: order book -> machines and buffers -> sink. A station is one
        # machine, or several identical ones side by side sharing input and output.
        upstream: Station = self.orders
        previous: list[Machine] = []
        for eq_id in spec.flow:
            eq = equipment[eq_id]
            if eq.kind == "buffer":
                buffer = Buffer(env, eq, eq.capacity or math.inf)
                self.buffers.append(buffer)
                if previous:
                    for machine in previous:
                        machine.output = buffer
                else:
                    env.process(self._transfer(upstream, buffer))
                upstream, previous = buffer, []
            else:
                if previous:  # no buffer in between: a hand-over place per machine
                    upstream = Buffer(env, None, len(previous))
                    for machine in previous:
                        machine.output = upstream
                station = [Machine(sim, self, eq, len(self.machines) + k, next(streams), copy=k + 1)
                           for k in range(max(1, sim.options.parallel.get(eq_id, 1)))]
                for machine in station:
                    machine.input = upstream
                self.machines.extend(station)
                previous = station
        if previous:
            for machine in previous:
                machine.output = self.sink
        elif self.buffers:
            env.process(self._transfer(upstream, self.sink))

        machine_ids = {m.eq.id for m in self.machines}
        cycle_factor = sim.options.cycle_factor
        self.products = [p for p in sim.plant.products
                         if p.routing is None or machine_ids & sim.routing_equipment(p.routing)]
        # (cycle, setup) as modelled, which demand follows, and as run in a what-if.
        self._modelled_steps = {(m.eq.id, p.id): self._routing_step(m.eq, p)
                                for m in self.machines for p in self.products}
        self._steps = {(eq_id, p_id): (cycle_s * cycle_factor.get(eq_id, 1.0), setup_s)
                       for (eq_id, p_id), (cycle_s, setup_s) in self._modelled_steps.items()}
        self._place_boring_tool()
        # The line's main meter(s): utility equipment with power/energy tags, summing the machines.
        self.meter_tags = [(t.id, t.path) for eq in equipment.values() if eq.kind == "utility"
                           for t in eq.all_tags if t.id in ("power", "energy")]
        self.meter_energy_kwh = float(rng.uniform(100_000, 500_000))
        self.base_load_kw = LINE_BASE_LOAD * sum(m.sensors.rated_kw for m in self.machines)
        if self.machines and self.products:
            env.process(self._arrivals())  # first, so that the start backlog is there when machines start
        for machine in self.machines:
            machine.process = env.process(machine.run())

    def _routing_step(self, eq: Equipment, product: Product) -> tuple[float, float]:
        for step in self.sim.routing_steps(product.routing):
            if eq.id in step.equipment:
                return step.cycle_s, step.setup_s
        return eq.ideal_cycle_s or DEFAULT_CYCLE_S, 0.0

    def step(self, eq_id: str, product: Product) -> tuple[float, float]:
        """(ideal cycle, setup) seconds of ``product`` on a machine: its routing step, else the machine's."""
        return self._steps[(eq_id, product.id)]

    def bottleneck_s(self) -> float:
        """Ideal cycle of the slowest machine as modelled, averaged over the line's products."""
        return max(sum(self._modelled_steps[(m.eq.id, p.id)][0] for p in self.products) / len(self.products)
                   for m in self.machines)

    def _place_boring_tool(self) -> None:
        """The bore is machined on the last machining centre (else lathe/CNC) before the first inspection."""
        if not any(BORE_TAG in p.spec for p in self.products):
            return
        first_inspection = next((m.index for m in self.machines if m.inspects), len(self.machines))
        upstream = self.machines[:first_inspection]
        for kinds in (("machining_centre",), ("cnc", "lathe")):
            candidates = [m for m in upstream if m.eq.kind in kinds]
            if candidates:
                candidates[-1].tool = BoringTool(candidates[-1].rng)
                return

    def _transfer(self, source: Station, target: Station) -> SimGen:
        """Parts move on between two stations without a machine in between."""
        while True:
            part = yield source.get()
            yield target.put(part)

    def _arrivals(self) -> SimGen:
        """Orders arrive at random, each for a random product and quantity.

        Gaps are gamma-distributed (shape 4: planning smooths customer demand
        somewhat), so the backlog neither runs away nor runs dry for long.
        """
        mean_qty = (ORDER_QTY[0] + ORDER_QTY[1]) / 2
        mean_gap_s = mean_qty * self.bottleneck_s() / self.sim.options.order_load
        for _ in range(START_BACKLOG):
            self._new_order()
        while True:
            yield self.sim.env.timeout(float(self.rng.gamma(ARRIVAL_SHAPE, mean_gap_s / ARRIVAL_SHAPE)))
            self._new_order()

    def _new_order(self) -> None:
        rng = self.rng
        product = self.products[int(rng.integers(len(self.products)))]
        qty = int(rng.integers(ORDER_QTY[0] // 10, ORDER_QTY[1] // 10 + 1)) * 10
        now = self.sim.clock.now_ms()
        # Due: the work itself with some slack, plus a few hours of lead time, to the minute.
        lead_s = qty * self.bottleneck_s() * rng.uniform(1.5, 3.0) + rng.uniform(4, 16) * 3600
        due = (now + int(lead_s * 1000)) // 60_000 * 60_000
        order_id, seq = self.sim.next_order_id()
        self.orders.release(Order(order_id, product, qty, seq, now, due))

    def order_progress(self, order: Order) -> None:
        if order.done:
            order.completed_ms = self.sim.clock.now_ms()
            self.orders.completed.append(order)
            self.sim.publish_order(order)

    def refresh(self) -> None:
        """Re-evaluate why waiting machines wait (an order came, a part started, a break began...)."""
        for machine in self.machines:
            if machine.doing in ("input", "output") and not machine.stopping:
                machine.show_waiting()

    def sample(self, ts: int, dt_s: float) -> None:
        powers = [m.sample(ts, dt_s, self.climate.air_c) for m in self.machines]
        for buffer in self.buffers:
            if buffer.level_path:
                self.sim.publish(buffer.level_path, {"ts": ts, "v": buffer.level, "q": "good"})
        if self.meter_tags:
            self.meter_energy_kwh += (
                sum(m.sensors.last_energy_kwh for m in self.machines) + self.base_load_kw * dt_s / 3600)
            base_kw = self.base_load_kw * (1 + 0.01 * float(self.rng.standard_normal()))
            values = {"power": round(sum(powers) + base_kw, 3), "energy": round(self.meter_energy_kwh, 4)}
            for tag_id, path in self.meter_tags:
                self.sim.publish(path, {"ts": ts, "v": values[tag_id], "q": "good"})

    def status(self) -> dict[str, Any]:
        book = self.orders
        released = book.released
        return {
            "path": self.path,
            "machines": [m.status() for m in self.machines],
            "buffers": [{"id": b.eq.id, "path": b.eq.path, "level": b.level,
                         "capacity": None if math.isinf(b.capacity) else int(b.capacity)}
                        for b in self.buffers if b.eq is not None],
            "orders": {
                "released": released,
                "open": released - len(book.completed),
                "queued": [o.id for o in book.queue],
                "current": book.current.id if book.current and not book.current.done else None,
                "completed": len(book.completed),
                "completed_late": sum(1 for o in book.completed if (o.completed_ms or 0) > o.due_ms),
                "units_started": book.started,
            },
        }


class SimPlant:
    """The SimPy model of a plant: every line with a ``flow``, its shifts and climate.

    Deterministic: the same plant, seed, start time and sample period give the
    same messages in the same order, however the run is cut into steps.
    """

    def __init__(self, plant: Plant, bus: Bus, *, seed: int, start_ms: int,
                 sample_period_s: float = 5.0, options: SimOptions | None = None) -> None:
        if not (math.isfinite(sample_period_s) and sample_period_s > 0):
            raise SimError("sample_period_s", "sim.error.positive", value=sample_period_s)
        self.plant, self.bus, self.seed, self.sample_period_s = plant, bus, seed, sample_period_s
        self.options = options or SimOptions()
        self.env = simpy.Environment()
        self.clock = SimClock(self.env, start_ms)
        self.messages = 0
        self._orders = itertools.count(1)
        self._order_prefix = "wo" + datetime.fromtimestamp(start_ms / 1000, UTC).strftime("%y%m%d%H%M")
        self._routings = {r.id: r for r in plant.routings}
        streams = (np.random.default_rng([seed, k]) for k in itertools.count())
        self.sites: list[tuple[Climate, list[tuple[str, str]]]] = []  # climate, its (tag id, path)s
        self.lines: list[Line] = []
        for site in plant.enterprise.sites:
            climate = Climate(site.timezone, next(streams))
            schedule = Schedule(self, ShiftCalendar(plant.shifts, site.timezone))
            self.sites.append((climate, self._climate_tags(site)))
            for area in site.areas:
                for spec in area.lines:
                    if spec.flow:
                        line = Line(self, spec, plant.line_path(site, area, spec), schedule, climate,
                                    next(streams), streams)
                        schedule.lines.append(line)
                        self.lines.append(line)
        self.machines = {m.id: m for line in self.lines for m in line.machines}
        if self.options.pm_interval_h is not None:
            for k, machine in enumerate(self.machines.values()):
                first_h = (k + 1) * self.options.pm_interval_h / (len(self.machines) + 1)
                self.env.process(self._planned_maintenance(machine, first_h))
        self.env.process(self._sample())

    @staticmethod
    def _climate_tags(site: Site) -> list[tuple[str, str]]:
        """Air temperature and humidity tags anywhere on the site."""
        return [(tag.id, tag.path) for area in site.areas for line in area.lines for cell in line.cells
                for eq in cell.equipment for tag in eq.all_tags if tag.id in ("air_temperature", "humidity")]

    # ---- helpers for the lines -------------------------------------------
    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self.messages += 1
        self.bus.publish(topic, payload)

    def publish_order(self, order: Order) -> None:
        self.publish(f"_events/order/{order.id}", order.event(self.clock.now_ms()))

    def next_order_id(self) -> tuple[str, int]:
        seq = next(self._orders)
        return f"{self._order_prefix}-{seq:04d}", seq

    def routing_steps(self, routing_id: str | None) -> list:
        routing = self._routings.get(routing_id or "")
        return routing.steps if routing else []

    def routing_equipment(self, routing_id: str) -> set[str]:
        return {eq_id for step in self.routing_steps(routing_id) for eq_id in step.equipment}

    # ---- processes -------------------------------------------------------
    def _sample(self) -> SimGen:
        dt_s = 0.0
        while True:
            ts = self.clock.now_ms()
            for climate, tags in self.sites:
                values = climate.sample(ts, dt_s)
                for tag_id, path in tags:
                    self.publish(path, {"ts": ts, "v": values[tag_id], "q": "good"})
            for line in self.lines:
                line.sample(ts, dt_s)
            yield self.env.timeout(self.sample_period_s)
            dt_s = self.sample_period_s

    def _planned_maintenance(self, machine: Machine, first_h: float) -> SimGen:
        yield self.env.timeout(first_h * 3600)
        while True:
            duration_s = self.options.pm_duration_min * 60 * float(machine.rng.uniform(0.8, 1.2))
            while not machine.request_stop(Stoppage("maintenance", "planned", duration_s, renews=True)):
                yield self.env.timeout(900)  # under repair: try again in a quarter of an hour
            yield self.env.timeout(self.options.pm_interval_h * 3600)

    # ---- running ---------------------------------------------------------
    def run_until(self, sim_s: float) -> None:
        """Simulate up to ``sim_s`` seconds after the start (as fast as possible)."""
        if sim_s > self.env.now:
            self.env.run(until=sim_s)

    # ---- controls --------------------------------------------------------
    def machine(self, equipment_id: str) -> Machine:
        machine = self.machines.get(equipment_id)
        if machine is None:
            raise SimError("equipment_id", "sim.error.unknown_machine", "not_found", value=equipment_id,
                           known=", ".join(self.machines) or "-")
        return machine

    @staticmethod
    def _check_free(machine: Machine) -> None:
        if machine.stoppage is not None:
            raise SimError("equipment_id", "sim.error.busy", "conflict", value=machine.eq.id,
                           state=machine.stoppage.state, reason=machine.stoppage.reason)

    def inject_failure(self, equipment_id: str, mode: str | None = None,
                       repair_s: float | None = None) -> dict[str, Any]:
        """Break a machine now; ``mode`` defaults to the wear-out it is heading for.

        A wear-out mode's repair replaces the worn part (health back to new);
        ``tool`` fits a new tool.
        """
        machine = self.machine(equipment_id)
        if mode is not None and not MODE_PATTERN.match(mode):
            raise SimError("mode", "sim.error.mode", value=mode)
        if repair_s is not None and not (math.isfinite(repair_s) and 0 < repair_s <= MAX_CONTROL_S):
            raise SimError("repair_s", "sim.error.range", low=0, high=f"{MAX_CONTROL_S:g}", value=repair_s)
        self._check_free(machine)
        mode = mode or machine.health.mode
        wear_modes = {m for m, _ in machine.profile.wear_modes}
        if repair_s is None:
            p = machine.profile
            mean_min = p.wear_repair_min if mode in wear_modes else p.sudden_repair_min
            repair_s = _lognormal(machine.rng, mean_min * 60)
        machine.request_stop(Stoppage("down", f"failure.{mode}", repair_s, renews=mode in wear_modes,
                                      new_tool=mode == "tool", mode=mode))
        return {"equipment": machine.eq.path, "mode": mode, "repair_s": round(repair_s, 1),
                "at_ms": self.clock.now_ms()}

    def start_maintenance(self, equipment_id: str, duration_s: float,
                          reason: str = "planned") -> dict[str, Any]:
        """Take a machine out for maintenance now; it comes back as new."""
        machine = self.machine(equipment_id)
        if not (math.isfinite(duration_s) and 0 < duration_s <= MAX_CONTROL_S):
            raise SimError("duration_s", "sim.error.range", low=0, high=f"{MAX_CONTROL_S:g}",
                           value=duration_s)
        if reason not in ("planned", "corrective"):
            raise SimError("reason", "sim.error.reason", value=reason)
        self._check_free(machine)
        machine.request_stop(Stoppage("maintenance", reason, duration_s, renews=True))
        return {"equipment": machine.eq.path, "reason": reason, "duration_s": duration_s,
                "at_ms": self.clock.now_ms()}

    def set_feed_override(self, equipment_id: str, percent: float) -> None:
        """Change a machine's feed override (cycle time scales with 100 / percent)."""
        machine = self.machine(equipment_id)
        tag = machine.eq.tag("feed_override")
        low, high = tag.range if tag is not None and tag.range else (50.0, 150.0)
        if not (math.isfinite(percent) and low <= percent <= high):
            raise SimError("percent", "sim.error.range", low=f"{low:g}", high=f"{high:g}", value=percent)
        machine.feed_pct = float(percent)

    def status(self) -> dict[str, Any]:
        return {
            "now_ms": self.clock.now_ms(),
            "start_ms": self.clock.start_ms,
            "sim_time_s": round(self.env.now, 3),
            "seed": self.seed,
            "sample_period_s": self.sample_period_s,
            "messages": self.messages,
            "lines": [line.status() for line in self.lines],
            "hidden_note": "machines[].hidden is the simulator's ground truth (health, wear, tool wear): "
                           "a real plant cannot measure it. Use it to evaluate predictive maintenance; "
                           "never show it to users.",
        }
