"""The OEE router in a minimal FastAPI app (the platform's auth matrix is tested elsewhere)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.apps.oee.oee_helpers import LINE, M1, at, feed_day_shift, make_ctx

from zhizao.api.deps import current_user
from zhizao.apps.oee.api import router
from zhizao.apps.oee.service import OeeService


@pytest.fixture
async def client(tmp_path):
    ctx = make_ctx(tmp_path, at("16:00"))
    svc = OeeService(ctx, flush_interval_s=3600)
    await svc.start()
    feed_day_shift(ctx.bus)
    ctx.services["oee"] = svc
    app = FastAPI()
    app.state.ctx = ctx
    app.include_router(router)
    app.dependency_overrides[current_user] = lambda: object()
    with TestClient(app) as c:
        yield c
    await svc.stop()
    ctx.db.close()


async def test_oee_endpoint(client):
    r = client.get("/api/oee", params={"scope": LINE, "start": at("08:00"), "end": "2024-05-01T08:00:00Z",
                                       "group_by": "equipment"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["oee"] == pytest.approx(690 / 900 * 622.5 / 690 * 697 / 710)
    assert body["elements"]["pbt_ms"] == 900 * 60_000 and body["elements"]["pq"] == 710
    assert [g["key"] for g in body["groups"]] == [M1, f"{LINE}/c1/m2"]
    assert body["lines"][0]["output_good"] == 345
    # Defaults: the whole enterprise over the last 8 h of the platform clock.
    body = client.get("/api/oee").json()
    assert (body["scope"], body["start"], body["end"]) == ("acme", at("08:00"), at("16:00"))


async def test_bad_parameters_are_422_naming_the_parameter(client):
    for params, param in (({"scope": "acme/nowhere"}, "scope"), ({"start": "tomorrow"}, "start"),
                          ({"start": at("10:00"), "end": at("09:00")}, "end")):
        r = client.get("/api/oee", params=params)
        assert r.status_code == 422 and r.json()["detail"].startswith(f"{param}: "), r.text
    r = client.get("/api/oee", params={"scope": "x"}, headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 422 and "不是工厂中的路径" in r.json()["detail"]
    assert client.get("/api/oee", params={"group_by": "week"}).status_code == 422
    assert client.get("/api/downtime/pareto", params={"by": "week"}).status_code == 422


async def test_downtime_and_pareto_endpoints(client):
    r = client.get("/api/downtime", params={"scope": M1, "start": at("08:00"), "end": at("16:00"),
                                            "reasons": "failure,changeover", "lang": "en"})
    assert r.status_code == 200, r.text
    events = r.json()["events"]
    assert [(e["reason"], e["label"]) for e in events] == [("changeover", "Changeover"),
                                                           ("failure.bearing", "Bearing failure")]
    assert events[1]["start"] == at("12:00") and events[1]["duration_ms"] == 45 * 60_000
    r = client.get("/api/downtime/pareto", params={"scope": LINE, "start": at("08:00"), "end": at("16:00"),
                                                   "planned": "true"})
    items = r.json()["items"]
    assert items[0]["reason"] == "failure.spindle" and items[0]["label"] == "主轴故障"  # default zh-CN
    assert {i["reason"] for i in items} == {"failure.spindle", "break", "failure.bearing", "changeover"}
    assert client.get("/api/oee/status").json()["state_events"] == 12
