"""One platform process: builds the stores, the bus, the apps and (in demo mode)
the simulated plant, and starts and stops them in order."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from zhizao.assets import load_plant
from zhizao.assets.loader import demo_plant_text
from zhizao.assets.model import Plant
from zhizao.bus import Bus
from zhizao.core.clock import WallClock
from zhizao.core.config import Settings
from zhizao.core.context import Context
from zhizao.security.service import Security
from zhizao.store.db import Database
from zhizao.store.historian import open_historian

log = logging.getLogger(__name__)

DEMO_WARMUP_S = 3600.0  # simulated history written on the demo's first start


def plant_path(settings: Settings) -> Path:
    return settings.plant_file or settings.data_dir / "plant.yaml"


def load_configured_plant(settings: Settings) -> Plant:
    """The configured plant file; on first start the demo plant is copied into the data folder."""
    path = plant_path(settings)
    if not path.exists():
        if settings.plant_file is not None:
            raise FileNotFoundError(f"plant_file: {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(demo_plant_text(), encoding="utf-8")
    return load_plant(path)


class Platform:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.resolved_database_url)
        self.db.migrate()
        self.security = Security(self.db)
        plant = load_configured_plant(settings)
        bus = Bus()
        historian = open_historian(settings.resolved_historian_url, clock=WallClock(),
                                   retention_days=settings.retention_days,
                                   rollup_after_days=settings.rollup_after_days)
        historian.register_tags(plant.tags())
        self.sim = None
        clock: Any = WallClock()
        if settings.demo:
            from zhizao.sim import PlantSimulator

            # The simulated plant's clock runs ahead of the wall clock; after a
            # restart it resumes where the stored data ends, so time never runs
            # backwards. A fresh data folder starts with some history.
            last_ts = max((p.ts for p in historian.latest().values()), default=None)
            start_ms = None if last_ts is None else max(last_ts + 1000, WallClock().now_ms()) // 1000 * 1000
            self.sim = PlantSimulator(bus=bus, plant=plant, seed=settings.sim_seed, speed=settings.sim_speed,
                                      start_ms=start_ms, warmup_s=DEMO_WARMUP_S if last_ts is None else 0.0)
            clock = historian.clock = self.sim.clock
        self.ctx = Context(settings=settings, bus=bus, plant=plant, historian=historian, db=self.db, clock=clock)
        self._started: list[Any] = []

    def _services(self) -> list[tuple[str, Any]]:
        from zhizao.apps import parts
        from zhizao.connect.ingest import Ingest
        from zhizao.connect.manager import ConnectorManager
        from zhizao.store.writer import HistorianWriter

        # The writer and the apps subscribe first so that nothing published is
        # missed; connectors and the simulator start last, once every consumer listens.
        # Ingest (with the spool's forwarder) comes first so that it stops last: the
        # writer may spool into it while it stops.
        ingest = Ingest(self.ctx)
        services: list[tuple[str, Any]] = [
            ("ingest", ingest),
            ("historian_writer", HistorianWriter(self.ctx, fallback=ingest)),
        ]
        services += [(name, service_class(self.ctx)) for name, service_class in parts("service")]
        services.append(("connectors", ConnectorManager(self.ctx)))
        if self.sim is not None:
            services.append(("sim", self.sim))
        return services

    async def apply_plant(self, plant: Plant) -> None:
        """Make ``plant`` the running plant: saved to the data folder, its tags writable,
        and the alarm definitions rebuilt (alarm states persist across the rebuild).
        The simulator keeps the plant it started with until the platform restarts."""
        from zhizao.apps.alarms.service import AlarmService
        from zhizao.assets import dump_plant

        plant_path(self.settings).write_text(dump_plant(plant), encoding="utf-8")
        self.ctx.plant = plant
        self.ctx.historian.register_tags(plant.tags())
        old = self.ctx.services.get("alarms")
        if old is not None:
            await old.stop()
            new = AlarmService(self.ctx)
            await new.start()
            self.ctx.services["alarms"] = new
            self._started[self._started.index(old)] = new
        self.ctx.bus.publish("_events/plant/changed", {"ts": self.ctx.clock.now_ms(), "tags": len(plant.tags())})

    def ensure_demo_admin(self) -> str | None:
        """In demo mode with no users yet: create ``admin`` and return its one-time password."""
        if not self.settings.demo or self.security.list_users():
            return None
        password = secrets.token_urlsafe(12)
        self.security.add_user("admin", password, "admin", "Administrator")
        return password

    async def start(self) -> None:
        for name, service in self._services():
            await service.start()
            self.ctx.services[name] = service
            self._started.append(service)
        log.info("platform started: %d tags, services %s", len(self.ctx.plant.tags()), list(self.ctx.services))

    async def stop(self) -> None:
        for service in reversed(self._started):
            try:
                await service.stop()
            except Exception:
                log.exception("stopping %s failed", type(service).__name__)
        self._started.clear()
        self.ctx.services.clear()
        self.ctx.historian.close()
        self.db.close()


__all__ = ["Platform", "load_configured_plant"]
