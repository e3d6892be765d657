"""The simulator as a real-time service (loose timing bounds only) and its headless CLI run."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest
from tests.sim.sim_helpers import START_MS

from zhizao.assets import load_demo_plant
from zhizao.bus import Bus
from zhizao.core.config import Settings
from zhizao.sim import PlantSimulator, SimError, run_headless_into_historian


async def test_real_time_advances_at_about_its_speed_and_can_pause():
    sim = PlantSimulator(bus=Bus(), plant=load_demo_plant(), seed=3, speed=600, start_ms=START_MS)
    await sim.start()
    await asyncio.sleep(0.5)
    assert sim.status()["running"]
    advanced = sim.model.env.now
    assert 60 < advanced < 1500  # ~300 s expected
    sim.speed = 0
    await asyncio.sleep(0.25)
    paused_at = sim.model.env.now
    await asyncio.sleep(0.25)
    assert sim.model.env.now == paused_at
    await sim.stop()
    assert not sim.running
    with pytest.raises(SimError) as err:
        sim.speed = -1
    assert err.value.field == "speed"


async def test_warm_up_runs_history_before_real_time():
    bus = Bus()
    sub = bus.subscribe("#", maxsize=1_000_000)
    ctx = SimpleNamespace(bus=bus, plant=load_demo_plant(), settings=Settings(sim_seed=5, sim_speed=1.0),
                          clock=None)
    sim = PlantSimulator(ctx, warmup_s=6 * 3600)
    assert ctx.clock is sim.clock
    assert abs(sim.clock.start_ms + 6 * 3_600_000 - time.time() * 1000) < 5_000  # history ends about now
    await sim.start()
    for _ in range(200):
        await asyncio.sleep(0.05)
        if sim.model.env.now >= 6 * 3600 and not sim.warming_up:
            break
    await sim.stop()
    assert sim.model.env.now >= 6 * 3600
    assert sub.queue.qsize() == sim.model.messages > 40_000 and sub.dropped == 0


def test_headless_run_into_the_historian(tmp_path):
    settings = Settings(data_dir=tmp_path, sim_seed=1)
    summary = run_headless_into_historian(load_demo_plant(), settings, hours=1, start_ms=START_MS)
    assert summary["points_written"] > 40_000 and summary["points_rejected"] == 0
    assert summary["end_ms"] == START_MS + 3_600_000
    assert set(summary["machines"]) == {"cnc1", "cnc2", "mc1", "wash1", "asm1", "insp1", "pack1"}
