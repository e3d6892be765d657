"""Work orders and warnings in the relational store (synchronous; the service calls it from a thread)."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import select

from zhizao.apps.maintenance.model import (
    TRANSITIONS,
    WarningRow,
    WorkOrder,
    WorkOrderAction,
    WorkOrderCreate,
    WorkOrderRow,
)
from zhizao.core.i18n import t
from zhizao.store.db import Database

OPEN_STATES = ("open", "assigned", "in_progress")


class WorkOrderError(ValueError):
    """A work-order request that cannot be honoured; ``field`` names the culprit, ``kind`` the HTTP sense."""

    def __init__(self, field: str, key: str, kind: Literal["not_found", "conflict", "invalid"] = "invalid",
                 **params: object) -> None:
        self.field, self.key, self.kind, self.params = field, key, kind, {"field": field, **params}
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


class WorkOrderBook:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, req: WorkOrderCreate, equipment_path: str, user: str, now_ms: int,
               source: str = "manual") -> WorkOrder:
        row = WorkOrderRow(
            equipment=equipment_path, title=req.title, description=req.description, priority=req.priority,
            state="open", source=source, warning_id=req.warning_id, assignee=None,
            spare_parts=[p.model_dump() for p in req.spare_parts], notes=[],
            events=[{"ts": now_ms, "user": user, "action": "create", "state": "open"}],
            duration_min=req.duration_min, created_by=user, created_ms=now_ms, updated_ms=now_ms)
        with self.db.session() as s:
            s.add(row)
            s.flush()
            if req.warning_id is not None:
                warning = s.get(WarningRow, req.warning_id)
                if warning is None:
                    raise WorkOrderError("warning_id", "maintenance.error.no_warning", "not_found",
                                         value=req.warning_id)
                warning.work_order_id = row.id
            return WorkOrder.of(row)

    def get(self, wo_id: int) -> WorkOrder:
        with self.db.session() as s:
            return WorkOrder.of(self._row(s, wo_id))

    @staticmethod
    def _row(s: Any, wo_id: int) -> WorkOrderRow:
        row = s.get(WorkOrderRow, wo_id)
        if row is None:
            raise WorkOrderError("id", "maintenance.error.no_work_order", "not_found", value=wo_id)
        return row

    def list(self, state: str | None = None, equipment: str | None = None, limit: int = 500) -> list[WorkOrder]:
        query = select(WorkOrderRow).order_by(WorkOrderRow.id.desc()).limit(limit)
        if state:
            query = query.where(WorkOrderRow.state.in_(state.split(",")))
        if equipment:
            query = query.where(WorkOrderRow.equipment == equipment)
        with self.db.session() as s:
            return [WorkOrder.of(r) for r in s.scalars(query)]

    def has_open(self, equipment: str) -> bool:
        with self.db.session() as s:
            return s.scalar(select(WorkOrderRow.id).where(
                WorkOrderRow.equipment == equipment, WorkOrderRow.state.in_(OPEN_STATES)).limit(1)) is not None

    def check(self, wo_id: int, action: str) -> WorkOrder:
        """The order, if ``action`` may be applied to it now."""
        wo = self.get(wo_id)
        allowed, _ = TRANSITIONS[action]
        if wo.state not in allowed:
            raise WorkOrderError("action", "maintenance.error.transition", "conflict", action=action, state=wo.state)
        return wo

    def apply(self, wo_id: int, req: WorkOrderAction, user: str, now_ms: int,
              restore: dict[str, Any] | None = None) -> WorkOrder:
        allowed, target = TRANSITIONS[req.action]
        if req.action == "assign" and not (req.assignee or "").strip():
            raise WorkOrderError("assignee", "maintenance.error.assignee")
        with self.db.session() as s:
            row = self._row(s, wo_id)
            if row.state not in allowed:
                raise WorkOrderError("action", "maintenance.error.transition", "conflict", action=req.action,
                                     state=row.state)
            row.state = target
            row.updated_ms = now_ms
            if req.action == "assign":
                row.assignee = req.assignee.strip()  # type: ignore[union-attr]
            if req.action == "complete":
                row.completed_ms = now_ms
                row.restore = restore
                if req.spare_parts is not None:
                    row.spare_parts = [p.model_dump() for p in req.spare_parts]
            event = {"ts": now_ms, "user": user, "action": req.action, "state": target}
            if req.assignee:
                event["assignee"] = row.assignee
            row.events = [*row.events, event]
            if req.note:
                row.notes = [*row.notes, {"ts": now_ms, "user": user, "text": req.note}]
            s.flush()
            return WorkOrder.of(row)

    def note(self, wo_id: int, text: str, user: str, now_ms: int) -> WorkOrder:
        with self.db.session() as s:
            row = self._row(s, wo_id)
            row.notes = [*row.notes, {"ts": now_ms, "user": user, "text": text}]
            row.updated_ms = now_ms
            s.flush()
            return WorkOrder.of(row)

    # ---- warnings ------------------------------------------------------------------
    def add_warning(self, event: dict[str, Any]) -> int:
        with self.db.session() as s:
            row = WarningRow(equipment=event["equipment"], level=event["level"], ts=event["ts"],
                             health=event["health"], lead_time_h=event.get("lead_time_h"), payload=event)
            s.add(row)
            s.flush()
            return row.id

    def link_warning(self, warning_id: int, wo_id: int) -> None:
        with self.db.session() as s:
            row = s.get(WarningRow, warning_id)
            if row is not None:
                row.work_order_id = wo_id

    def warnings(self, equipment: str | None = None, since_ms: int | None = None,
                 limit: int = 200) -> list[dict[str, Any]]:
        query = select(WarningRow).order_by(WarningRow.ts.desc(), WarningRow.id.desc()).limit(limit)
        if equipment:
            query = query.where(WarningRow.equipment == equipment)
        if since_ms is not None:
            query = query.where(WarningRow.ts >= since_ms)
        with self.db.session() as s:
            return [{**r.payload, "id": r.id, "work_order_id": r.work_order_id} for r in s.scalars(query)]
