"""What-if simulation on the digital twin: run the simulated plant faster than real time
with changed parameters (an extra machine, buffer sizes, cycle times, shift pattern,
maintenance policy, demand) and compare throughput, WIP, lead time, OEE and energy with
the plant as modelled, over several replications with confidence intervals.

``model`` has the scenario and result types, ``engine`` the replications and statistics,
``service`` the background runs, ``api`` the ``/api/whatif`` router, ``cli`` ``zhizao whatif``.
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.apps.whatif.service:WhatIfService", router="zhizao.apps.whatif.api:router",
              cli="zhizao.apps.whatif.cli:register", pages=(ConsolePage("whatif", "⇆"),), order=80)
