"""The /api/alarms router on a small app sharing the test's event loop with the running service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from tests.apps.alarms.alarm_helpers import M1, T0, TEMP, advance, publish

from zhizao.apps.alarms.api import router
from zhizao.apps.alarms.service import AlarmService
from zhizao.core.context import Context
from zhizao.security.model import ROLES, User
from zhizao.security.service import Security
from zhizao.store.db import Base

Client = tuple[httpx.AsyncClient, dict[str, dict[str, str]]]


@pytest.fixture
async def api(ctx: Context, service: AlarmService) -> AsyncIterator[Client]:
    Base.metadata.create_all(ctx.db.engine)
    security = Security(ctx.db)
    headers = {}
    for role in ROLES:
        with ctx.db.session() as s:  # no password: skips the deliberately slow hashing
            user = User(username=f"{role}1", role=role, password_hash="-", created_at=datetime.now())
            s.add(user)
        headers[role] = {"Authorization": f"Bearer {security.issue_token(user)}"}
    app = FastAPI()
    app.state.ctx, app.state.security = ctx, security
    ctx.services["alarms"] = service
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://zhizao") as client:
        yield client, headers


def hi_id(service: AlarmService) -> int:
    return next(a.id for a in service.list("all") if a.definition.tag == TEMP and a.definition.limit == "hi")


async def test_list_summary_and_one_alarm(api: Client, ctx: Context, service: AlarmService) -> None:
    client, h = api
    assert (await client.get("/api/alarms")).status_code == 401
    assert (await client.get("/api/alarms", headers=h["viewer"])).json() == []
    publish(ctx, TEMP, 80.0)
    [item] = (await client.get("/api/alarms", headers=h["viewer"])).json()
    expected = {
        "id": hi_id(service), "tag": TEMP, "equipment": M1, "limit": "hi", "limit_value": 75.0,
        "deadband": 2.0, "unit": "°C", "priority": "high", "state": "unack_active", "active": True,
        "superseded": False, "occurrence": 1, "value": 80.0, "active_since": T0}
    assert {k: item[k] for k in expected} == expected
    assert item["message"] == "Mill 1 Bearing temperature high: 80 °C > 75"
    assert item["state_label"] == "Active, unacknowledged"

    zh = (await client.get("/api/alarms", params={"lang": "zh-CN"}, headers=h["viewer"])).json()[0]
    assert (zh["message"], zh["state_label"], zh["limit_label"]) == (
        "铣床1 轴承温度高报警：80 °C > 75", "报警未确认", "高限")
    zh_headers = {**h["viewer"], "Accept-Language": "zh-CN,zh;q=0.9"}
    zh = (await client.get("/api/alarms", headers=zh_headers)).json()
    assert zh[0]["priority_label"] == "高"

    assert len((await client.get("/api/alarms", params={"state": "all"}, headers=h["viewer"])).json()) == 8
    tank_cell = {"scope": "acme/s1/a1/l1/c2"}
    assert (await client.get("/api/alarms", params=tank_cell, headers=h["viewer"])).json() == []
    r = await client.get("/api/alarms", params={"state": "bogus"}, headers=h["viewer"])
    assert r.status_code == 422 and r.json()["detail"].startswith("state: 'bogus' is not one of")

    summary = (await client.get("/api/alarms/summary", headers=h["viewer"])).json()
    assert (summary["unacked"], summary["by_priority"]["high"], summary["highest_unacked_priority"]) == (
        1, 1, "high")
    one = (await client.get(f"/api/alarms/{hi_id(service)}", headers=h["viewer"])).json()
    assert one["id"] == hi_id(service)


async def test_ack_roles_errors_and_history(api: Client, ctx: Context, service: AlarmService) -> None:
    client, h = api
    alarm_id = hi_id(service)
    r = await client.post(f"/api/alarms/{alarm_id}/ack", headers=h["operator"])
    assert r.status_code == 409 and r.json()["detail"] == (
        f"alarm {alarm_id} is in state 'normal': there is nothing to acknowledge")
    r = await client.post("/api/alarms/999999/ack", headers=h["operator"])
    assert r.status_code == 404 and r.json()["detail"] == "alarm 999999 not found"
    r = await client.post("/api/alarms/999999/ack", headers={**h["operator"], "Accept-Language": "zh-CN"})
    assert r.json()["detail"] == "报警 999999 不存在"
    assert (await client.get("/api/alarms/999999/history", headers=h["viewer"])).status_code == 404

    publish(ctx, TEMP, 80.0)
    assert (await client.post(f"/api/alarms/{alarm_id}/ack", headers=h["viewer"])).status_code == 403
    advance(ctx, 1000)
    r = await client.post(f"/api/alarms/{alarm_id}/ack", json={"note": "checked"}, headers=h["operator"])
    assert r.status_code == 200, r.text
    acked = r.json()
    assert (acked["state"], acked["acked_by"], acked["acked_at"]) == ("ack_active", "operator1", T0 + 1000)

    history = (await client.get(f"/api/alarms/{alarm_id}/history", headers=h["viewer"])).json()
    assert [(e["from_state"], e["to_state"], e["user"], e["note"]) for e in history] == [
        ("unack_active", "ack_active", "operator1", "checked"), ("normal", "unack_active", None, None)]
    iso = datetime.fromtimestamp((T0 + 500) / 1000, UTC).isoformat()
    window = (await client.get(f"/api/alarms/{alarm_id}/history", params={"start": iso},
                               headers=h["viewer"])).json()
    assert [e["to_state"] for e in window] == ["ack_active"]
    everything = (await client.get("/api/alarms/history", params={"end": T0 + 1}, headers=h["viewer"])).json()
    assert [e["to_state"] for e in everything] == ["unack_active"]
    r = await client.get("/api/alarms/history", params={"start": "yesterday"}, headers=h["viewer"])
    assert r.status_code == 422 and r.json()["detail"].startswith("start: 'yesterday'")


async def test_shelve_and_unshelve(api: Client, ctx: Context, service: AlarmService) -> None:
    client, h = api
    alarm_id = hi_id(service)
    url = f"/api/alarms/{alarm_id}"
    body = {"until": T0 + 3_600_000, "reason": "sensor replaced"}
    assert (await client.post(f"{url}/shelve", json=body, headers=h["operator"])).status_code == 403
    r = await client.post(f"{url}/shelve", json={"until": None}, headers=h["engineer"])
    assert r.status_code == 422 and "reason" in r.text
    r = await client.post(f"{url}/shelve", json={"until": None, "reason": " "}, headers=h["engineer"])
    assert r.status_code == 422 and r.json()["detail"] == "reason: a reason is required"
    r = await client.post(f"{url}/shelve", json={"until": T0 - 1, "reason": "x"}, headers=h["engineer"])
    assert r.status_code == 422 and r.json()["detail"].startswith("until:")

    iso_until = datetime.fromtimestamp((T0 + 3_600_000) / 1000, UTC).isoformat()
    r = await client.post(f"{url}/shelve", json={"until": iso_until, "reason": "sensor replaced"},
                          headers=h["engineer"])
    assert r.status_code == 200, r.text
    shelved = r.json()
    assert (shelved["state"], shelved["shelved_by"], shelved["shelved_until"], shelved["shelve_reason"]) == (
        "shelved", "engineer1", T0 + 3_600_000, "sensor replaced")
    publish(ctx, TEMP, 80.0)
    listed = (await client.get("/api/alarms", params={"state": "shelved"}, headers=h["viewer"])).json()
    assert [a["id"] for a in listed] == [alarm_id] and listed[0]["active"] is True

    assert (await client.post(f"{url}/unshelve", headers=h["operator"])).status_code == 403
    r = await client.post(f"{url}/unshelve", headers=h["engineer"])
    assert r.status_code == 200 and r.json()["state"] == "unack_active"
    assert (await client.post(f"{url}/unshelve", headers=h["engineer"])).status_code == 409


async def test_out_of_service_round_trip(api: Client, service: AlarmService) -> None:
    client, h = api
    url = f"/api/alarms/{hi_id(service)}"
    r = await client.post(f"{url}/out-of-service", json={"reason": "broken"}, headers=h["engineer"])
    assert r.status_code == 200 and r.json()["state"] == "out_of_service"
    r = await client.post(f"{url}/shelve", json={"reason": "x"}, headers=h["engineer"])
    assert r.status_code == 409 and "out of service" in r.json()["detail"]
    r = await client.post(f"{url}/return-to-service", headers=h["engineer"])
    assert r.status_code == 200 and r.json()["state"] == "normal"
