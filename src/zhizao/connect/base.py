"""The one shape of every connector."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from zhizao.assets.model import Tag
    from zhizao.connect.ingest import IngestResult
    from zhizao.core.context import Context
    from zhizao.store.historian import Point

ConnectionState = Literal["stopped", "starting", "connected", "degraded", "disconnected", "error"]


class ConnectorConfig(BaseModel):
    """Base of every connector's declared settings (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class ConnectorHealth:
    name: str
    kind: str
    state: ConnectionState
    detail: str = ""
    since_ms: int = 0
    tags: int = 0
    # Points accepted, and problems counted per cause (e.g. "bad_status", "timeout", "malformed_json").
    counters: dict[str, int] = field(default_factory=dict)


class WriteError(Exception):
    """A write-back the connector could not carry out; the message says why."""


class Connector(ABC):
    kind: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]]
    title: ClassVar[dict[str, str]]  # {"en": ..., "zh": ...} for the console

    def __init__(self, name: str, config: ConnectorConfig, ctx: Context) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx
        self.counters: Counter[str] = Counter()
        self._state: ConnectionState = "stopped"
        self._detail = ""
        self._since_ms = int(time.time() * 1000)

    # ---- lifecycle -----------------------------------------------------------------
    @abstractmethod
    async def start(self) -> None:
        """Begin acquiring; must return promptly (connect in a background task, retry with back-off)."""

    @abstractmethod
    async def stop(self) -> None: ...

    def health(self) -> ConnectorHealth:
        return ConnectorHealth(self.name, self.kind, self._state, self._detail, self._since_ms,
                               len(self.tags), dict(self.counters))

    # ---- write-back (reverse control) -------------------------------------------------
    async def write(self, tag: Tag, value: Any) -> None:
        raise WriteError(f"connector '{self.name}' ({self.kind}) cannot write")

    async def read(self, tag: Tag) -> Any:
        """The device's current value of ``tag`` (to verify a write)."""
        raise WriteError(f"connector '{self.name}' ({self.kind}) cannot read on demand")

    # ---- helpers for subclasses -------------------------------------------------------
    @property
    def tags(self) -> list[Tag]:
        """The plant's tags bound to this connector instance."""
        return [t for t in self.ctx.plant.tags() if t.source.connector == self.name]

    def set_state(self, state: ConnectionState, detail: str = "") -> None:
        if state != self._state:
            self._since_ms = int(time.time() * 1000)
        self._state, self._detail = state, detail

    def count(self, cause: str, n: int = 1) -> None:
        self.counters[cause] += n

    async def submit(self, points: Sequence[Point | dict]) -> IngestResult:
        """Hand points to the platform; when this returns, accepted points are durable."""
        result = await self.ctx.services["ingest"].submit(points, source=self.name)
        self.count("points", result.accepted)
        return result

    async def reject(self, cause: str, detail: str, payload: Any = None) -> None:
        """Record input that cannot become points (counted, kept in the dead-letter view)."""
        self.count(cause)
        await self.ctx.services["ingest"].dead_letter(self.name, cause, detail, payload)
