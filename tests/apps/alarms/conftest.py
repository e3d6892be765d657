from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from tests.apps.alarms.alarm_helpers import PLANT, T0

from zhizao.apps.alarms.service import AlarmService
from zhizao.assets.loader import parse_plant
from zhizao.assets.model import Plant
from zhizao.bus import Bus
from zhizao.core.clock import FixedClock
from zhizao.core.config import Settings
from zhizao.core.context import Context
from zhizao.store.db import Database


@pytest.fixture
def plant() -> Plant:
    return parse_plant(PLANT, file="test.yaml")


@pytest.fixture
def make_ctx(tmp_path: Path, plant: Plant) -> Callable[[], Context]:
    """A fresh context on the same SQLite file each call (a platform restart)."""
    clock = FixedClock(T0)

    def make() -> Context:
        return Context(settings=Settings(data_dir=tmp_path, lang="en"), bus=Bus(), plant=plant,
                       historian=None, db=Database(f"sqlite:///{tmp_path / 'zhizao.db'}"),  # type: ignore[arg-type]
                       clock=clock)

    return make


@pytest.fixture
def ctx(make_ctx: Callable[[], Context]) -> Context:
    return make_ctx()


@pytest.fixture
async def service(ctx: Context) -> AsyncIterator[AlarmService]:
    svc = AlarmService(ctx, tick_s=3600)
    await svc.start()
    yield svc
    await svc.stop()
    ctx.db.close()

