"""Scheduling service: plans the plant's open orders, publishes dispatch lists, repairs the plan on breakdowns.

Inputs come from the bus: ``_events/order/<id>`` keeps the order book (completed
orders leave it), ``_events/failure/<equipment>`` and ``_events/state/<equipment>``
with state ``down`` report a breakdown (the machine counts as unavailable for
``repair_estimate_min`` or until its state is no longer ``down``/``maintenance``).
A background task re-plans a few seconds after the order book changes (at most
every ``min_interval_s``) and at once after a breakdown. Each new plan repairs the previous one (started
operations stay, changes cost, see ``reschedule``), runs in a worker thread,
and is published as one dispatch list per machine on ``_events/dispatch/<equipment path>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from zhizao.apps.scheduling.explain import explanation
from zhizao.apps.scheduling.model import ScheduledOperation, SolveResult
from zhizao.apps.scheduling.plant import MINUTE_MS, OpenOrder, PlantModel, build_plant_model, routed_equipment
from zhizao.apps.scheduling.reschedule import Breakdown, Event, reschedule
from zhizao.bus.bus import Message
from zhizao.core.context import Context

log = logging.getLogger(__name__)


class ScheduleError(ValueError):
    """A request the service cannot serve; ``key``/``params`` name the i18n message."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params


@dataclass
class Plan:
    plant_model: PlantModel
    result: SolveResult
    made_ms: int
    reason: str
    explanation: dict
    comparison: dict | None = None
    frozen: list[int] = field(default_factory=list)
    interrupted: list[int] = field(default_factory=list)


