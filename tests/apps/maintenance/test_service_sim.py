"""The maintenance service on the simulated plant, fed by the bus as live: it learns each machine,
registers and deploys the models, warns before wear-out failures, raises health alarms in the alarm
app and opens work orders."""

from __future__ import annotations

import pytest
from tests.apps.maintenance.test_workorders import sim_ctx  # noqa: F401  (fixture)

from zhizao.apps.alarms.service import AlarmService
from zhizao.apps.maintenance.service import MaintenanceService
from zhizao.core.context import Context
from zhizao.ml import ModelRegistry

pytestmark = pytest.mark.slow


async def test_learn_warn_and_open_work_orders(sim_ctx: Context) -> None:  # noqa: F811
    sim = sim_ctx.services["sim"]
    alarms = AlarmService(sim_ctx, tick_s=3600)
    await alarms.start()
    sim_ctx.services["alarms"] = alarms
    svc = MaintenanceService(sim_ctx)
    health_events: list[dict] = []
    sim_ctx.bus.on("_events/health/#", lambda m: health_events.append(m.payload))
    svc.feed.attach(sim_ctx.bus)
    sim.run_for(2 * 86_400)
    trained = await svc.check_models()
    assert sorted(trained) == sorted(svc.monitors)
    reg = ModelRegistry(sim_ctx.settings.data_dir / "models")
    version = reg.get("health", "mc1")
    assert version.version == 1 and version.data_fingerprint.startswith("sha256:")
    assert version.metrics["windows"] >= 100 and version.params["sensors"][0] == "vibration_rms"

    failures: list[dict] = []
    sim_ctx.bus.on("_events/failure/#", lambda m: failures.append(m.payload))
    sim.run_for(86_400)
    for task in list(svc._tasks):
        await task
    wear_failures = [f for f in failures if f["mode"] in ("bearing", "spindle", "pump", "drive")]
    warned_machines = {e["machine"] for e in health_events if e["level"] == "warning"}
    assert wear_failures and {f["equipment"].rsplit("/", 1)[1] for f in wear_failures} <= warned_machines | {"insp1"}
    event = health_events[0]
    assert event["sensors"] and event["model_version"] == 1 and 0 <= event["health"] < 75
    stored = await svc.warnings()
    assert len(stored) == len(health_events)
    orders = await svc.work_orders()
    assert orders and all(o.source == "warning" for o in orders)
    assert len({o.equipment for o in orders if o.state == "open"}) == len([o for o in orders if o.state == "open"])

    health_alarms = [a for a in alarms.list(state="all") if a.definition.limit == "health"]
    assert {a.definition.equipment.rsplit("/", 1)[1] for a in health_alarms} == warned_machines
    assert all(a.occurrence >= 1 for a in health_alarms)
    assert "health" in health_alarms[0].message("en")
    await svc.check_models()  # clears the alarms of machines whose monitor re-armed after a repair
    armed = {m.path for m in svc.monitors.values() if m.phase == "armed"}
    assert armed and all(not a.active for a in health_alarms if a.definition.equipment in armed)
    # that check also retrained on schedule (a simulated day later); a rollback in the registry is picked up
    assert svc.monitors["mc1"].model_version == 2 and reg.get("health", "mc1").notes == "trigger: scheduled"
    reg.rollback("health", "mc1")
    await svc.check_models()
    assert svc.monitors["mc1"].model_version == 1

    fleet = svc.fleet()
    assert all(row["health"] is not None for row in fleet)
    assert fleet == sorted(fleet, key=lambda r: (r["health"], r["rul_h"]["median"] if r["rul_h"] else float("inf")))
    detail = svc.machine("mc1", hours=24)
    assert len(detail["history"]) > 50 and set(detail["contributions"]) == set(detail["sensors"])
    svc.feed.detach()
    svc._db.shutdown()
    await alarms.stop()
