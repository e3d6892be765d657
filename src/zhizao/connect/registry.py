"""Finds connector kinds: built-in sub-packages and the ``zhizao.connectors`` entry points."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from importlib.metadata import entry_points

from zhizao.connect.base import Connector

ENTRY_POINT_GROUP = "zhizao.connectors"


@cache
def connector_kinds() -> dict[str, type[Connector]]:
    import zhizao.connect as package

    kinds: dict[str, type[Connector]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg:
            module = importlib.import_module(f"zhizao.connect.{info.name}")
            cls = getattr(module, "CONNECTOR", None)
            if cls is not None:
                kinds[cls.kind] = cls
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        kinds[cls.kind] = cls
    return kinds
