"""Inventory and MRP (``/api/planning``): safety stock, reorder points and EOQ from the forecast
error and lead-time variability (``inventory``); multi-level BOM explosion, netting, lot sizing
and lead-time offsetting (``mrp``) into planned production orders for the scheduler and
planned purchase orders (``service``).
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.apps.planning.service:PlanningService", router="zhizao.apps.planning.api:router",
              pages=(ConsolePage("planning", "▦"),), order=61)
