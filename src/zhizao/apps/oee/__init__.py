"""OEE after ISO 22400 and downtime events from the machines' states and parts.

``model`` has the tables and the result types, ``calc`` the pure arithmetic,
``service`` the ``OeeService`` (recording and queries), ``api`` the
``/api/oee`` and ``/api/downtime`` routers.
"""

from zhizao.apps import AppSpec, ConsolePage

APP = AppSpec(service="zhizao.apps.oee.service:OeeService", router="zhizao.apps.oee.api:router",
              pages=(ConsolePage("oee", "◔"),), order=10)
