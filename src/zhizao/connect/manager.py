"""Service ``connectors``: builds the plant's connector instances and runs them."""

from __future__ import annotations

import logging
from dataclasses import asdict

from zhizao.assets.loader import expand_env
from zhizao.connect.base import Connector, ConnectorHealth
from zhizao.connect.registry import connector_kinds
from zhizao.core.context import Context

log = logging.getLogger(__name__)


class ConnectorManager:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.connectors: dict[str, Connector] = {}

    def build(self) -> None:
        kinds = connector_kinds()
        for spec in self.ctx.plant.connectors:
            if not spec.enabled:
                continue
            cls = kinds[spec.kind]  # the plant loader has checked kind and config
            config = cls.config_model.model_validate(expand_env(spec.config))
            self.connectors[spec.name] = cls(spec.name, config, self.ctx)

    async def start(self) -> None:
        self.build()
        for connector in self.connectors.values():
            try:
                await connector.start()
            except Exception as exc:  # one broken connector must not stop the others
                log.exception("connector %s failed to start", connector.name)
                connector.set_state("error", f"start failed: {exc}")

    async def stop(self) -> None:
        for connector in self.connectors.values():
            try:
                await connector.stop()
            except Exception:
                log.exception("connector %s failed to stop", connector.name)
        self.connectors.clear()

    async def restart(self, name: str) -> None:
        connector = self.connectors[name]
        await connector.stop()
        await connector.start()

    def status(self) -> list[dict]:
        return [asdict(c.health()) for c in self.connectors.values()]

    def health(self, name: str) -> ConnectorHealth:
        return self.connectors[name].health()
