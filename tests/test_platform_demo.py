"""The whole platform in demo mode: simulator → bus → historian, OEE, alarms → API."""

import time

import pytest
from fastapi.testclient import TestClient

from tests.conftest import auth, make_settings
from zhizao.api.app import create_app


def wait_until(predicate, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
def test_demo_plant_flows_through_every_part(tmp_path):
    settings = make_settings(tmp_path, demo=True, sim_speed=600)
    app = create_app(settings)
    platform = app.state.platform
    password = platform.ensure_demo_admin()
    assert password and platform.ensure_demo_admin() is None  # only on first start
    token = platform.security.issue_token(platform.security.authenticate("admin", password), "api")
    with TestClient(app) as client:
        sim = platform.ctx.services["sim"]
        wait_until(lambda: not sim.status()["warming_up"])
        writer = platform.ctx.services["historian_writer"]
        wait_until(lambda: writer.stats()["queued"] == 0)
        # The first start writes an hour of simulated history.
        path = "zhizao/suzhou/machining/line1/milling/mc1/vibration_rms"
        hist = client.get(f"/api/tags/{path}/history", params={"interval": "5m"}, headers=auth(token)).json()
        assert len(hist["points"]) >= 10
        latest = client.get("/api/tags/latest", headers=auth(token)).json()
        assert len(latest) == len(platform.ctx.plant.tags())
        oee = client.get("/api/oee", params={"scope": "zhizao/suzhou/machining/line1"}, headers=auth(token)).json()
        assert 0 < oee["oee"] <= 1
        assert writer.stats()["bus_dropped"] == 0
        assert platform.ctx.historian.stats()["rejected_total"] == 0
        first_clock = client.get("/api/health").json()["clock"]
        wait_until(lambda: client.get("/api/health").json()["clock"] > first_clock + 60_000)
    stop_clock = platform.ctx.clock.now_ms()

    # A restart resumes the plant's clock after the stored data; time never runs backwards.
    app2 = create_app(settings)
    assert app2.state.platform.ctx.clock.now_ms() > stop_clock - 5_000
    with TestClient(app2):
        pass
