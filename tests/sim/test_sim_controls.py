"""Staged incidents: injected failures, maintenance, feed override, and refused requests."""

from __future__ import annotations

import pytest
from tests.sim.sim_helpers import record

from zhizao.sim import SimError


@pytest.fixture
def rec():
    return record(hours=1, sample_period_s=30)


def machine(rec, eq_id: str) -> dict:
    return next(m for m in rec.sim.status()["lines"][0]["machines"] if m["id"] == eq_id)


def test_injected_failure_stops_the_machine_until_repaired(rec):
    sim = rec.sim
    heading_for = machine(rec, "mc1")["hidden"]["next_wear_failure_mode"]
    result = sim.inject_failure("mc1", repair_s=600)
    assert result["mode"] == heading_for and result["repair_s"] == 600
    sim.run_for(1)
    m = machine(rec, "mc1")
    assert (m["state"], m["reason"]) == ("down", f"failure.{heading_for}")
    assert rec.events["failure"][-1]["equipment"].endswith("/mc1")
    with pytest.raises(SimError) as err:
        sim.inject_failure("mc1", "electrical")
    assert err.value.kind == "conflict" and err.value.field == "equipment_id"
    sim.run_for(600)
    m = machine(rec, "mc1")
    assert m["state"] != "down" and m["hidden"]["wear"] < 0.05  # the worn part was replaced
    assert m["failures"] == {heading_for: 1}


def test_maintenance_takes_the_machine_out_and_renews_it(rec):
    sim = rec.sim
    sim.start_maintenance("cnc1", 1200, "corrective")
    sim.run_for(1)
    assert (machine(rec, "cnc1")["state"], machine(rec, "cnc1")["reason"]) == ("maintenance", "corrective")
    sim.run_for(1200)
    assert machine(rec, "cnc1")["state"] != "maintenance"
    assert machine(rec, "cnc1")["hidden"]["wear"] < 0.05


def test_feed_override_is_published_and_bounded(rec):
    rec.sim.set_feed_override("cnc1", 110)
    rec.sim.run_for(60)
    assert rec.tag("cnc1", "feed_override")[-1][1] == 110
    with pytest.raises(SimError) as err:
        rec.sim.set_feed_override("cnc1", 200)
    assert err.value.field == "percent"


@pytest.mark.parametrize(("call", "field", "kind"), [
    (lambda sim: sim.inject_failure("nope"), "equipment_id", "not_found"),
    (lambda sim: sim.inject_failure("buf1"), "equipment_id", "not_found"),
    (lambda sim: sim.inject_failure("cnc2", "Bad Mode"), "mode", "invalid"),
    (lambda sim: sim.inject_failure("cnc2", "tool", repair_s=-5), "repair_s", "invalid"),
    (lambda sim: sim.start_maintenance("cnc2", 0), "duration_s", "invalid"),
    (lambda sim: sim.start_maintenance("cnc2", 60, "someday"), "reason", "invalid"),
])
def test_bad_requests_name_the_field(rec, call, field, kind):
    with pytest.raises(SimError) as err:
        call(rec.sim)
    assert (err.value.field, err.value.kind) == (field, kind)
    assert str(err.value).startswith(f"{field}:")
    assert err.value.message("zh-CN").startswith(f"{field}：")
