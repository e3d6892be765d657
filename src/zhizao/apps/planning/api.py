"""Inventory and MRP REST API (``/api/planning``).

Reads: the item master, inventory policies (safety stock, reorder point, EOQ) and an
MRP run over the forecast demand (the grid per item and period, planned production
orders in the scheduler's shape and planned purchase orders). Writes (engineer): item
planning data, and MRP runs on data posted in the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from zhizao.api.deps import current_user, get_service, request_lang, require_role
from zhizao.apps.planning.model import ItemSettings, ItemUpdate, MrpOut, PolicyRow
from zhizao.apps.planning.service import ItemNotFound, PlanningInputError, PlanningService
from zhizao.core.i18n import t
from zhizao.security.model import User

router = APIRouter(prefix="/api/planning", tags=["planning"])
service_dep = Depends(get_service("planning"))
ServiceLevel = Query(0.95, gt=0, lt=1, description="target cycle service level (probability of no stock-out "
                                                   "per replenishment cycle)")


@contextmanager
def _errors(request: Request) -> Iterator[None]:
    try:
        yield
    except PlanningInputError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except ItemNotFound as exc:
        lang = request_lang(request)
        raise HTTPException(status.HTTP_404_NOT_FOUND, t("planning.error.unknown_item", lang, id=exc.args[0])) \
            from None


class BomLineIn(BaseModel):
    parent: str
    child: str
    qty: float = Field(gt=0)


class MrpRequest(BaseModel):
    items: list[ItemSettings] = Field(min_length=1, description="'lot_size' is the fixed lot or the EOQ")
    bom: list[BomLineIn] = []
    demand: dict[str, list[float]] = Field(description="independent demand per item and period")
    periods: int = Field(ge=1, le=365)


@router.get("/items")
def list_items(_: User = Depends(current_user), svc: PlanningService = service_dep) -> list[ItemSettings]:
    return svc.items()


@router.put("/items/{item_id}")
def update_item(item_id: str, body: ItemUpdate, request: Request, _: User = Depends(require_role("engineer")),
                svc: PlanningService = service_dep) -> ItemSettings:
    """Change an item's planning data (lead time, stock, lot rule, costs, open orders)."""
    with _errors(request):
        return svc.update_item(item_id, body)


@router.get("/inventory")
def inventory_policies(request: Request, service_level: float = ServiceLevel,
                       fill_rate: float | None = Query(None, gt=0, le=1, description="target fill rate instead of "
                                                       "the cycle service level (EOQ lots)"),
                       _: User = Depends(current_user), svc: PlanningService = service_dep) -> list[PolicyRow]:
    """Safety stock and reorder point from the forecast error and the lead-time variability; EOQ."""
    with _errors(request):
        return svc.policies(service_level, fill_rate)


@router.get("/mrp")
def mrp_run(request: Request, periods: int = Query(28, ge=1, le=365, description="days"),
            service_level: float = ServiceLevel,
            _: User = Depends(current_user), svc: PlanningService = service_dep) -> MrpOut:
    """MRP over the forecast demand of the plant's products."""
    with _errors(request):
        return svc.run_mrp(periods, service_level)


@router.post("/mrp")
def mrp_custom(body: MrpRequest, request: Request, _: User = Depends(require_role("engineer")),
               svc: PlanningService = service_dep) -> MrpOut:
    """MRP on the items, BOM and demand given in the request."""
    with _errors(request):
        return svc.run_custom(body.items, [(b.parent, b.child, b.qty) for b in body.bom], body.demand, body.periods)
