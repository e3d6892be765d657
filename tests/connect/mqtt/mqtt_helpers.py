"""A platform context with the real ingest path, MQTT connectors on it, and publishing helpers."""

from __future__ import annotations

import asyncio
import getpass
import json
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from zhizao.assets.loader import parse_plant
from zhizao.bus import Bus
from zhizao.connect.ingest import Ingest
from zhizao.connect.mqtt import MqttConnector
from zhizao.connect.mqtt.config import MqttConfig
from zhizao.core.clock import WallClock
from zhizao.core.config import Settings
from zhizao.core.context import Context
from zhizao.store.db import Database
from zhizao.store.historian import open_historian

BROKER = "127.0.0.1"
MOSQUITTO = "/usr/sbin/mosquitto"
PORT = 1883
LINE = "acme/s1/a1/l1/c1"
TEMP, COUNT, RUNNING, STATE = (f"{LINE}/m1/temp", f"{LINE}/m1/count", f"{LINE}/m1/running", f"{LINE}/m1/state")
SPEED, PRESSURE = f"{LINE}/m2/speed", f"{LINE}/m2/pressure"
ALL_TAGS = (TEMP, COUNT, RUNNING, STATE, SPEED, PRESSURE)

PLANT_YAML = """
enterprise:
  id: acme
  sites:
    - id: s1
      areas:
        - id: a1
          lines:
            - id: l1
              cells:
                - id: c1
                  equipment:
                    - id: m1
                      tags:
                        - {id: temp, data_type: float}
                        - {id: count, data_type: int}
                        - {id: running, data_type: bool}
                        - {id: state, data_type: string}
                    - id: m2
                      tags:
                        - {id: speed, data_type: float}
                        - {id: pressure, data_type: float}
"""


def unique(prefix: str = "zt") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((BROKER, 0))
        return s.getsockname()[1]


async def platform_ctx(tmp_path: Path) -> Context:
    """SQLite for dead letters, a DuckDB historian, and the ingest service (spool + forwarder), started."""
    plant = parse_plant(PLANT_YAML)
    db = Database(f"sqlite:///{tmp_path / 'zhizao.db'}")
    db.create_all()
    historian = open_historian(f"duckdb:///{tmp_path / 'historian.duckdb'}", clock=WallClock())
    historian.register_tags(plant.tags())
    ctx = Context(settings=Settings(data_dir=tmp_path, mqtt_url=f"mqtt://{BROKER}:{PORT}"), bus=Bus(),
                  plant=plant, historian=historian, db=db, clock=WallClock())
    ingest = Ingest(ctx)
    await ingest.start()
    ctx.services["ingest"] = ingest
    return ctx


async def close_ctx(ctx: Context) -> None:
    await ctx.services["ingest"].stop()
    ctx.historian.close()
    ctx.db.close()


def connector(ctx: Context, config: dict, name: str = "broker") -> MqttConnector:
    return MqttConnector(name, MqttConfig.model_validate(config), ctx)


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


async def wait_connected(conn: MqttConnector) -> None:
    await wait_for(lambda: conn.health().state == "connected", what=f"{conn.name} connected")


def rows(ctx: Context, tag: str) -> list[tuple[int, Any, str]]:
    return [(p.ts, p.v, p.q) for p in ctx.historian.read_raw(tag, 0, 2**62)]


def publish(messages: list[tuple[str, bytes | str | dict | list]], port: int = PORT, qos: int = 1) -> None:
    """Publish (topic, payload) pairs with QoS 1 and wait until the broker acknowledged each."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=unique("pub"))
    client.connect(BROKER, port)
    client.loop_start()
    try:
        infos = []
        for topic, payload in messages:
            if isinstance(payload, dict | list):
                payload = json.dumps(payload)
            infos.append(client.publish(topic, payload, qos=qos))
        for info in infos:
            info.wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


class PrivateBroker:
    """A Mosquitto of our own on a free port, with persistence in its own folder, that can be killed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text("\n".join([
            f"listener {self.port} {BROKER}",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {folder}/",
            "autosave_interval 1",
            "max_queued_messages 0",  # no limit: nothing queued for an absent subscriber is dropped
            f"user {getpass.getuser()}",  # run as whoever runs the tests (root would switch to 'mosquitto')
            f"log_dest file {folder}/mosquitto.log",
        ]) + "\n")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                socket.create_connection((BROKER, self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mosquitto exited with {self.proc.returncode}; see {self.folder}") from None
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout_s} s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop our broker process (by its pid); SIGTERM lets it save its persistence file first."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    @property
    def url(self) -> str:
        return f"mqtt://{BROKER}:{self.port}"
