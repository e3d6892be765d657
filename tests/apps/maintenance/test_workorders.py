"""Work orders: lifecycle and roles through the API; completing one restores the simulated machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import auth

from zhizao.apps.maintenance.model import WorkOrderAction, WorkOrderCreate
from zhizao.apps.maintenance.service import MaintenanceService
from zhizao.assets.loader import load_demo_plant
from zhizao.bus import Bus
from zhizao.core.config import Settings
from zhizao.core.context import Context
from zhizao.sim import PlantSimulator
from zhizao.store.db import Database

WO = "/api/maintenance/workorders"


def test_lifecycle_and_roles(client, tokens) -> None:
    body = {"equipment": "cnc1", "title": "Spindle noise", "spare_parts": [{"part": "spindle_bearing", "qty": 1}]}
    assert client.post(WO, json=body, headers=auth(tokens["viewer"])).status_code == 403
    missing = client.post(WO, json={**body, "equipment": "nope"}, headers=auth(tokens["operator"]))
    assert missing.status_code == 404 and "equipment" in missing.json()["detail"]
    created = client.post(WO, json=body, headers=auth(tokens["operator"]))
    assert created.status_code == 201, created.text
    wo = created.json()
    assert wo["state"] == "open" and wo["equipment"].endswith("/cnc1") and wo["created_by"] == "operator1"
    act = f"{WO}/{wo['id']}/actions"

    assert client.post(act, json={"action": "assign", "assignee": "wang_qiang"},
                       headers=auth(tokens["operator"])).status_code == 403
    no_one = client.post(act, json={"action": "assign"}, headers=auth(tokens["engineer"]))
    assert no_one.status_code == 422 and "assignee" in no_one.json()["detail"]
    too_soon = client.post(act, json={"action": "complete"}, headers=auth(tokens["engineer"]))
    assert too_soon.status_code == 409 and "action" in too_soon.json()["detail"]
    assigned = client.post(act, json={"action": "assign", "assignee": "wang_qiang"}, headers=auth(tokens["engineer"]))
    assert assigned.json()["state"] == "assigned" and assigned.json()["assignee"] == "wang_qiang"
    assert client.post(act, json={"action": "start"}, headers=auth(tokens["engineer"])).json()["state"] == "in_progress"
    noted = client.post(f"{WO}/{wo['id']}/notes", json={"text": "outer race pitted"}, headers=auth(tokens["operator"]))
    assert noted.json()["notes"][-1]["text"] == "outer race pitted"
    done = client.post(act, json={"action": "complete", "note": "bearing replaced",
                                  "spare_parts": [{"part": "spindle_bearing", "qty": 2}]},
                       headers=auth(tokens["engineer"])).json()
    assert done["state"] == "done" and done["completed_ms"] is not None
    assert done["spare_parts"] == [{"part": "spindle_bearing", "qty": 2.0}]
    assert [e["action"] for e in done["events"]] == ["create", "assign", "start", "complete"]
    assert client.post(act, json={"action": "cancel"}, headers=auth(tokens["engineer"])).status_code == 409

    listed = client.get(WO, params={"state": "done", "equipment": "cnc1"}, headers=auth(tokens["viewer"])).json()
    assert [w["id"] for w in listed] == [wo["id"]]
    assert client.get(WO, params={"state": "open"}, headers=auth(tokens["viewer"])).json() == []
    assert client.get(f"{WO}/999", headers=auth(tokens["viewer"])).status_code == 404


def test_fleet_and_kpis_are_served(client, tokens) -> None:
    fleet = client.get("/api/maintenance/fleet", headers=auth(tokens["viewer"])).json()
    assert {row["machine"] for row in fleet} == {"cnc1", "cnc2", "mc1", "wash1", "asm1", "insp1", "pack1"}
    assert all(row["health"] is None and row["model_version"] is None for row in fleet)  # nothing learnt yet
    kpis = client.get("/api/maintenance/kpis", headers=auth(tokens["viewer"])).json()
    assert len(kpis) == 7 and all(k["failures"] == 0 for k in kpis)
    assert client.get("/api/maintenance/machines/zz", headers=auth(tokens["viewer"])).status_code == 404


@pytest.fixture
def sim_ctx(tmp_path: Path) -> Context:
    plant = load_demo_plant()
    bus = Bus()
    sim = PlantSimulator(bus=bus, plant=plant, seed=5, start_ms=1_767_225_600_000, sample_period_s=30)
    db = Database(f"sqlite:///{tmp_path / 'z.db'}")
    db.create_all()
    ctx = Context(settings=Settings(data_dir=tmp_path, lang="en"), bus=bus, plant=plant,
                  historian=None, db=db, clock=sim.clock)  # type: ignore[arg-type]
    ctx.services["sim"] = sim
    return ctx


def _hidden(sim: PlantSimulator, machine: str) -> dict:
    return next(m for line in sim.status()["lines"] for m in line["machines"] if m["id"] == machine)


@pytest.mark.slow
async def test_completing_a_work_order_restores_the_simulated_machine(sim_ctx: Context) -> None:
    sim: PlantSimulator = sim_ctx.services["sim"]
    svc = MaintenanceService(sim_ctx)
    states: list[dict] = []
    sim_ctx.bus.on("_events/state/+/+/+/+/+/mc1", lambda m: states.append(m.payload))
    # run until the machining centre is visibly worn and free to stop
    for _ in range(400):
        sim.run_for(300)
        status = _hidden(sim, "mc1")
        if status["hidden"]["wear"] > 0.3 and status["state"] not in ("down", "maintenance"):
            break
    assert _hidden(sim, "mc1")["hidden"]["wear"] > 0.3
    wo = await svc.create_work_order(WorkOrderCreate(equipment="mc1", title="worn", duration_min=20), "op")
    await svc.act(wo.id, WorkOrderAction(action="assign", assignee="wang_qiang"), "eng")
    await svc.act(wo.id, WorkOrderAction(action="start"), "eng")
    done = await svc.act(wo.id, WorkOrderAction(action="complete"), "eng")
    assert done.state == "done" and done.restore is not None and done.restore["reason"] == "corrective"
    sim.run_for(21 * 60)
    assert _hidden(sim, "mc1")["hidden"]["wear"] < 0.05
    assert any(s["state"] == "maintenance" and s["reason"] == "corrective" for s in states)
    history = await svc.work_orders(state="done", equipment="mc1")
    assert [w.id for w in history] == [wo.id]
    svc._db.shutdown()
