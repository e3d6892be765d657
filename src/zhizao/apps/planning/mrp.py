"""Material requirements planning: multi-level BOM explosion, netting, lot sizing, offsetting.

Items are planned level by level in low-level-code order (an item's low-level code is
the deepest level it appears at in any BOM, so all of its gross requirements are known
before it is planned). Per period ``t`` (1-based):

    projected = on_hand[t-1] + scheduled_receipts[t] - gross[t]
    net[t]    = max(0, safety_stock - projected)          (what is missing)
    planned_receipt[t] = lot_size(net[t])                 (lot-for-lot, fixed, EOQ)
    on_hand[t] = projected + planned_receipt[t]
    planned_release[t - lead_time] += planned_receipt[t]

and every component's gross requirement in period ``t`` gets ``qty_per * planned_release[t]``
of its parents. A receipt needed earlier than its lead time allows is released in period 1
and flagged as past due, never dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

LotRule = Literal["lfl", "fixed", "eoq"]


class MrpInputError(ValueError):
    """Bad item master, BOM or demand; the message names the item and field."""


@dataclass
class Item:
    id: str
    lead_time: int = 0  # periods
    on_hand: float = 0.0
    safety_stock: float = 0.0
    lot_rule: LotRule = "lfl"
    lot_size: float = 0.0  # the fixed lot (rule "fixed") or the EOQ (rule "eoq")
    make: bool = False  # made in the plant (planned production order) or bought (purchase order)
    scheduled_receipts: dict[int, float] = field(default_factory=dict)  # period -> qty (open orders)
    whole_units: bool = True  # planned quantities are rounded up to whole units (pieces)


@dataclass
class ItemPlan:
    item: str
    low_level_code: int
    make: bool
    gross: list[float]
    scheduled_receipts: list[float]
    projected_on_hand: list[float]  # at the end of each period
    net: list[float]
    planned_receipts: list[float]
    planned_releases: list[float]
    past_due: float = 0.0  # quantity whose release should have been before period 1


@dataclass
class MrpResult:
    periods: int
    plans: list[ItemPlan]  # in low-level-code order

    def plan(self, item: str) -> ItemPlan:
        return next(p for p in self.plans if p.item == item)


def low_level_codes(items: set[str], bom: dict[str, list[tuple[str, float]]]) -> dict[str, int]:
    """Deepest level of each item in the BOM graph (end items 0); raises on a cycle, naming it."""
    codes: dict[str, int] = {}

    def visit(item: str, level: int, path: tuple[str, ...]) -> None:
        if item in path:
            cycle = [*path[path.index(item):], item]
            raise MrpInputError(f"bom: cycle {' -> '.join(cycle)}")
        if item in codes and codes[item] >= level:
            return  # already planned at this depth or deeper: its subtree is at least as deep
        codes[item] = level
        for child, _ in bom.get(item, []):
            visit(child, level + 1, (*path, item))

    for item in sorted(items):
        visit(item, 0, ())
    return codes


def lot_size(net: float, item: Item) -> float:
    if net <= 1e-9:
        return 0.0
    if item.lot_rule == "lfl" or item.lot_size <= 0:
        return float(math.ceil(net - 1e-9)) if item.whole_units else net
    return math.ceil(net / item.lot_size - 1e-9) * item.lot_size


def run_mrp(items: dict[str, Item], bom: dict[str, list[tuple[str, float]]],
            demand: dict[str, list[float]], periods: int) -> MrpResult:
    """Plan every item over ``periods`` periods given independent ``demand`` (item -> per-period qty)."""
    if periods < 1:
        raise MrpInputError(f"periods must be >= 1, got {periods}")
    for parent, lines in bom.items():
        for child, qty in lines:
            if qty <= 0:
                raise MrpInputError(f"bom: {parent} -> {child}: qty must be > 0, got {qty}")
            for name in (parent, child):
                if name not in items:
                    raise MrpInputError(f"bom: item {name!r} has no item master record")
    for name, values in demand.items():
        if name not in items:
            raise MrpInputError(f"demand: unknown item {name!r}")
        if len(values) > periods or any(v < 0 or not math.isfinite(v) for v in values):
            raise MrpInputError(f"demand[{name}]: expected at most {periods} quantities >= 0")
    for item in items.values():
        if item.lead_time < 0:
            raise MrpInputError(f"item {item.id}: lead_time must be >= 0, got {item.lead_time}")
        if item.lot_rule not in ("lfl", "fixed", "eoq"):
            raise MrpInputError(f"item {item.id}: lot_rule must be lfl, fixed or eoq, got {item.lot_rule!r}")
        bad = [p for p in item.scheduled_receipts if not 1 <= p <= periods]
        if bad:
            raise MrpInputError(f"item {item.id}: scheduled receipt in period {bad[0]} outside 1..{periods}")

    codes = low_level_codes(set(items), bom)
    gross = {name: [0.0] * periods for name in items}
    for name, values in demand.items():
        for t, qty in enumerate(values):
            gross[name][t] += qty
    plans = []
    for name in sorted(items, key=lambda n: (codes[n], n)):
        item = items[name]
        receipts = [float(item.scheduled_receipts.get(t + 1, 0.0)) for t in range(periods)]
        on_hand, projected_row, net_row = item.on_hand, [], []
        planned = [0.0] * periods
        releases = [0.0] * periods
        past_due = 0.0
        for t in range(periods):
            projected = on_hand + receipts[t] - gross[name][t]
            net = max(0.0, item.safety_stock - projected)
            planned[t] = lot_size(net, item)
            on_hand = projected + planned[t]
            projected_row.append(on_hand)
            net_row.append(net)
            release = t - item.lead_time
            if planned[t]:
                if release < 0:
                    past_due += planned[t]
                    release = 0
                releases[release] += planned[t]
        for child, qty in bom.get(name, []):
            for t in range(periods):
                gross[child][t] += qty * releases[t]
        plans.append(ItemPlan(name, codes[name], item.make, gross[name], receipts, projected_row, net_row,
                              planned, releases, past_due))
    return MrpResult(periods, plans)