class SchedulingService:
    def __init__(self, ctx: Context, solve_seconds: float = 5.0, workers: int = 2, debounce_s: float = 2.0,
                 min_interval_s: float = 30.0, repair_estimate_min: int = 30) -> None:
        self.ctx = ctx
        self.solve_seconds, self.workers, self.debounce_s = solve_seconds, workers, debounce_s
        self.min_interval_s = min_interval_s
        self.repair_estimate_min = repair_estimate_min
        self.orders: dict[str, OpenOrder] = {}
        self.down_until: dict[str, int] = {}  # equipment path -> expected end of repair (ms)
        self.plan: Plan | None = None
        self.history: deque[dict] = deque(maxlen=50)
        self._breakdowns: list[str] = []
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._lock = asyncio.Lock()
        self._state_lock = threading.Lock()
        self._offs: list[Any] = []
        self._task: asyncio.Task | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        bus = self.ctx.bus
        self._offs = [bus.on("_events/order/#", self._on_order), bus.on("_events/failure/#", self._on_failure),
                      bus.on("_events/state/#", self._on_state)]
        self._task = asyncio.create_task(self._loop(), name="scheduling")

    async def stop(self) -> None:
        for off in self._offs:
            off()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    # -- bus handlers (inline in the publisher: only update memory) ---------------------------------
    def _on_order(self, msg: Message) -> None:
        p = msg.payload
        if not isinstance(p, dict) or "order" not in p:
            return
        with self._state_lock:
            if p.get("status") == "completed":
                self.orders.pop(p["order"], None)
            else:
                self.orders[p["order"]] = OpenOrder(p["order"], p.get("product", ""), int(p.get("qty", 0)),
                                                    int(p.get("completed_qty") or 0), int(p["due"]),
                                                    int(p.get("released") or p.get("ts") or 0),
                                                    p.get("status", "released"))
        self._mark_dirty()

    def _on_failure(self, msg: Message) -> None:
        p = msg.payload if isinstance(msg.payload, dict) else {}
        path = p.get("equipment") or msg.topic.removeprefix("_events/failure/")
        self._breakdown(path, int(p.get("ts") or self.ctx.clock.now_ms()))

    def _on_state(self, msg: Message) -> None:
        p = msg.payload if isinstance(msg.payload, dict) else {}
        path = p.get("equipment") or msg.topic.removeprefix("_events/state/")
        if p.get("state") == "down" and str(p.get("reason", "")).startswith("failure"):
            self._breakdown(path, int(p.get("ts") or self.ctx.clock.now_ms()))
        elif p.get("state") not in ("down", "maintenance") and path in self.down_until:
            with self._state_lock:
                self.down_until.pop(path, None)

    def _breakdown(self, path: str, ts: int) -> None:
        with self._state_lock:
            if path in self.down_until and self.down_until[path] > ts:
                return  # the failure event and the state change report the same breakdown
            self.down_until[path] = ts + self.repair_estimate_min * MINUTE_MS
            self._breakdowns.append(path)
        self._wake.set()
        self._urgent.set()

    def _mark_dirty(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_plan = -math.inf
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._breakdowns:
                # let a burst of order events settle into one plan, and re-plan for orders at most every
                # min_interval_s (a fast simulator releases orders often); a breakdown cuts the wait short
                pause = max(self.debounce_s, last_plan + self.min_interval_s - loop.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), pause)
            self._wake.clear()
            self._urgent.clear()
            last_plan = loop.time()
            with self._state_lock:
                broken, self._breakdowns = self._breakdowns, []
            try:
                await self.replan("breakdown" if broken else "orders", broken)
            except Exception:
                log.exception("scheduling failed")

    # -- planning ----------------------------------------------------------------------------------
    async def replan(self, reason: str, broken: list[str] | None = None, time_limit: float | None = None) -> Plan:
        """A new plan for the open orders, repairing the current one when there is one."""
        async with self._lock:
            now = self.ctx.clock.now_ms()
            with self._state_lock:
                orders = list(self.orders.values())
                down = dict(self.down_until)
            plan = await asyncio.to_thread(self._plan, orders, down, now, reason, broken or [],
                                           time_limit or self.solve_seconds)
            self.plan = plan
            self.history.appendleft({"ts": now, "reason": reason, "kpis": plan.result.kpis,
                                     "comparison": plan.comparison, "status": plan.result.status})
            self._publish(plan)
            return plan

    def _plan(self, orders: list[OpenOrder], down: dict[str, int], now: int, reason: str, broken: list[str],
              time_limit: float) -> Plan:
        pm = build_plant_model(self.ctx.plant, orders, now)
        model = pm.model
        for machine, path in zip(model.machines, pm.machine_paths, strict=True):
            if path in down and path not in broken and down[path] > pm.origin_ms:
                machine.unavailable.append((0, max(1, (down[path] - pm.origin_ms) // MINUTE_MS)))
        events: list[Event] = [Breakdown(pm.machine_paths.index(p), max(1, (down[p] - pm.origin_ms) // MINUTE_MS))
                               for p in broken if p in pm.machine_paths and p in down]
        previous = self._previous_in(pm)
        if previous is None and not events:
            result = model.solve(time_limit=time_limit, workers=self.workers)
            return Plan(pm, result, now, reason, explanation(model, result.operations))
        repaired = reschedule(model, previous or [], 0, events, time_limit=time_limit, workers=self.workers)
        comparison = repaired.comparison if previous else None
        return Plan(pm, repaired.result, now, reason, explanation(model, repaired.result.operations), comparison,
                    repaired.frozen, repaired.interrupted)

    def _previous_in(self, pm: PlantModel) -> list[ScheduledOperation] | None:
        """The current plan's operations, in the new model's indices and time origin."""
        if self.plan is None:
            return None
        old = self.plan.plant_model
        index = {op.name: op.index for op in pm.model.operations}
        out = []
        for s in self.plan.result.operations:
            name = old.model.operations[s.operation].name
            if name not in index or old.machine_paths[s.machine] not in pm.machine_paths:
                continue
            op = pm.model.operations[index[name]]
            machine = pm.machine_paths.index(old.machine_paths[s.machine])
            shift = (old.origin_ms - pm.origin_ms) // MINUTE_MS
            if op.duration_on(machine) != s.end - s.start and s.start + shift < 0:
                continue  # quantity changed under a started operation: plan it afresh
            out.append(ScheduledOperation(op.index, op.job, op.position, machine, s.start + shift, s.end + shift,
                                          s.lot, s.quantity))
        return out or None

    def _publish(self, plan: Plan) -> None:
        pm = plan.plant_model
        ts = self.ctx.clock.now_ms()
        for machine, path in enumerate(pm.machine_paths):
            items = sorted((s for s in plan.result.operations if s.machine == machine), key=lambda s: s.start)
            self.ctx.bus.publish(f"_events/dispatch/{path}", {
                "ts": ts, "equipment": path,
                "operations": [{"order": pm.model.jobs[s.job].name, "operation": pm.operation_names[s.operation],
                                "start": pm.to_ms(s.start), "end": pm.to_ms(s.end), "qty": pm.orders[s.job].remaining}
                               for s in items if s.end > 0]})

    # -- queries --------------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """The current plan as plain data (times in epoch ms), for the API and the console."""
        plan = self.plan
        if plan is None:
            return {"status": "none", "operations": [], "machines": [], "kpis": {}, "orders": len(self.orders)}
        pm = plan.plant_model
        model = pm.model
        late_jobs = {late["job"] for late in plan.explanation["late_orders"]}
        operations = [{
            "order": model.jobs[s.job].name, "product": pm.orders[s.job].product,
            "operation": pm.operation_names[s.operation], "machine": pm.machine_paths[s.machine],
            "start": pm.to_ms(s.start), "end": pm.to_ms(s.end), "qty": s.quantity * pm.orders[s.job].remaining //
            max(1, model.operations[s.operation].quantity), "due": pm.to_ms(model.jobs[s.job].due or 0),
            "late": s.job in late_jobs, "frozen": s.operation in plan.frozen,
        } for s in sorted(plan.result.operations, key=lambda s: (s.machine, s.start))]
        return {
            "status": plan.result.status, "made": plan.made_ms, "reason": plan.reason, "origin": pm.origin_ms,
            "objective": plan.result.objective, "lower_bound": plan.result.lower_bound,
            "kpis": plan.result.kpis,
            "machines": [{"path": path, "name": names, "utilisation": plan.explanation["utilisation"].get(
                model.machines[k].name, 0.0), "down_until": self.down_until.get(path)}
                for k, (path, names) in enumerate(zip(pm.machine_paths, pm.machine_names, strict=True))],
            "operations": operations, "comparison": plan.comparison, "orders": len(pm.orders),
        }

    def explanations(self) -> dict:
        if self.plan is None:
            return {"late_orders": [], "utilisation": {}}
        pm = self.plan.plant_model
        names = {m.name: path for m, path in zip(pm.model.machines, pm.machine_paths, strict=True)}
        data = self.plan.explanation
        late = []
        for item in data["late_orders"]:
            late.append({**item, "due": pm.to_ms(item["due"]), "completion": pm.to_ms(item["completion"]),
                         "bottleneck": names.get(item["bottleneck"], item["bottleneck"]),
                         "chain": [{**c, "machine": names.get(c["machine"], c["machine"]),
                                    "start": pm.to_ms(c["start"]), "end": pm.to_ms(c["end"])} for c in item["chain"]]})
        return {"late_orders": late, "utilisation": {names[k]: v for k, v in data["utilisation"].items()}}

    def dispatch_list(self, path: str) -> list[dict]:
        if self.plan is None:
            return []
        pm = self.plan.plant_model
        if path not in pm.machine_paths:
            raise ScheduleError("scheduling.error.machine", machine=path)
        machine = pm.machine_paths.index(path)
        items = sorted((s for s in self.plan.result.operations if s.machine == machine), key=lambda s: s.start)
        return [{"order": pm.model.jobs[s.job].name, "operation": pm.operation_names[s.operation],
                 "start": pm.to_ms(s.start), "end": pm.to_ms(s.end)} for s in items]

    # -- what-if events from planners (the simulator reports breakdowns by itself) ------------------------
    async def report_breakdown(self, path: str, repair_min: int) -> Plan:
        if path not in self._machine_paths():
            raise ScheduleError("scheduling.error.machine", machine=path)
        with self._state_lock:
            self.down_until[path] = self.ctx.clock.now_ms() + repair_min * MINUTE_MS
        return await self.replan("breakdown", [path])

    async def add_rush_order(self, product: str, qty: int, due_ms: int) -> Plan:
        if product not in {p.id for p in self.ctx.plant.products if p.routing}:
            raise ScheduleError("scheduling.error.product", product=product)
        now = self.ctx.clock.now_ms()
        order_id = f"rush-{now // 1000}"
        with self._state_lock:
            self.orders[order_id] = OpenOrder(order_id, product, qty, 0, due_ms, now, "released", rush=True)
        return await self.replan("rush_order")

    async def add_planned_orders(self, orders: list[dict[str, Any]], source: str = "mrp") -> Plan:
        """Take planned production orders (``{product, qty, release, due}``, e.g. MRP's) into the plan:
        each may start at its release, and planning them again replaces the earlier ones of ``source``."""
        routed = {p.id for p in self.ctx.plant.products if p.routing}
        for k, o in enumerate(orders):
            if o["product"] not in routed:
                raise ScheduleError("scheduling.error.product", product=f"{k}.product={o['product']}")
        now = self.ctx.clock.now_ms()
        with self._state_lock:
            for order_id in [k for k in self.orders if k.startswith(f"{source}-")]:
                del self.orders[order_id]
            for k, o in enumerate(orders):
                order_id = f"{source}-{k + 1:03d}"
                self.orders[order_id] = OpenOrder(order_id, o["product"], max(1, round(o["qty"])), 0, int(o["due"]),
                                                  now, "released", available_ms=int(o["release"]))
        return await self.replan("planned_orders")

    async def late_material(self, order: str, available_ms: int) -> Plan:
        with self._state_lock:
            if order not in self.orders:
                raise ScheduleError("scheduling.error.order", order=order)
            self.orders[order].available_ms = available_ms
        return await self.replan("late_material")

    def _machine_paths(self) -> list[str]:
        return [path for _, path, _ in routed_equipment(self.ctx.plant)]
