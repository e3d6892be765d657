"""Advanced planning and scheduling (APS, 智能排产): flexible job shop with real-world constraints.

``model`` is the modelling API (``Model``, ``add_machine``, ``add_job``, ``add_operation``,
``add_mode``, ``solve``) and the result types; ``cpsat`` the OR-Tools CP-SAT formulation;
``dispatch`` the dispatching rules used as warm start; ``schedule`` KPIs and the independent
feasibility check; ``instances`` the JSPLIB / fjs readers; ``reschedule`` repairs a plan after a
breakdown, a rush order or late material; ``explain`` says why an order is late; ``plant`` turns
the demo plant's open orders into a model; ``service`` / ``api`` / ``cli`` wire it into the platform.
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.apps.scheduling.service:SchedulingService",
              router="zhizao.apps.scheduling.api:router",
              cli="zhizao.apps.scheduling.cli:register",
              pages=(ConsolePage("schedule", "▤"),), order=50)
