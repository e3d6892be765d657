"""Planning domain types: item master settings, MRP and inventory-policy results, planned orders.

Planned production orders are what the scheduler takes: ``{product, qty, release, due}``
with ``release`` and ``due`` in epoch milliseconds (the start of the release period and
the start of the period the quantity must be available in).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LotRuleName = Literal["lfl", "fixed", "eoq"]


class ItemSettings(BaseModel):
    """Planning data of one item; products and materials come from the asset model, these fields from planning."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name_en: str = ""
    name_zh: str = ""
    kind: str = Field("raw", description="product, raw, component, consumable or spare_part")
    make: bool = Field(False, description="made in the plant (production order) or bought (purchase order)")
    lead_time: int = Field(1, ge=0, le=365, description="periods (days)")
    sigma_lead_time: float = Field(0.0, ge=0, description="standard deviation of the lead time, periods")
    on_hand: float = Field(0.0, ge=0)
    safety_stock: float | None = Field(None, ge=0, description="fixed safety stock; None: from the inventory policy "
                                                                "(independent-demand items) or 0")
    lot_rule: LotRuleName = "lfl"
    lot_size: float = Field(0.0, ge=0, description="the fixed lot (rule 'fixed')")
    unit_cost: float = Field(10.0, gt=0)
    order_cost: float = Field(100.0, ge=0, description="cost per order or setup")
    holding_rate: float = Field(0.25, gt=0, description="holding cost per year as a share of the unit cost")
    scheduled_receipts: dict[int, float] = Field(default_factory=dict, description="period -> open order qty")


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    make: bool | None = None
    lead_time: int | None = Field(None, ge=0, le=365)
    sigma_lead_time: float | None = Field(None, ge=0)
    on_hand: float | None = Field(None, ge=0)
    safety_stock: float | None = Field(None, ge=0)
    lot_rule: LotRuleName | None = None
    lot_size: float | None = Field(None, ge=0)
    unit_cost: float | None = Field(None, gt=0)
    order_cost: float | None = Field(None, ge=0)
    holding_rate: float | None = Field(None, gt=0)
    scheduled_receipts: dict[int, float] | None = None


class PolicyRow(BaseModel):
    item: str
    name_en: str
    name_zh: str
    mean_demand: float = Field(description="per period, from the forecast")
    sigma_error: float = Field(description="per-period forecast error (backtest RMSE)")
    lead_time: int
    sigma_lead_time: float
    sigma_lt: float = Field(description="demand uncertainty over the lead time")
    safety_factor: float
    safety_stock: float
    reorder_point: float
    eoq: float
    on_hand: float
    reorder_now: bool = Field(description="on hand at or below the reorder point")


class PlanRow(BaseModel):
    item: str
    name_en: str
    name_zh: str
    low_level_code: int
    make: bool
    lead_time: int
    lot_rule: str
    gross: list[float]
    scheduled_receipts: list[float]
    projected_on_hand: list[float]
    net: list[float]
    planned_receipts: list[float]
    planned_releases: list[float]
    past_due: float


class ProductionOrder(BaseModel):
    """A planned production order in the shape the scheduler takes."""

    product: str
    qty: float
    release: int = Field(description="epoch ms: start of the release period")
    due: int = Field(description="epoch ms: start of the period the quantity is needed in")


class PurchaseOrder(BaseModel):
    material: str
    qty: float
    release: int
    due: int


class MrpOut(BaseModel):
    periods: int
    period_ms: int
    start_ms: int = Field(description="start of period 1")
    period_starts: list[int]
    plans: list[PlanRow]
    production_orders: list[ProductionOrder]
    purchase_orders: list[PurchaseOrder]
    demand_source: str = Field(description="'forecast' (the forecasting app) or 'request'")
