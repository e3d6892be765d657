"""The scheduling service on the demo plant's bus (orders, breakdowns, dispatch lists) and its REST API."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.apps.scheduling.helpers import CNC1, HOUR, MC1, NOW, make_ctx, order_event

from zhizao.api.deps import current_user
from zhizao.apps.scheduling.api import router
from zhizao.apps.scheduling.service import SchedulingService
from zhizao.security.model import User

pytestmark = pytest.mark.slow  # each plan takes its solver time (2 s here)


async def wait_for(predicate, timeout=60.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def planned(tmp_path):
    ctx = make_ctx(tmp_path)
    svc = SchedulingService(ctx, solve_seconds=2, debounce_s=0.05, min_interval_s=0.5)
    dispatched: dict[str, dict] = {}
    ctx.bus.on("_events/dispatch/#", lambda m: dispatched.__setitem__(m.payload["equipment"], m.payload))
    await svc.start()
    ctx.services["scheduling"] = svc
    # four orders; the last one cannot make its due date (the milling centre is the bottleneck)
    for k, (product, qty, due_h) in enumerate((("ph100", 30, 8), ("ph200", 40, 12), ("ph100", 30, 16),
                                               ("ph200", 60, 3))):
        order_event(ctx.bus, f"wo{k}", product, qty, NOW + due_h * HOUR)
    await wait_for(lambda: svc.plan is not None and len(svc.plan.plant_model.orders) == 4)
    yield ctx, svc, dispatched
    await svc.stop()


async def test_orders_become_a_plan_with_dispatch_lists(planned):
    ctx, svc, dispatched = planned
    snapshot = svc.snapshot()
    assert snapshot["status"] in ("optimal", "feasible") and snapshot["orders"] == 4
    assert len(snapshot["operations"]) == 4 * 7  # seven routing steps per order
    assert set(dispatched) == {m["path"] for m in snapshot["machines"]}
    first = dispatched[CNC1]["operations"]
    assert len(first) == 4 and all(a["end"] <= b["start"] for a, b in zip(first, first[1:], strict=False))
    assert all(op["start"] >= NOW for op in snapshot["operations"])
    late = svc.explanations()["late_orders"]
    assert [o["order"] for o in late] == ["wo3"]
    assert late[0]["bottleneck"].startswith("zhizao/suzhou/machining/line1/")
    assert snapshot["kpis"]["late_count"] == 1 and snapshot["kpis"]["energy_cost"] > 0
    # completed orders leave the plan
    ctx.bus.publish("_events/order/wo0", {"ts": NOW, "order": "wo0", "product": "ph100", "qty": 30,
                                          "due": NOW + 8 * HOUR, "released": NOW, "status": "completed",
                                          "completed_qty": 30})
    await wait_for(lambda: len(svc.plan.plant_model.orders) == 3)


async def test_simulator_breakdown_triggers_a_repair_that_avoids_the_machine(planned):
    ctx, svc, _ = planned
    old = svc.plan
    ctx.clock.now = NOW + HOUR
    ctx.bus.publish(f"_events/failure/{MC1}", {"ts": NOW + HOUR, "equipment": MC1, "mode": "spindle"})
    ctx.bus.publish(f"_events/state/{MC1}", {"ts": NOW + HOUR, "equipment": MC1, "state": "down",
                                             "previous": "running", "reason": "failure.spindle"})
    await wait_for(lambda: svc.plan is not old)
    plan = svc.plan
    assert plan.reason == "breakdown" and plan.comparison is not None
    repair_end = NOW + HOUR + svc.repair_estimate_min * 60_000
    for op in svc.snapshot()["operations"]:
        if op["machine"] == MC1 and not op["frozen"]:
            assert op["start"] >= repair_end
    assert len(svc.history) == 2  # one breakdown reported twice (failure + state) is one repair


@pytest.fixture
def client(planned):
    ctx, svc, _ = planned
    app = FastAPI()
    app.state.ctx = ctx
    app.include_router(router)
    role = {"value": "engineer"}
    app.dependency_overrides[current_user] = lambda: User(username="u", role=role["value"])
    with TestClient(app) as c:
        yield c, role, app


async def test_api_reads_and_writes(client):
    c, role, _ = client
    body = c.get("/api/schedule", params={"lang": "en"}).json()
    assert body["status"] in ("optimal", "feasible") and len(body["operations"]) == 28
    assert body["reason_label"] == "order book changed"
    assert c.get("/api/schedule/kpis").json()["late_count"] == 1
    assert c.get("/api/schedule/explanations").json()["late_orders"][0]["order"] == "wo3"
    assert len(c.get("/api/schedule/dispatch", params={"equipment": CNC1}).json()) == 4
    r = c.get("/api/schedule/dispatch", params={"equipment": "nope", "lang": "en"})
    assert r.status_code == 404 and "equipment" in r.json()["detail"]
    r = c.post("/api/schedule/reschedule", json={"event": "rush_order", "product": "ph100", "qty": 10,
                                                 "due": NOW + 5 * HOUR})
    assert r.status_code == 200 and r.json()["reason"] == "rush_order" and r.json()["orders"] == 5
    r = c.post("/api/schedule/reschedule", json={"event": "late_material", "order": "wo2",
                                                 "available": NOW + 6 * HOUR})
    assert r.status_code == 200
    wo2 = [o for o in r.json()["operations"] if o["order"] == "wo2"]
    assert min(o["start"] for o in wo2) >= NOW + 6 * HOUR
    r = c.post("/api/schedule/reschedule", json={"event": "breakdown", "lang": "en"})
    assert r.status_code == 422 and "equipment" in r.json()["detail"]
    r = c.post("/api/schedule/reschedule", json={"event": "rush_order", "product": "nope", "due": NOW},
               params={"lang": "en"})
    assert r.status_code == 422 and "product" in r.json()["detail"]
    assert c.post("/api/schedule/solve", json={"time_limit": 2}).json()["reason"] == "manual"



async def test_planned_orders_from_mrp_join_the_plan(client):
    c, role, _ = client
    planned = [{"product": "ph100", "qty": 20, "release": NOW + 4 * HOUR, "due": NOW + 12 * HOUR},
               {"product": "ph100", "qty": 10.4, "release": NOW + 2 * HOUR, "due": NOW + 10 * HOUR}]
    r = c.post("/api/schedule/orders", json=planned)
    assert r.status_code == 200 and r.json()["reason"] == "planned_orders"
    ops = {o["order"]: o for o in r.json()["operations"] if o["order"].startswith("mrp-")}
    assert set(ops) == {"mrp-001", "mrp-002"}
    first = [o for o in r.json()["operations"] if o["order"] == "mrp-001"]
    assert min(o["start"] for o in first) >= NOW + 4 * HOUR  # not before its release
    # Handing over again replaces the earlier planned orders.
    r = c.post("/api/schedule/orders", json=planned[:1])
    assert {o["order"] for o in r.json()["operations"] if o["order"].startswith("mrp-")} == {"mrp-001"}
    r = c.post("/api/schedule/orders", json=[{**planned[0], "product": "nope"}], params={"lang": "en"})
    assert r.status_code == 422 and "0.product=nope" in r.json()["detail"]
    role["value"] = "operator"
    assert c.post("/api/schedule/orders", json=planned).status_code == 403


async def test_api_auth(client):
    c, role, app = client
    role["value"] = "operator"
    assert c.get("/api/schedule").status_code == 200
    assert c.post("/api/schedule/solve", json={}).status_code == 403
    assert c.post("/api/schedule/reschedule", json={"event": "breakdown", "equipment": MC1}).status_code == 403
    app.dependency_overrides.clear()
    assert c.get("/api/schedule").status_code == 401
