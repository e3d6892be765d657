"""Process-parameter optimisation (R&D / process engineering): from recorded batches (parameters →
quality or yield), rank the key parameters, fit a surrogate, recommend setpoints under limits with
the expected outcome and its uncertainty, and close the loop with Bayesian optimisation (Optuna).

``model`` has the process description and results, ``optimise`` the methods, ``simprocess`` a
simulated process with a hidden optimum (the demo and the benchmark), ``records`` reading batch
files, ``service``/``api`` the ``/api/process`` router, ``cli`` ``zhizao process``.
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.apps.process.service:ProcessService", router="zhizao.apps.process.api:router",
              cli="zhizao.apps.process.cli:register", pages=(ConsolePage("process", "⚗"),), order=85)
