"""Statistical process control: X̄-R, I-MR, EWMA and CUSUM charts with Western Electric / Nelson rules,
Cp/Cpk and Pp/Ppk with confidence intervals, and p/u charts of defect counts.

``constants`` has the control-chart constants, ``rules`` the run rules, ``charts`` Phase I estimation
and the charts, ``capability`` the indices; ``service`` (``SpcService``) monitors tags live and raises
``spc`` alarms; ``api`` is ``/api/spc``; ``cli`` adds ``zhizao spc chart`` for exported data.
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.apps.spc.service:SpcService", router="zhizao.apps.spc.api:router",
              cli="zhizao.apps.spc.cli:register", pages=(ConsolePage("spc", "∿"),), order=40)
