"""A simulated plant served over Modbus TCP, and a real platform whose ``modbus`` connector reads it."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zhizao.assets.loader import demo_plant_text, parse_plant
from zhizao.assets.model import Plant
from zhizao.bus import Bus, Message
from zhizao.connect.modbus import ModbusConnector
from zhizao.core.config import Settings
from zhizao.runtime import Platform
from zhizao.sim import PlantSimulator
from zhizao.sim.modbus_server import ModbusSimServer, serve_modbus

START_MS = 1_714_521_600_000  # 2024-05-01 08:00 in Shanghai: the day shift runs


@dataclass
class SimSide:
    """The simulator with its Modbus server, and the last value it published per tag."""

    plant: Plant
    bus: Bus
    sim: PlantSimulator
    server: ModbusSimServer
    last: dict[str, Any] = field(default_factory=dict)

    def on(self, msg: Message) -> None:
        if not msg.topic.startswith("_events/"):
            self.last[msg.topic] = msg.payload["v"]

    def path(self, equipment_id: str, tag_id: str) -> str:
        return f"{self.plant.equipment_by_id()[equipment_id].path}/{tag_id}"

    def feed_override(self, equipment_id: str) -> float:
        return next(m["feed_override"] for line in self.sim.status()["lines"] for m in line["machines"]
                    if m["id"] == equipment_id)

    async def restart(self) -> None:
        self.server = await serve_modbus(self.sim, self.plant, self.bus, port=self.server.port)


async def start_sim(sim_seconds: float = 60.0, plant_text: str | None = None) -> SimSide:
    """The demo plant simulated headless for ``sim_seconds``: its values then stand still."""
    plant = parse_plant(plant_text or demo_plant_text())
    bus = Bus()
    sim = PlantSimulator(bus=bus, plant=plant, seed=5, start_ms=START_MS)
    server = await serve_modbus(sim, plant, bus, port=0)
    side = SimSide(plant, bus, sim, server)
    bus.on("#", side.on)
    sim.run_until(sim_seconds)
    return side


async def start_platform(tmp_path: Path, config: dict, plant_text: str | None = None,
                         name: str = "plc") -> Platform:
    """A real platform (SQLite, DuckDB, ingest with its spool) whose plant declares the connector."""
    text = (plant_text or demo_plant_text()) + (
        f"\nconnectors:\n  - name: {name}\n    kind: modbus\n    config: {json.dumps(config)}\n")
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(text, encoding="utf-8")
    platform = Platform(Settings(data_dir=tmp_path / "data", plant_file=plant_file))
    await platform.start()
    return platform


def modbus(platform: Platform, name: str = "plc") -> ModbusConnector:
    return platform.ctx.services["connectors"].connectors[name]


def points(platform: Platform, path: str) -> list:
    return platform.ctx.historian.read_raw(path, 0, 2**62)


def dead_letters(platform: Platform, cause: str, source: str = "plc") -> list[dict]:
    return platform.ctx.services["ingest"].dead_letters(source=source, cause=cause)


def device(name: str, port: int, groups: list[dict], **settings: Any) -> dict:
    return {"name": name, "host": "127.0.0.1", "port": port, "unit_id": UNITS[name], "groups": groups,
            **settings}


def group(name: str, rate_ms: int, *registers: dict) -> dict:
    return {"name": name, "rate_ms": rate_ms, "registers": list(registers)}


def reg(plant: Plant, equipment_id: str, tag_id: str, **entry: Any) -> dict:
    """A register map entry at the simulator's address for the tag (see zhizao.sim.modbus_server)."""
    eq = plant.equipment_by_id()[equipment_id]
    k = next(i for i, tag in enumerate(eq.all_tags) if tag.id == tag_id)
    return {"tag": f"{eq.path}/{tag_id}", "table": "input", "address": 2 * k, "type": "float32", **entry}


UNITS = {"cnc1": 1, "cnc2": 3, "mc1": 5}  # units of the demo plant's flow order


def f32(value: float) -> float:
    return struct.unpack(">f", struct.pack(">f", value))[0]


async def wait_for(predicate: Callable[[], Any], timeout_s: float = 15.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it is truthy (a bound on waiting, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = predicate()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"{what} not met within {timeout_s} s")
        await asyncio.sleep(0.02)
