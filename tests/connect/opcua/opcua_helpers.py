"""A simulated plant behind its OPC UA server, and a platform whose plant reads it through connectors."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zhizao.assets.loader import load_demo_plant
from zhizao.bus import Bus
from zhizao.core.config import Settings
from zhizao.runtime import Platform
from zhizao.sim import PlantSimulator
from zhizao.sim.opcua_server import OpcUaServerHandle, serve_opcua

CNC1 = "zhizao/suzhou/machining/line1/turning/cnc1"
LATHE = "acme/site1/area1/line1/cell1/lathe"
FAST = {"publishing_interval_ms": 100, "sampling_interval_ms": 100, "batch_ms": 50,
        "reconnect_initial_s": 0.2, "reconnect_max_s": 1.0, "connect_timeout_s": 5, "watchdog_s": 0.5}


@dataclass
class SimServer:
    sim: PlantSimulator
    handle: OpcUaServerHandle

    def node(self, tag: str, equipment: str = CNC1) -> str:
        return self.handle.node_id(f"{equipment}/{tag}")

    async def advance(self, seconds: float) -> None:
        """Simulate ``seconds`` and let the server take what the plant published."""
        self.sim.run_for(seconds)
        await until(lambda: self.handle.pending == 0)


@asynccontextmanager
async def sim_server(port: int = 0, **kwargs: Any):
    plant = load_demo_plant()
    bus = Bus()
    sim = PlantSimulator(bus=bus, plant=plant, seed=3)
    handle = await serve_opcua(sim, plant, bus, port, **kwargs)
    try:
        yield SimServer(sim, handle)
    finally:
        await handle.stop()


def client_plant(connectors: list[dict[str, Any]], tags: list[dict[str, Any]],
                 more_equipment: list[dict[str, Any]] | None = None) -> str:
    """Plant YAML: one equipment ``lathe`` with ``tags``, plus ``more_equipment``."""
    equipment = [{"id": "lathe", "kind": "cnc", "tags": tags}, *(more_equipment or [])]
    return json.dumps({  # JSON is YAML
        "version": 1,
        "connectors": connectors,
        "enterprise": {"id": "acme", "sites": [{"id": "site1", "areas": [{"id": "area1", "lines": [
            {"id": "line1", "cells": [{"id": "cell1", "equipment": equipment}]}]}]}]},
    }, ensure_ascii=False, indent=1)


def bound(tag_id: str, connector: str, address: str, **fields: Any) -> dict[str, Any]:
    return {"id": tag_id, **fields, "source": {"connector": connector, "address": address}}


@asynccontextmanager
async def platform_for(tmp_path: Path, plant_yaml: str):
    plant_file = tmp_path / "client_plant.yaml"
    plant_file.write_text(plant_yaml, encoding="utf-8")
    platform = Platform(Settings(data_dir=tmp_path / "data", plant_file=plant_file, lang="en"))
    await platform.start()
    try:
        yield platform
    finally:
        await platform.stop()


async def until(predicate: Callable[[], Any], timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def stored(platform: Platform, path: str) -> list:
    return platform.ctx.historian.read_raw(path, 0, 2**62)
