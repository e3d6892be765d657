"""Demand forecasting for many series at once (``zhizao forecast``, ``/api/forecast``).

``engine`` chooses and combines candidates by rolling-origin backtests (``baselines``,
``stat_models`` from statsforecast, the global LightGBM model in ``global_gbm``), with
conformal prediction intervals; ``metrics`` has sMAPE/MASE/OWA; ``m4io`` the batch file
layout; ``service`` the demo demand histories the console shows.
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.apps.forecasting.service:ForecastService", router="zhizao.apps.forecasting.api:router",
              cli="zhizao.apps.forecasting.cli:register", pages=(ConsolePage("forecast", "↗"),), order=60)
