"""The planning service: item master, inventory policies and MRP runs for the plant.

Items are the asset model's products (made) and materials (bought), with planning data
(lead times, stock, lot rules, costs, open orders) kept in ``<data>/planning/items.json``
and editable through the API; items without saved data get defaults by kind. Independent
demand (products, spare parts) comes from the forecasting app's daily forecasts and its
backtest errors; components get their demand from BOM explosion. Periods are days, the
first starting at today's midnight (UTC) on the platform clock.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from zhizao.apps.planning import inventory, mrp
from zhizao.apps.planning.model import (
    ItemSettings,
    ItemUpdate,
    MrpOut,
    PlanRow,
    PolicyRow,
    ProductionOrder,
    PurchaseOrder,
)
from zhizao.core.context import Context

DAY_MS = 86_400_000
PERIODS_PER_YEAR = 365

# Defaults by kind: lead time (days), its spread, lot rule, fixed lot, unit cost, stock in days of cover.
DEFAULTS: dict[str, dict[str, Any]] = {
    "product": {"lead_time": 1, "sigma_lead_time": 0.0, "lot_rule": "lfl", "unit_cost": 120.0, "cover": 2},
    "raw": {"lead_time": 5, "sigma_lead_time": 1.0, "lot_rule": "fixed", "lot_size": 500, "unit_cost": 35.0,
            "cover": 6},
    "component": {"lead_time": 3, "sigma_lead_time": 0.5, "lot_rule": "eoq", "unit_cost": 4.0, "cover": 5},
    "consumable": {"lead_time": 2, "sigma_lead_time": 0.0, "lot_rule": "lfl", "unit_cost": 1.5, "cover": 4},
    "spare_part": {"lead_time": 14, "sigma_lead_time": 3.0, "lot_rule": "lfl", "unit_cost": 800.0, "spare_stock": 4},
}


class PlanningInputError(ValueError):
    """Bad planning input; the message names the item and field."""


class ItemNotFound(KeyError):
    pass


class PlanningService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.path = Path(ctx.settings.data_dir) / "planning" / "items.json"
        self._lock = threading.Lock()
        self._saved: dict[str, dict[str, Any]] = {}

    async def start(self) -> None:
        if self.path.exists():
            self._saved = json.loads(self.path.read_text(encoding="utf-8"))

    async def stop(self) -> None:
        return None

    # ---- item master ---------------------------------------------------------------------
    def _forecasting(self):
        return self.ctx.services.get("forecasting")

    def bom(self) -> dict[str, list[tuple[str, float]]]:
        """Parent -> [(component, qty per)] from the asset model (a material that is also a product has its own BOM:
        that is how multi-level structures are described)."""
        return {p.id: [(line.material, line.qty) for line in p.bom] for p in self.ctx.plant.products}

    def items(self) -> list[ItemSettings]:
        plant = self.ctx.plant
        out: dict[str, ItemSettings] = {}
        entries = [(p.id, p.name.en, p.name.zh, "product", True) for p in plant.products]
        entries += [(m.id, m.name.en, m.name.zh, m.kind, False) for m in plant.materials
                    if m.id not in {p.id for p in plant.products}]
        daily = self._average_gross({e[0] for e in entries}, self.bom(), self._demand_plan(28), 28)
        for item_id, name_en, name_zh, kind, make in entries:
            base = DEFAULTS.get(kind, DEFAULTS["component"])
            stock = base["spare_stock"] if "spare_stock" in base else round(daily.get(item_id, 0.0) * base["cover"])
            settings = {"id": item_id, "name_en": name_en or item_id, "name_zh": name_zh or name_en or item_id,
                        "kind": kind, "make": make, "lead_time": base["lead_time"],
                        "sigma_lead_time": base["sigma_lead_time"], "lot_rule": base["lot_rule"],
                        "lot_size": base.get("lot_size", 0.0), "unit_cost": base["unit_cost"], "on_hand": stock}
            settings.update(self._saved.get(item_id, {}))
            out[item_id] = ItemSettings(**settings)
        return list(out.values())

    def item(self, item_id: str) -> ItemSettings:
        for item in self.items():
            if item.id == item_id:
                return item
        raise ItemNotFound(item_id)

    def update_item(self, item_id: str, update: ItemUpdate) -> ItemSettings:
        current = self.item(item_id)
        changes = update.model_dump(exclude_unset=True)
        for period in (changes.get("scheduled_receipts") or {}):
            if period < 1:
                raise PlanningInputError(f"scheduled_receipts: period {period} must be >= 1")
        merged = ItemSettings(**{**current.model_dump(), **changes})
        with self._lock:
            saved = {k: v for k, v in merged.model_dump().items() if k not in ("id", "name_en", "name_zh", "kind")}
            self._saved[item_id] = saved
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._saved, indent=2, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
        return merged

    # ---- demand from the forecasting app -------------------------------------------------
    def _demand_plan(self, periods: int) -> dict[str, list[float]]:
        forecasting = self._forecasting()
        return forecasting.demand_plan(periods) if forecasting else {}

    def _mean_demand(self, item_id: str) -> float:
        forecasting = self._forecasting()
        try:
            return forecasting.mean_demand(item_id) if forecasting else 0.0
        except KeyError:
            return 0.0

    def _sigma(self, item_id: str) -> float:
        forecasting = self._forecasting()
        try:
            sigma = forecasting.error_sigma(item_id) if forecasting else None
        except KeyError:
            sigma = None
        return float(sigma or 0.0)

    # ---- inventory policies --------------------------------------------------------------
    def policies(self, service_level: float = 0.95, fill_rate: float | None = None) -> list[PolicyRow]:
        """Safety stock, reorder point and EOQ of the items with forecast (independent) demand."""
        forecasting = self._forecasting()
        known = {s.id for s in forecasting.series} if forecasting else set()
        rows = []
        for item in self.items():
            if item.id not in known:
                continue
            mean = self._mean_demand(item.id)
            annual = mean * PERIODS_PER_YEAR
            try:
                p = inventory.policy(mean, self._sigma(item.id), item.lead_time, item.sigma_lead_time,
                                     service_level=service_level, fill_rate=fill_rate, annual_demand=annual,
                                     order_cost=item.order_cost, holding_cost=item.unit_cost * item.holding_rate)
            except inventory.InventoryInputError as exc:
                raise PlanningInputError(f"item {item.id}: {exc}") from None
            rows.append(PolicyRow(item=item.id, name_en=item.name_en, name_zh=item.name_zh, mean_demand=mean,
                                  sigma_error=self._sigma(item.id), lead_time=item.lead_time,
                                  sigma_lead_time=item.sigma_lead_time, sigma_lt=p.sigma_lt,
                                  safety_factor=p.safety_factor, safety_stock=p.safety_stock,
                                  reorder_point=p.reorder_point, eoq=p.eoq or 0.0, on_hand=item.on_hand,
                                  reorder_now=item.on_hand <= p.reorder_point))
        return rows

    # ---- MRP -----------------------------------------------------------------------------
    def run_mrp(self, periods: int = 28, service_level: float = 0.95) -> MrpOut:
        """MRP over ``periods`` days with the forecast demand of the products."""
        if not 1 <= periods <= 365:
            raise PlanningInputError(f"periods must be between 1 and 365, got {periods}")
        demand = self._demand_plan(periods)
        settings = {item.id: item for item in self.items()}
        policy_stock = {row.item: row.safety_stock for row in self.policies(service_level)}
        bom = self.bom()
        gross_estimate = self._average_gross(set(settings), bom, demand, periods)
        master = {}
        for item in settings.values():
            safety = item.safety_stock if item.safety_stock is not None else policy_stock.get(item.id, 0.0)
            lot = item.lot_size
            if item.lot_rule == "eoq":
                annual = gross_estimate.get(item.id, 0.0) * PERIODS_PER_YEAR
                lot = inventory.eoq(annual, item.order_cost, item.unit_cost * item.holding_rate) if annual else 0.0
            master[item.id] = mrp.Item(item.id, item.lead_time, item.on_hand, safety, item.lot_rule, round(lot),
                                       item.make, {p: q for p, q in item.scheduled_receipts.items() if p <= periods})
        demand = {k: v for k, v in demand.items() if k in master}
        try:
            result = mrp.run_mrp(master, bom, demand, periods)
        except mrp.MrpInputError as exc:
            raise PlanningInputError(str(exc)) from None
        return self._out(result, settings, self._period_start(), "forecast")

    @staticmethod
    def _average_gross(ids, bom, demand, periods) -> dict[str, float]:
        """Average gross requirement per period of every item (lot-for-lot explosion): EOQ lots, default stock."""
        master = {i: mrp.Item(i) for i in ids}
        demand = {k: v for k, v in demand.items() if k in master}
        result = mrp.run_mrp(master, bom, demand, periods)
        return {p.item: sum(p.gross) / periods for p in result.plans}

    def _period_start(self) -> int:
        return self.ctx.clock.now_ms() // DAY_MS * DAY_MS

    @staticmethod
    def _out(result: mrp.MrpResult, settings: dict[str, ItemSettings], start_ms: int, source: str) -> MrpOut:
        rows, production, purchase = [], [], []
        for plan in result.plans:
            item = settings[plan.item]
            rows.append(PlanRow(item=plan.item, name_en=item.name_en, name_zh=item.name_zh,
                                low_level_code=plan.low_level_code, make=plan.make, lead_time=item.lead_time,
                                lot_rule=item.lot_rule, gross=plan.gross, scheduled_receipts=plan.scheduled_receipts,
                                projected_on_hand=plan.projected_on_hand, net=plan.net,
                                planned_receipts=plan.planned_receipts, planned_releases=plan.planned_releases,
                                past_due=plan.past_due))
            for t, qty in enumerate(plan.planned_receipts):
                if qty <= 0:
                    continue
                release = max(0, t - item.lead_time)
                order = {"qty": qty, "release": start_ms + release * DAY_MS, "due": start_ms + t * DAY_MS}
                if plan.make:
                    production.append(ProductionOrder(product=plan.item, **order))
                else:
                    purchase.append(PurchaseOrder(material=plan.item, **order))
        production.sort(key=lambda o: (o.release, o.product))
        purchase.sort(key=lambda o: (o.release, o.material))
        return MrpOut(periods=result.periods, period_ms=DAY_MS, start_ms=start_ms,
                      period_starts=[start_ms + t * DAY_MS for t in range(result.periods)], plans=rows,
                      production_orders=production, purchase_orders=purchase, demand_source=source)

    def run_custom(self, items: list[ItemSettings], bom: list[tuple[str, str, float]],
                   demand: dict[str, list[float]], periods: int) -> MrpOut:
        """MRP on data given in the request (items, BOM lines parent/child/qty, independent demand)."""
        settings = {item.id: item for item in items}
        if len(settings) != len(items):
            raise PlanningInputError("items: an id appears twice")
        structure: dict[str, list[tuple[str, float]]] = {}
        for parent, child, qty in bom:
            structure.setdefault(parent, []).append((child, qty))
        master = {i.id: mrp.Item(i.id, i.lead_time, i.on_hand, i.safety_stock or 0.0, i.lot_rule, i.lot_size,
                                 i.make, dict(i.scheduled_receipts)) for i in items}
        try:
            result = mrp.run_mrp(master, structure, demand, periods)
        except mrp.MrpInputError as exc:
            raise PlanningInputError(str(exc)) from None
        return self._out(result, settings, self._period_start(), "request")
