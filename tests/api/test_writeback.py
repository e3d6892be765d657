"""Write-back: roles, checks, dispatch to the simulator or a connector, read-back, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import PASSWORD, ROLES, auth
from tests.sim.sim_helpers import START_MS

from zhizao.api.app import create_app
from zhizao.assets import load_demo_plant
from zhizao.assets.loader import demo_plant_text
from zhizao.bus import Bus
from zhizao.connect.base import Connector, WriteError
from zhizao.core.config import Settings
from zhizao.sim import PlantSimulator

FEED = "zhizao/suzhou/machining/line1/turning/cnc1/feed_override"
TEMP = "zhizao/suzhou/machining/line1/turning/cnc1/temperature"


@pytest.fixture
def sim_client(platform_app):
    app, tokens = platform_app
    sim = PlantSimulator(bus=Bus(), plant=load_demo_plant(), seed=1, start_ms=START_MS, sample_period_s=30)
    sim.run_until(60)
    with TestClient(app) as client:
        app.state.ctx.services["sim"] = sim
        yield client, tokens, sim, app


def write(client: TestClient, token: str, path: str, value: Any, confirm: bool = True):
    return client.post(f"/api/tags/{path}/write", json={"value": value, "confirm": confirm}, headers=auth(token))


def feed(sim: PlantSimulator, machine: str = "cnc1") -> float:
    return next(m["feed_override"] for m in sim.status()["lines"][0]["machines"] if m["id"] == machine)


def write_audits(app) -> list:
    return [e for e in app.state.security.audit_log() if e.action == "write"]


def test_role_matrix(sim_client) -> None:
    client, tokens, sim, _ = sim_client
    assert client.post(f"/api/tags/{FEED}/write", json={"value": 90, "confirm": True}).status_code == 401
    for role, value in zip(ROLES, (81, 82, 83, 84), strict=True):
        r = write(client, tokens[role], FEED, value)
        allowed = role in ("engineer", "admin")
        assert r.status_code == (200 if allowed else 403), (role, r.text)
        if not allowed:
            assert "'engineer' or higher" in r.json()["detail"]
    assert feed(sim) == 84


def test_sim_write_is_read_back_and_verified(sim_client) -> None:
    client, tokens, sim, app = sim_client
    before = feed(sim)
    r = write(client, tokens["engineer"], FEED, 85.5)
    assert r.status_code == 200
    assert r.json() == {"tag": FEED, "old": before, "written": 85.5, "read_back": 85.5, "verified": True,
                        "read_error": None}
    assert feed(sim) == 85.5 and feed(sim, "cnc2") == before  # only cnc1's override changed
    entry = write_audits(app)[0]
    assert (entry.username, entry.target, entry.status) == ("engineer1", FEED, 200)
    assert entry.detail == {"tag": FEED, "old": before, "new": 85.5, "read_back": 85.5, "outcome": "verified"}


def test_refusals_name_the_problem_and_change_nothing(sim_client) -> None:
    client, tokens, sim, app = sim_client
    token, before = tokens["engineer"], feed(sim)

    r = write(client, token, TEMP, 50)
    assert r.status_code == 409 and r.json()["detail"] == f"tag '{TEMP}' is not writable"
    r = write(client, token, FEED, 130)
    assert r.status_code == 422 and r.json()["detail"] == f"value: 130 is outside the range [50, 120] of tag '{FEED}'"
    for bad in ("fast", True, None, [90]):
        r = write(client, token, FEED, bad)
        assert r.status_code == 422 and r.json()["detail"].startswith("value:"), bad
    r = write(client, token, FEED, 90, confirm=False)
    assert r.status_code == 428 and r.json()["detail"].startswith("confirm: must be true to write 90.0")
    r = client.post(f"/api/tags/{FEED}/write", json={"value": 90}, headers=auth(token))
    assert r.status_code == 428
    r = write(client, token, "zhizao/no/such/tag", 1)
    assert r.status_code == 404 and "no tag" in r.json()["detail"]
    assert feed(sim) == before

    outcomes = [(e.status, e.detail["outcome"]) for e in reversed(write_audits(app))]
    assert outcomes == [(409, "not_writable"), (422, "invalid_value"), *[(422, "invalid_value")] * 4,
                        (428, "unconfirmed"), (428, "unconfirmed"), (404, "unknown_tag")]
    out_of_range = write_audits(app)[-2].detail
    assert out_of_range["new"] == 130 and out_of_range["old"] is None and "[50, 120]" in out_of_range["error"]

    r = write(client, tokens["operator"], FEED, 90)
    assert r.status_code == 403 and write_audits(app)[0].detail["outcome"] == "refused_role"
    assert write_audits(app)[0].username == "operator1"


def test_sim_not_running(platform_app) -> None:
    app, tokens = platform_app
    with TestClient(app) as client:
        r = write(client, tokens["admin"], FEED, 90)
    assert r.status_code == 503 and "simulator, which is not running" in r.json()["detail"]


class LoopbackDevice(Connector):
    """A device that stores what is written; ``step`` models one that rounds values to its own steps."""

    kind = "loopback"

    def __init__(self, name: str, ctx, step: float | None = None, fail: str | None = None) -> None:
        super().__init__(name, None, ctx)  # type: ignore[arg-type]
        self.values: dict[str, Any] = {}
        self.step, self.fail = step, fail

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def write(self, tag, value) -> None:
        if self.fail:
            raise WriteError(self.fail)
        self.values[tag.path] = round(value / self.step) * self.step if self.step else value

    async def read(self, tag) -> Any:
        return self.values[tag.path]


@pytest.fixture
def device_client(tmp_path: Path):
    """A plant with a writable setpoint bound to the connector ``plc1`` (a file connector: it cannot write)."""
    plant = tmp_path / "plant.yaml"
    plant.write_text(demo_plant_text().replace(
        "                        - {id: air_temperature,",
        "                        - {id: setpoint, unit: bar, range: [0, 10], writable: true,"
        " source: {connector: plc1, address: '40001'}}\n"
        "                        - {id: air_temperature,") + f"\nconnectors:\n  - {{name: plc1, kind: file, "
        f"config: {{path: '{tmp_path / 'in'}', poll_s: 60}}}}\n", encoding="utf-8")
    app = create_app(Settings(data_dir=tmp_path / "data", plant_file=plant))
    user = app.state.security.add_user("eng", PASSWORD, "engineer")
    token = app.state.security.issue_token(user)
    with TestClient(app) as client:
        yield client, token, app


SETPOINT = "zhizao/suzhou/machining/line1/facility/env1/setpoint"


def test_connector_write_dispatch_and_read_back(device_client) -> None:
    client, token, app = device_client
    manager = app.state.ctx.services["connectors"]
    # the real file connector has no write-back: the write fails, and says so
    r = write(client, token, SETPOINT, 4)
    assert r.status_code == 502 and "connector 'plc1' (file) cannot write" in r.json()["detail"]
    assert write_audits(app)[0].detail["outcome"] == "failed"

    manager.connectors["plc1"] = LoopbackDevice("plc1", app.state.ctx)
    r = write(client, token, SETPOINT, 4.25)
    assert r.json() | {"old": None} == {"tag": SETPOINT, "old": None, "written": 4.25, "read_back": 4.25,
                                        "verified": True, "read_error": None}
    manager.connectors["plc1"] = LoopbackDevice("plc1", app.state.ctx, step=0.5)  # the device rounds
    r = write(client, token, SETPOINT, 4.2)
    assert r.status_code == 200 and (r.json()["read_back"], r.json()["verified"]) == (4.0, False)
    assert write_audits(app)[0].detail | {"old": None} == {"tag": SETPOINT, "old": None, "new": 4.2,
                                                          "read_back": 4.0, "outcome": "unverified"}
    manager.connectors["plc1"] = LoopbackDevice("plc1", app.state.ctx, fail="PLC in local mode")
    r = write(client, token, SETPOINT, 5)
    assert r.status_code == 502 and r.json()["detail"].endswith("PLC in local mode")

    del manager.connectors["plc1"]
    r = write(client, token, SETPOINT, 5)
    assert r.status_code == 503 and "connector 'plc1'" in r.json()["detail"]
