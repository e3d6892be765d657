"""Predictive maintenance (预测性维护 / 设备健康管理): machine health, early warnings, work orders.

``features`` turns sensor samples into regime-aware windows, ``health`` is the
per-machine anomaly model and health index, ``diagnosis`` the fault classifier,
``prognosis`` the RUL with its interval, ``monitor`` one machine's monitor with
its warning policy and drift check, ``feed`` routes the bus to the monitors,
``kpi`` computes MTBF/MTTR/unplanned downtime, ``workorders`` keeps the work
orders (EAM-lite), ``service`` runs it all in the platform and ``api`` serves
``/api/maintenance`` and the model registry's ``/api/models``. The C-MAPSS RUL
batch CLI is in ``rul`` and the Dask fleet in ``fleet``.
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.apps.maintenance.service:MaintenanceService",
              router="zhizao.apps.maintenance.api:router", cli="zhizao.apps.maintenance.cli:register",
              pages=(ConsolePage("health", "♥"), ConsolePage("workorders", "⚒"), ConsolePage("models", "◇")),
              order=50)
