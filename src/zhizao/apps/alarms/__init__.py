"""Alarms on the ISA-18.2 lifecycle: limit alarms from the asset model, machine-down alarms from states.

``model`` has the pure state machine and the tables, ``service`` the ``AlarmService``,
``api`` the ``/api/alarms`` router.
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.apps.alarms.service:AlarmService", router="zhizao.apps.alarms.api:router",
              pages=(ConsolePage("alarms", "⚠"),), order=20)
