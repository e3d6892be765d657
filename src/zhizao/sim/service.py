"""The simulated plant as a platform service: headless runs and real time.

Headless: ``run_until`` simulates as fast as the machine allows (tests, what-if
analysis, warm-up). Real time: ``start()`` runs an asyncio task that every
~100 ms advances the plant by the elapsed wall time times ``speed``, in small
steps, so the event loop is never held for long; a ``warmup_s`` of history is
simulated first, in chunks that yield to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zhizao.bus import Bus, Message
from zhizao.sim.model import SimClock, SimError
from zhizao.sim.plant import SimPlant
from zhizao.store.historian import Point, open_historian

if TYPE_CHECKING:
    from zhizao.assets.model import Plant
    from zhizao.core.config import Settings
    from zhizao.core.context import Context

MAX_SPEED = 10_000.0
TICK_S = 0.1  # wall seconds between advances
MAX_HOLD_S = 0.05  # wall seconds one advance may hold the event loop; the plant falls behind beyond that
STEP_S = 60.0  # simulated seconds per env.run call inside one advance
WARMUP_CHUNK_S = 600.0


class PlantSimulator:
    """The simulated plant service (registered as ``ctx.services["sim"]``).

    Built from a ``Context`` (its bus, plant and ``settings.sim_seed``/``sim_speed``;
    the context's clock becomes the simulator's clock) or from ``bus`` and ``plant``.
    ``start_ms`` defaults to now minus ``warmup_s``, so that the warm-up history
    ends about now.
    """

    def __init__(self, ctx: Context | None = None, *, bus: Bus | None = None, plant: Plant | None = None,
                 seed: int | None = None, speed: float | None = None, start_ms: int | None = None,
                 sample_period_s: float = 5.0, warmup_s: float = 0.0) -> None:
        if ctx is not None:
            bus = bus or ctx.bus
            plant = plant or ctx.plant
            seed = ctx.settings.sim_seed if seed is None else seed
            speed = ctx.settings.sim_speed if speed is None else speed
        if plant is None:
            raise SimError("plant", "sim.error.no_plant")
        if not (math.isfinite(warmup_s) and warmup_s >= 0):
            raise SimError("warmup_s", "sim.error.range", low=0, high="∞", value=warmup_s)
        self.warmup_s = warmup_s
        if start_ms is None:
            start_ms = (time.time_ns() // 1_000_000 - round(warmup_s * 1000)) // 1000 * 1000
        self.model = SimPlant(plant, bus or Bus(), seed=42 if seed is None else seed, start_ms=start_ms,
                              sample_period_s=sample_period_s)
        self.speed = 60.0 if speed is None else speed
        self.warming_up = False
        self.behind = False  # the last advance could not keep up with the speed
        self._task: asyncio.Task[None] | None = None
        if ctx is not None:
            ctx.clock = self.clock

    @property
    def clock(self) -> SimClock:
        return self.model.clock

    @property
    def speed(self) -> float:
        """Simulated seconds per wall-clock second (0 pauses the plant)."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= MAX_SPEED):
            raise SimError("speed", "sim.error.range", low=0, high=f"{MAX_SPEED:g}", value=value)
        self._speed = float(value)

    # ---- headless --------------------------------------------------------
    def run_until(self, sim_s: float) -> None:
        """Simulate up to ``sim_s`` seconds after the start, as fast as possible."""
        self.model.run_until(sim_s)

    def run_for(self, duration_s: float) -> None:
        self.model.run_until(self.model.env.now + duration_s)

    # ---- real time -------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="zhizao-sim")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        if self.warmup_s > self.model.env.now:
            self.warming_up = True
            try:
                while self.model.env.now < self.warmup_s:
                    self.model.run_until(min(self.model.env.now + WARMUP_CHUNK_S, self.warmup_s))
                    await asyncio.sleep(0)
            finally:
                self.warming_up = False
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(TICK_S)
            now = loop.time()
            self._advance((now - last) * self._speed)
            last = now

    def _advance(self, sim_s: float) -> None:
        """Advance by ``sim_s`` in steps; stop early rather than hold the loop (the plant slows down)."""
        env = self.model.env
        target = env.now + sim_s
        started = time.perf_counter()
        while env.now < target:
            self.model.run_until(min(env.now + STEP_S, target))
            if time.perf_counter() - started > MAX_HOLD_S:
                break
        self.behind = env.now < target

    # ---- controls --------------------------------------------------------
    def inject_failure(self, equipment_id: str, mode: str | None = None,
                       repair_s: float | None = None) -> dict[str, Any]:
        return self.model.inject_failure(equipment_id, mode, repair_s)

    def start_maintenance(self, equipment_id: str, duration_s: float,
                          reason: str = "planned") -> dict[str, Any]:
        return self.model.start_maintenance(equipment_id, duration_s, reason)

    def set_feed_override(self, equipment_id: str, percent: float) -> None:
        self.model.set_feed_override(equipment_id, percent)

    def status(self) -> dict[str, Any]:
        return {"speed": self._speed, "running": self.running, "warming_up": self.warming_up,
                "behind": self.behind, **self.model.status()}


def run_headless_into_historian(plant: Plant, settings: Settings, *, hours: float,
                                start_ms: int | None = None, sample_period_s: float = 5.0,
                                progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Simulate ``hours`` of the plant into the configured historian (the ``zhizao sim`` command).

    The history ends now unless ``start_ms`` is given; ``progress`` is called
    with the share done after each simulated hour. Returns a summary.
    """
    if not (math.isfinite(hours) and hours > 0):
        raise SimError("hours", "sim.error.positive", value=hours)
    if start_ms is None:
        start_ms = (time.time_ns() // 1_000_000 - round(hours * 3_600_000)) // 1000 * 1000
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    bus = Bus()
    sim = PlantSimulator(bus=bus, plant=plant, seed=settings.sim_seed, start_ms=start_ms,
                         sample_period_s=sample_period_s)
    historian = open_historian(settings.resolved_historian_url, clock=sim.clock,
                               retention_days=settings.retention_days,
                               rollup_after_days=settings.rollup_after_days)
    pending: list[Point] = []
    written = rejected = 0

    def collect(msg: Message) -> None:
        if not msg.topic.startswith("_events/"):
            p = msg.payload
            pending.append(Point(msg.topic, p["ts"], p["v"], p.get("q", "good")))

    bus.on("#", collect)
    started = time.perf_counter()
    try:
        historian.register_tags(plant.tags())
        end_s = hours * 3600
        while sim.model.env.now < end_s:
            sim.run_until(min(sim.model.env.now + 3600, end_s))
            result = historian.write(pending)
            written, rejected = written + result.accepted, rejected + len(result.rejected)
            pending.clear()
            if progress is not None:
                progress(sim.model.env.now / end_s)
    finally:
        historian.close()
    status = sim.status()
    return {
        "hours": hours, "seed": settings.sim_seed, "start_ms": start_ms, "end_ms": sim.clock.now_ms(),
        "wall_s": round(time.perf_counter() - started, 2), "messages": status["messages"],
        "points_written": written, "points_rejected": rejected,
        "machines": {m["id"]: {k: m[k] for k in ("state", "part_count", "good_count", "scrap_count",
                                                  "failures", "utilisation")}
                     for line in status["lines"] for m in line["machines"]},
        "orders": {line["path"]: {k: line["orders"][k] for k in ("released", "completed", "completed_late")}
                   for line in status["lines"]},
    }
