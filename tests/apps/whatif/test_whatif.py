"""What-if: scenarios change the simulated plant as asked, replications compare with intervals."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from tests.conftest import auth, make_settings
from typer.testing import CliRunner

from zhizao.apps.whatif.engine import ScenarioError, apply, compare_kpis, estimate, run_replication
from zhizao.apps.whatif.model import KPIS, Scenario
from zhizao.runtime import load_configured_plant
from zhizao.sim.plant import SimOptions


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    return load_configured_plant(make_settings(tmp_path_factory.mktemp("wi"), demo=True))


def test_apply_changes_a_copy_and_names_bad_fields(plant) -> None:
    scenario = Scenario(extra_machines={"mc1": 1}, buffer_capacity={"buf3": 40}, cycle_factor={"cnc1": 0.8},
                        shifts=plant.shifts[:2], run_to_failure=True, order_load=0.7)
    changed, options = apply(plant, scenario)
    assert changed.equipment_by_id()["buf3"].capacity == 40
    assert plant.equipment_by_id()["buf3"].capacity != 40  # the plant given is left alone
    assert len(changed.shifts) == 2 and len(plant.shifts) == 3
    assert options == SimOptions(parallel={"mc1": 2}, cycle_factor={"cnc1": 0.8}, order_load=0.7,
                                 pm_interval_h=None)
    for bad, field in ((Scenario(extra_machines={"nope": 1}), "extra_machines.nope"),
                       (Scenario(buffer_capacity={"mc1": 5}), "buffer_capacity.mc1"),
                       (Scenario(cycle_factor={"cnc1": 9.0}), "cycle_factor.cnc1"),
                       (Scenario(shifts=[]), "shifts")):
        with pytest.raises(ScenarioError) as err:
            apply(plant, bad)
        assert err.value.field == field and field in str(err.value)
    assert "不是产线流程中的设备" in ScenarioError("extra_machines.x", "whatif.error.unknown_machine",
                                                   known="a").text("zh-CN")


def test_replications_are_deterministic_and_react_to_changes(plant) -> None:
    base = run_replication(plant, Scenario(), seed=3, days=1.5, warmup_h=6)
    assert base == run_replication(plant, Scenario(), seed=3, days=1.5, warmup_h=6)
    assert set(base) == set(KPIS)
    assert base["throughput_per_day"] > 100 and 0 < base["oee"] < 1 and base["wip"] > 0
    # One shift instead of three: far less output.
    one_shift = run_replication(plant, Scenario(shifts=plant.shifts[:1]), seed=3, days=1.5, warmup_h=6)
    assert one_shift["throughput_per_day"] < 0.6 * base["throughput_per_day"]
    # Demand above the line's capacity: a second machine at every station lets it make more.
    heavy = Scenario(order_load=1.3)
    doubled = Scenario(order_load=1.3, extra_machines={m: 1 for m in ("cnc1", "cnc2", "mc1", "wash1", "asm1",
                                                                      "insp1", "pack1")})
    assert (run_replication(plant, doubled, seed=3, days=1.5, warmup_h=6)["throughput_per_day"]
            > 1.2 * run_replication(plant, heavy, seed=3, days=1.5, warmup_h=6)["throughput_per_day"])


def test_paired_statistics() -> None:
    est = estimate([1.0, 2.0, 3.0, None])
    assert est.mean == 2.0 and est.half_width == pytest.approx(2.4841, abs=1e-3)  # t(0.975, 2) * 1 / sqrt(3)
    base = [{k: 10.0 + i for k in KPIS} for i in range(4)]
    better = [{k: 11.0 + i + 0.01 * (i % 2) for k in KPIS} for i in range(4)]
    by_kpi = {c.kpi: c for c in compare_kpis(base, better)}
    assert by_kpi["throughput_per_day"].verdict == "better" and by_kpi["wip"].verdict == "worse"
    assert by_kpi["throughput_per_day"].significant
    same = compare_kpis(base, [{k: 10.0 + i + (-1) ** i for k in KPIS} for i in range(4)])
    assert all(c.verdict == "no_difference" for c in same)


def test_api_runs_a_comparison(client: TestClient, tokens) -> None:
    options = client.get("/api/whatif/options", headers=auth(tokens["viewer"])).json()
    assert {m["id"] for m in options["machines"]} >= {"cnc1", "mc1"} and options["buffers"]
    body = {"scenario": {"name": "twin mc1", "extra_machines": {"mc1": 1}},
            "settings": {"days": 0.5, "warmup_h": 2, "replications": 2}}
    assert client.post("/api/whatif/runs", json=body, headers=auth(tokens["operator"])).status_code == 403
    bad = client.post("/api/whatif/runs", json={"scenario": {"extra_machines": {"zz": 1}}},
                      headers=auth(tokens["engineer"]))
    assert bad.status_code == 422 and "extra_machines.zz" in bad.json()["detail"]
    res = client.post("/api/whatif/runs", json=body, headers=auth(tokens["engineer"]))
    assert res.status_code == 202
    run_id = res.json()["id"]
    deadline = time.monotonic() + 120
    while (run := client.get(f"/api/whatif/runs/{run_id}",
                             headers=auth(tokens["viewer"])).json())["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert run["status"] == "done", run["error"]
    assert [k["kpi"] for k in run["result"]["kpis"]] == list(KPIS)
    assert run["done"] == run["total"] == 4
    assert client.get("/api/whatif/runs/nope", headers=auth(tokens["viewer"])).status_code == 404
    assert [r["id"] for r in client.get("/api/whatif/runs", headers=auth(tokens["viewer"])).json()] == [run_id]


def test_cli_compares_a_scenario_file(tmp_path) -> None:
    from zhizao.cli import app

    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: bigger buffers\nbuffer_capacity: {buf1: 30, buf2: 30}\n")
    res = CliRunner().invoke(app, ["whatif", "--scenario", str(scenario), "--days", "0.5", "--warmup-h", "2",
                                   "--replications", "2", "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    assert '"kpi": "throughput_per_day"' in res.output
    scenario.write_text("buffer_capacity: {cnc1: 30}\n")
    res = CliRunner().invoke(app, ["whatif", "--scenario", str(scenario), "--replications", "2"])
    assert res.exit_code == 1 and "buffer_capacity.cnc1" in res.output
    scenario.write_text("bogus: 1\n")
    res = CliRunner().invoke(app, ["whatif", "--scenario", str(scenario)])
    assert res.exit_code == 1 and "bogus" in res.output
