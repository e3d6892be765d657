"""The simulator's REST API: roles, controls and errors that name the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.conftest import auth
from tests.sim.sim_helpers import START_MS

from zhizao.assets import load_demo_plant
from zhizao.bus import Bus
from zhizao.sim import PlantSimulator


@pytest.fixture
def sim_client(platform_app):
    app, tokens = platform_app
    sim = PlantSimulator(bus=Bus(), plant=load_demo_plant(), seed=1, start_ms=START_MS, sample_period_s=30)
    sim.run_until(600)
    app.state.ctx.services["sim"] = sim
    return TestClient(app), tokens, sim


def test_status_for_any_signed_in_user(sim_client):
    client, tokens, _ = sim_client
    assert client.get("/api/sim/status").status_code == 401
    body = client.get("/api/sim/status", headers=auth(tokens["viewer"])).json()
    assert body["sim_time_s"] == 600 and body["speed"] == 60
    machines = body["lines"][0]["machines"]
    assert [m["id"] for m in machines] == ["cnc1", "cnc2", "mc1", "wash1", "asm1", "insp1", "pack1"]
    assert {b["id"]: b["capacity"] for b in body["lines"][0]["buffers"]}["buf1"] == 10


def test_speed_needs_an_engineer_and_a_valid_value(sim_client):
    client, tokens, sim = sim_client
    r = client.post("/api/sim/speed", json={"speed": 120}, headers=auth(tokens["operator"]))
    assert r.status_code == 403
    r = client.post("/api/sim/speed", json={"speed": 120}, headers=auth(tokens["engineer"]))
    assert r.status_code == 200 and r.json()["speed"] == 120 == sim.speed
    r = client.post("/api/sim/speed", json={"speed": -3}, headers=auth(tokens["engineer"]))
    assert r.status_code == 422 and "speed" in str(r.json())


def test_failure_and_maintenance(sim_client):
    client, tokens, sim = sim_client
    engineer = auth(tokens["engineer"])
    r = client.post("/api/sim/equipment/cnc2/failure", json={"mode": "electrical", "repair_s": 300},
                    headers=engineer)
    assert r.status_code == 200 and r.json()["mode"] == "electrical"
    r = client.post("/api/sim/equipment/cnc2/maintenance", headers=engineer)
    assert r.status_code == 409 and "failure.electrical" in r.json()["detail"]
    r = client.post("/api/sim/equipment/mc1/maintenance", json={"duration_s": 900}, headers=engineer)
    assert r.status_code == 200 and r.json()["reason"] == "planned"
    sim.run_for(1)
    machines = client.get("/api/sim/status", headers=engineer).json()["lines"][0]["machines"]
    states = {m["id"]: m["state"] for m in machines}
    assert states["cnc2"] == "down" and states["mc1"] == "maintenance"


def test_bad_input_names_the_field(sim_client):
    client, tokens, _ = sim_client
    engineer = auth(tokens["engineer"])
    r = client.post("/api/sim/equipment/nope/failure", headers=engineer | {"Accept-Language": "zh-CN"})
    assert r.status_code == 404 and r.json()["detail"].startswith("equipment_id：")
    r = client.post("/api/sim/equipment/nope/failure?lang=en", headers=engineer)
    assert r.json()["detail"].startswith("equipment_id: no simulated machine 'nope'")
    r = client.post("/api/sim/equipment/cnc1/failure", json={"mode": "Not A Mode"}, headers=engineer)
    assert r.status_code == 422 and "mode" in str(r.json()["detail"])
    r = client.post("/api/sim/equipment/cnc1/maintenance", json={"duration_s": 0}, headers=engineer)
    assert r.status_code == 422 and "duration_s" in str(r.json()["detail"])
    assert client.post("/api/sim/equipment/cnc1/failure", headers=auth(tokens["viewer"])).status_code == 403
