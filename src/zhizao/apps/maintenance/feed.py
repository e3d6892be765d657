"""Routing bus messages of a plant to the machines' health monitors.

Instruments of one machine are published one tag at a time with the same
timestamp; ``PlantFeed`` gathers them into one sample per timestamp and hands it
to the machine's ``MachineMonitor`` when the next timestamp begins. The air
temperature of the machine's site and the machine's state events come along.
The service subscribes it to the bus; the benchmark does exactly the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zhizao.apps.maintenance.features import AIR_TAG, FEED_TAG, HEALTH_SENSORS
from zhizao.apps.maintenance.monitor import MachineMonitor, MonitorConfig
from zhizao.assets.model import Plant
from zhizao.bus import Bus, Message

# Equipment kinds that are not machines with health to watch.
NOT_MACHINES = frozenset({"buffer", "environment", "utility"})
STATE_EVENTS = "_events/state/"
FAILURE_EVENTS = "_events/failure/"
WarningSink = Callable[[dict[str, Any]], None]


def build_monitors(plant: Plant, config: MonitorConfig | None = None) -> dict[str, MachineMonitor]:
    """A monitor for every machine of the plant that has health sensors (by equipment id)."""
    monitors = {}
    for *_, eq in plant.iter_equipment():
        if eq.kind in NOT_MACHINES:
            continue
        sensors = tuple(s for s in HEALTH_SENSORS if eq.tag(s) is not None)
        if sensors:
            monitors[eq.id] = MachineMonitor(eq.id, eq.path, sensors, config or MonitorConfig())
    return monitors


class PlantFeed:
    """Bus → monitors. ``attach(bus)`` subscribes; ``detach()`` unsubscribes."""

    def __init__(self, plant: Plant, monitors: dict[str, MachineMonitor], on_warning: WarningSink) -> None:
        self.monitors = monitors
        self.on_warning = on_warning
        self.by_path = {m.path: m for m in monitors.values()}
        self._tags: dict[str, tuple[MachineMonitor, str]] = {}
        self._site_of: dict[str, str] = {}
        self._air_tag_site: dict[str, str] = {}
        self.air: dict[str, float] = {}
        for site, *_, eq in plant.iter_equipment():
            monitor = monitors.get(eq.id)
            for tag in eq.all_tags:
                if tag.id == AIR_TAG:
                    self._air_tag_site[tag.path] = site.id
                elif monitor is not None and (tag.id in monitor.sensors or tag.id == FEED_TAG):
                    self._tags[tag.path] = (monitor, tag.id)
            if monitor is not None:
                self._site_of[monitor.machine] = site.id
        self._pending: dict[str, tuple[int, dict[str, float]]] = {}
        self._offs: list[Callable[[], None]] = []

    def attach(self, bus: Bus) -> None:
        self._offs = [bus.on(pattern, handler) for pattern, handler in (
            ("_events/state/#", self.on_state), ("_events/failure/#", self.on_failure),
            *((path, self.on_value) for path in (*self._tags, *self._air_tag_site)))]

    def detach(self) -> None:
        for off in self._offs:
            off()
        self._offs = []

    def on_value(self, msg: Message) -> None:
        payload = msg.payload
        value = payload.get("v") if isinstance(payload, dict) else None
        ts = payload.get("ts") if isinstance(payload, dict) else None
        if not isinstance(value, int | float) or isinstance(value, bool) or not isinstance(ts, int):
            return
        if payload.get("q", "good") != "good":
            return
        site = self._air_tag_site.get(msg.topic)
        if site is not None:
            self.air[site] = float(value)
            return
        monitor, sensor = self._tags[msg.topic]
        pending = self._pending.get(monitor.machine)
        if pending is not None and pending[0] != ts:
            self._flush(monitor, *pending)
            pending = None
        if pending is None:
            pending = self._pending[monitor.machine] = (ts, {})
        pending[1][sensor] = float(value)

    def _flush(self, monitor: MachineMonitor, ts: int, values: dict[str, float]) -> None:
        for event in monitor.sample(ts, values, self.air.get(self._site_of[monitor.machine])):
            self.on_warning(event)

    def on_state(self, msg: Message) -> None:
        p = msg.payload
        monitor = self.by_path.get(p.get("equipment", "")) if isinstance(p, dict) else None
        if monitor is not None:
            pending = self._pending.pop(monitor.machine, None)
            if pending is not None:  # the sample before the change was taken in the old state
                self._flush(monitor, *pending)
            monitor.state(str(p.get("state")), p.get("reason"))

    def on_failure(self, msg: Message) -> None:
        p = msg.payload
        monitor = self.by_path.get(p.get("equipment", "")) if isinstance(p, dict) else None
        if monitor is not None and isinstance(p.get("ts"), int):
            monitor.failure(p["ts"], str(p.get("mode")))
