"""What every app and connector is given: the shared parts of one platform process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from zhizao.assets.model import Plant
    from zhizao.bus import Bus
    from zhizao.core.clock import Clock
    from zhizao.core.config import Settings
    from zhizao.store.db import Database
    from zhizao.store.historian import Historian


class Service(Protocol):
    """The lifecycle every app service and connector has."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Context:
    settings: Settings
    bus: Bus
    plant: Plant
    historian: Historian
    db: Database
    clock: Clock
    # App services by name ("oee", "alarms", "sim", ...), for API routers.
    services: dict[str, Any] = field(default_factory=dict)
