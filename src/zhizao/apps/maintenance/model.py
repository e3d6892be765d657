"""Maintenance tables and API types: work orders (EAM-lite) and health warnings.

A work order moves ``open → assigned → in_progress → done``, or to ``cancelled``
from any state before ``done``; every move is kept in its ``events`` (who, when,
what), so the order is its own history. Completing one puts the machine through
corrective maintenance (on the simulated plant: ``PlantSimulator.start_maintenance``).
Warnings are the early warnings the health monitors raised, kept for the history
and linked to the work order they caused.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhizao.store.db import Base

WorkOrderState = Literal["open", "assigned", "in_progress", "done", "cancelled"]
WO_STATES: tuple[str, ...] = ("open", "assigned", "in_progress", "done", "cancelled")
# Allowed moves: action -> (states it may start from, state it leads to).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "assign": (("open", "assigned"), "assigned"),
    "start": (("assigned",), "in_progress"),
    "complete": (("in_progress",), "done"),
    "cancel": (("open", "assigned", "in_progress"), "cancelled"),
}
PRIORITIES = ("low", "medium", "high", "urgent")


class WorkOrderRow(Base):
    __tablename__ = "maintenance_work_orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment: Mapped[str] = mapped_column(String(512))
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(String(4000), default="")
    priority: Mapped[str] = mapped_column(String(16), default="medium")
    state: Mapped[str] = mapped_column(String(16), default="open")
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | warning
    warning_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    spare_parts: Mapped[list] = mapped_column(JSON, default=list)  # [{"part", "qty"}]
    notes: Mapped[list] = mapped_column(JSON, default=list)  # [{"ts", "user", "text"}]
    events: Mapped[list] = mapped_column(JSON, default=list)  # [{"ts", "user", "action", "state"}]
    duration_min: Mapped[float] = mapped_column(Float, default=30.0)  # planned repair time
    created_by: Mapped[str] = mapped_column(String(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    completed_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    restore: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # what the plant answered on completion

    __table_args__ = (Index("ix_maintenance_work_orders_equipment_state", "equipment", "state"),)


class WarningRow(Base):
    __tablename__ = "maintenance_warnings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment: Mapped[str] = mapped_column(String(512))
    level: Mapped[str] = mapped_column(String(16))
    ts: Mapped[int] = mapped_column(BigInteger)
    health: Mapped[float] = mapped_column(Float)
    lead_time_h: Mapped[float | None] = mapped_column(Float, nullable=True)
    payload: Mapped[dict] = mapped_column(JSON)
    work_order_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (Index("ix_maintenance_warnings_equipment_ts", "equipment", "ts"),)


# ---- API types -------------------------------------------------------------------
class SparePart(BaseModel):
    part: str = Field(min_length=1, max_length=128)
    qty: float = Field(gt=0)


class WorkOrderCreate(BaseModel):
    equipment: str = Field(description="Equipment id or UNS path")
    title: str = Field(min_length=1, max_length=256)
    description: str = Field("", max_length=4000)
    priority: Literal["low", "medium", "high", "urgent"] = "medium"
    spare_parts: list[SparePart] = Field(default_factory=list)
    duration_min: float = Field(30.0, gt=0, le=7 * 24 * 60, description="Planned repair time, minutes")
    warning_id: int | None = None


class WorkOrderAction(BaseModel):
    action: Literal["assign", "start", "complete", "cancel"]
    assignee: str | None = Field(None, max_length=64, description="assign: who does the work")
    note: str | None = Field(None, max_length=2000)
    spare_parts: list[SparePart] | None = Field(None, description="complete: the parts actually used")


class WorkOrderNote(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class WorkOrder(BaseModel):
    id: int
    equipment: str
    title: str
    description: str
    priority: str
    state: WorkOrderState
    source: str
    warning_id: int | None
    assignee: str | None
    spare_parts: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    events: list[dict[str, Any]]
    duration_min: float
    created_by: str
    created_ms: int
    updated_ms: int
    completed_ms: int | None
    restore: dict[str, Any] | None

    @classmethod
    def of(cls, row: WorkOrderRow) -> WorkOrder:
        return cls.model_validate(row, from_attributes=True)


class MachineKpis(BaseModel):
    equipment: str
    failures: int
    operating_h: float
    mtbf_h: float | None
    mttr_h: float | None
    unplanned_downtime_h: float
    corrective_maintenance_h: float
    planned_maintenance_h: float
