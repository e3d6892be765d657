"""Alarms on the ISA-18.2 lifecycle: limit alarms from the asset model, machine-down alarms from states.

``model`` has the pure state machine and the tables, ``service`` the ``AlarmService``,
``api`` the ``/api/alarms`` router.
"""
