"""Energy & carbon: per-machine energy from the historian's meters, time-of-use cost, scope 2 carbon,
energy anomalies, and load shifting of flexible loads (CP-SAT) against an as-soon-as-possible policy.

``tariff`` has tariffs and emission factors, ``shifting`` the load-shifting model, solver, ASAP policy
and independent checker, ``scenarios`` example problems; ``service`` (``EnergyService``), ``api``
(``/api/energy``) and ``cli`` (``zhizao energy ...``) sit on top.
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.apps.energy.service:EnergyService", router="zhizao.apps.energy.api:router",
              cli="zhizao.apps.energy.cli:register", pages=(ConsolePage("energy", "⚡"),), order=60)
