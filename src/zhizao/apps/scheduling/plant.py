"""From the plant (asset model) and its open orders to a scheduling :class:`Model`.

Time in the model is minutes from the plan's origin (the platform clock when the
plan is made, to the minute). Machines are the equipment named by the products'
routings; an order's operation on a machine takes its remaining quantity times
the step's cycle (the order moves as one transfer batch, a planning
approximation of the line's piece flow); changing the product family on a
machine costs the step's setup. Power comes from the equipment's rated power and
prices from a time-of-use tariff in the site's local time (valley / flat / peak).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from zhizao.apps.scheduling.model import Model, Objective, Tariff
from zhizao.assets.model import Plant

MINUTE_MS = 60_000

# A typical Chinese industrial time-of-use tariff (CNY/kWh, local time, minutes of the day):
# valley 23:00-07:00, peak 08:00-11:00 and 18:00-21:00, flat otherwise.
VALLEY, FLAT, PEAK = 0.32, 0.70, 1.15
TOU_PERIODS = [(0, 420, VALLEY), (420, 480, FLAT), (480, 660, PEAK), (660, 1080, FLAT), (1080, 1260, PEAK),
               (1260, 1380, FLAT), (1380, 1440, VALLEY)]

# The plant's default objective: tardiness first, then a short plan and cheap energy.
PLANT_OBJECTIVE = Objective(weighted_tardiness=10.0, makespan=1.0, energy_cost=1.0)
RUSH_WEIGHT = 10


@dataclass
class OpenOrder:
    order: str
    product: str
    qty: int
    completed_qty: int
    due_ms: int
    released_ms: int
    status: str  # released | in_progress
    rush: bool = False  # a rush order weighs RUSH_WEIGHT times a normal one in the tardiness
    available_ms: int = 0  # material arrives then (late material): the order cannot start earlier

    @property
    def remaining(self) -> int:
        return max(0, self.qty - self.completed_qty)


@dataclass
class PlantModel:
    """The model plus what it takes to map it back to the plant."""

    model: Model
    origin_ms: int
    machine_paths: list[str]
    machine_names: list[dict[str, str]]  # {"en": ..., "zh": ...}
    orders: list[OpenOrder]
    operation_names: list[str]  # routing operation of each model operation

    def to_ms(self, minute: int) -> int:
        return self.origin_ms + minute * MINUTE_MS


def routed_equipment(plant: Plant) -> list[tuple[str, str, dict[str, str]]]:
    """(id, UNS path, names) of the equipment used by some routing, in the line's flow order."""
    used = {eq for routing in plant.routings for step in routing.steps for eq in step.equipment}
    out = []
    for site, area, line, cell, eq in plant.iter_equipment():
        if eq.id in used:
            path = f"{plant.line_path(site, area, line)}/{cell.id}/{eq.id}"
            out.append((eq.id, path, {"en": eq.name.en or eq.id, "zh": eq.name.zh or eq.name.en or eq.id}))
    return out


def tou_tariff(plant: Plant, origin_ms: int) -> Tariff:
    zone = next((s.timezone for s in plant.enterprise.sites if getattr(s, "timezone", None)), "UTC")
    local = datetime.fromtimestamp(origin_ms / 1000, UTC).astimezone(ZoneInfo(zone))
    return Tariff(TOU_PERIODS, cycle=1440, units_per_hour=60.0, offset=local.hour * 60 + local.minute)


def build_plant_model(plant: Plant, orders: list[OpenOrder], now_ms: int,
                      objective: Objective = PLANT_OBJECTIVE) -> PlantModel:
    origin = now_ms // MINUTE_MS * MINUTE_MS
    equipment = routed_equipment(plant)
    index = {eq_id: k for k, (eq_id, _, _) in enumerate(equipment)}
    power = {eq.id: float(getattr(eq, "rated_power_kw", None) or 0.0) for *_, eq in plant.iter_equipment()}
    model = Model()
    products = {p.id: p for p in plant.products}
    routings = {r.id: r for r in plant.routings}
    setups: dict[str, int] = {}
    for routing in plant.routings:
        for step in routing.steps:
            for eq_id in step.equipment:
                setups[eq_id] = max(setups.get(eq_id, 0), math.ceil(step.setup_s / 60))
    families = sorted({p.family for p in plant.products})
    for eq_id, _, _ in equipment:
        matrix = {(a, b): setups.get(eq_id, 0) for a in families for b in families if a != b}
        model.add_machine(eq_id, power_kw=power.get(eq_id, 0.0), setup_times=matrix)
    kept: list[OpenOrder] = []
    operation_names: list[str] = []
    for order in sorted(orders, key=lambda o: (o.due_ms, o.order)):
        product = products.get(order.product)
        routing = routings.get(product.routing) if product and product.routing else None
        if routing is None or order.remaining <= 0:
            continue
        kept.append(order)
        release = max(0, (max(order.released_ms, order.available_ms) - origin) // MINUTE_MS)
        weight = RUSH_WEIGHT if order.rush else 2 if order.status == "in_progress" else 1
        job = model.add_job(order.order, release=release, due=(order.due_ms - origin) // MINUTE_MS, weight=weight,
                            family=product.family)
        for step in routing.steps:
            op = model.add_operation(job, f"{order.order}/{step.operation}")
            operation_names.append(step.operation)
            for eq_id in step.equipment:
                if eq_id in index:
                    model.add_mode(op, index[eq_id], max(1, math.ceil(order.remaining * step.cycle_s / 60)))
    model.tariff = tou_tariff(plant, origin)
    model.set_objective(objective)
    return PlantModel(model, origin, [path for _, path, _ in equipment], [names for *_, names in equipment],
                      kept, operation_names)
