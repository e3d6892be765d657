"""OEE after ISO 22400 and downtime events from the machines' states and parts.

``model`` has the tables and the result types, ``calc`` the pure arithmetic,
``service`` the ``OeeService`` (recording and queries), ``api`` the
``/api/oee`` and ``/api/downtime`` routers.
"""
