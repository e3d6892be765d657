"""Record what the simulated plant publishes, for the simulator's tests."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from zhizao.assets.loader import demo_plant_text, parse_plant
from zhizao.assets.model import Plant
from zhizao.bus import Bus, Message
from zhizao.sim import PlantSimulator

START_MS = 1_714_521_600_000  # 2024-05-01 00:00 UTC, 08:00 in Shanghai: the day shift starts


@dataclass
class Recording:
    sim: PlantSimulator
    events: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))  # state, part, order...
    values: dict[str, list[tuple[int, Any]]] = field(default_factory=lambda: defaultdict(list))  # by tag path

    def on(self, msg: Message) -> None:
        if msg.topic.startswith("_events/"):
            self.events[msg.topic.split("/")[1]].append(msg.payload)
        else:
            self.values[msg.topic].append((msg.payload["ts"], msg.payload["v"]))

    def tag(self, equipment_id: str, tag_id: str) -> list[tuple[int, Any]]:
        eq = self.sim.model.plant.equipment_by_id()[equipment_id]
        return self.values[f"{eq.path}/{tag_id}"]

    def state_events(self, equipment_id: str) -> list[dict]:
        return [e for e in self.events["state"] if e["equipment"].endswith(f"/{equipment_id}")]


def record(plant: Plant | None = None, *, seed: int = 7, hours: float = 1.0, sample_period_s: float = 5.0,
           start_ms: int = START_MS) -> Recording:
    bus = Bus()
    sim = PlantSimulator(bus=bus, plant=plant or parse_plant(demo_plant_text()), seed=seed, start_ms=start_ms,
                         sample_period_s=sample_period_s)
    rec = Recording(sim)
    bus.on("#", rec.on)
    sim.run_until(hours * 3600)
    return rec


def message_hash(seed: int, hours: float, steps: int = 1, sample_period_s: float = 10.0) -> tuple[str, int]:
    """SHA-256 over every published message of a headless run, cut into ``steps`` runs."""
    bus = Bus()
    digest, count = hashlib.sha256(), 0

    def on(msg: Message) -> None:
        nonlocal count
        digest.update(msg.topic.encode())
        digest.update(json.dumps(msg.payload, sort_keys=True).encode())
        count += 1

    bus.on("#", on)
    sim = PlantSimulator(bus=bus, plant=parse_plant(demo_plant_text()), seed=seed, start_ms=START_MS,
                         sample_period_s=sample_period_s)
    for k in range(1, steps + 1):
        sim.run_until(hours * 3600 * k / steps)
    return digest.hexdigest(), count


def demo_with(old: str, new: str) -> Plant:
    """The demo plant with one piece of its YAML replaced."""
    text = demo_plant_text()
    assert old in text
    return parse_plant(text.replace(old, new))


def state_at(events: list[dict], ts: int) -> dict | None:
    """The state event in force at ``ts`` (events in time order)."""
    current = None
    for e in events:
        if e["ts"] > ts:
            break
        current = e
    return current
