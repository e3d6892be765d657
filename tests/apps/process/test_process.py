"""Process optimisation: importance finds what matters, recommendations respect limits, the loop improves."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from tests.conftest import auth
from typer.testing import CliRunner

from zhizao.apps.process.model import LinearConstraint, Parameter, ProcessSpec
from zhizao.apps.process.optimise import importance, optimise, project, recommend_from_records, surrogate_r2_cv
from zhizao.apps.process.records import RecordError, load_batches, load_spec
from zhizao.apps.process.simprocess import NO_EFFECT, SimulatedProcess


def test_spec_checks_names_and_ranges() -> None:
    with pytest.raises(ValueError, match="low"):
        Parameter(name="t", low=5, high=1)
    with pytest.raises(ValueError, match="unknown parameters"):
        ProcessSpec(parameters=[Parameter(name="a", low=0, high=1)],
                    constraints=[LinearConstraint(name="c", coefficients={"b": 1}, max=1)])


def test_projection_lands_inside_bounds_and_limits() -> None:
    spec = ProcessSpec(parameters=[Parameter(name="a", low=0, high=10), Parameter(name="b", low=0, high=1)],
                       constraints=[LinearConstraint(name="sum", coefficients={"a": 0.1, "b": 1}, max=1.0)])
    inside = project(spec, {"a": 9.0, "b": 0.9})
    assert spec.feasible(inside) and 0 <= inside["a"] <= 10 and 0 <= inside["b"] <= 1
    assert project(spec, {"a": 2.0, "b": 0.1}) == {"a": 2.0, "b": 0.1}  # already inside: unchanged
    assert project(spec, {"a": -5.0, "b": 0.1})["a"] == 0.0


def test_importance_and_recommendation_on_the_simulated_process() -> None:
    process = SimulatedProcess(4)
    rows = [dict(r) for r in process.history(40, 4)]
    rng = np.random.default_rng(0)
    for _ in range(40):  # a wider spread of recorded batches, so every parameter varies
        values = {p.name: float(rng.uniform(p.low, p.high)) for p in process.spec.parameters}
        if process.spec.feasible(values):
            rows.append({**values, "yield": process.run(values)})
    ranked = importance(process.spec, rows, repeats=5)
    assert ranked[-1].parameter == NO_EFFECT or ranked[-1].importance < 0.01
    assert ranked[0].importance > 0.05
    assert surrogate_r2_cv(process.spec, rows) > 0.7
    rec = recommend_from_records(process.spec, rows, starts=6)
    assert process.spec.feasible(rec.setpoints) and rec.predicted_std > 0
    assert process.true_outcome(rec.setpoints) > max(process.true_outcome(r) for r in rows) - 2.0


def test_simulated_optimum_respects_the_energy_limit() -> None:
    for seed in range(6):
        p = SimulatedProcess(seed)
        assert 0 < p.best_true <= 100.0
        for row in p.history(10, seed):
            assert p.spec.feasible(row) and p.true_outcome(row) <= p.best_true + 1e-6


@pytest.mark.slow
def test_closed_loop_never_leaves_the_limits_and_improves() -> None:
    process = SimulatedProcess(2)
    history = process.history(30, 2)
    ran: list[dict[str, float]] = []

    def run(values):
        ran.append(values)
        return process.run(values)

    rec = optimise(process.spec, history, run, budget=4, seed=2, method="bayes")
    assert len(ran) == 4 and rec.evaluations == 4
    assert all(process.spec.feasible(v) for v in ran)
    rand = optimise(process.spec, history, process.run, budget=6, seed=2, method="random")
    assert rand.evaluations == 6 and process.spec.feasible(rand.setpoints)
    with pytest.raises(ValueError, match="method"):
        optimise(process.spec, history, process.run, budget=1, method="grid")


def _write_records(tmp_path, rows, spec: ProcessSpec, extra_bad: bool = True):
    spec_file = tmp_path / "spec.yaml"
    lines = ["name: test\noutcome: yield\nparameters:"]
    lines += [f"  - {{name: {p.name}, low: {p.low}, high: {p.high}, unit: '{p.unit}'}}" for p in spec.parameters]
    spec_file.write_text("\n".join(lines) + "\n")
    batches = tmp_path / "batches.csv"
    names = [p.name for p in spec.parameters] + ["yield"]
    with batches.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for row in rows:
            w.writerow([row[n] for n in names])
        if extra_bad:
            w.writerow(["abc"] + [1] * (len(names) - 1))
    return spec_file, batches


def test_records_and_cli(tmp_path) -> None:
    from zhizao.cli import app

    process = SimulatedProcess(1)
    spec_file, batches = _write_records(tmp_path, process.history(25, 1), process.spec)
    spec = load_spec(spec_file)
    rows, problems = load_batches(batches, spec)
    assert len(rows) == 25 and problems == [f"{batches}:27: column melt_temp: 'abc' is not a number"]
    res = CliRunner().invoke(app, ["process", "analyse", "--batches", str(batches), "--spec", str(spec_file), "--json"])
    assert res.exit_code == 0, res.output
    assert '"importance"' in res.stdout and '"recommendation"' in res.stdout
    (tmp_path / "bad.yaml").write_text("parameters: [{name: a, low: 3, high: 1}]\n")
    with pytest.raises(RecordError, match="bad.yaml"):
        load_spec(tmp_path / "bad.yaml")
    short = tmp_path / "short.csv"
    short.write_text("melt_temp,yield\n1,2\n")
    with pytest.raises(RecordError, match="missing columns"):
        load_batches(short, spec)


def test_api(client, tokens) -> None:
    res = client.get("/api/process/batches", headers=auth(tokens["viewer"]))
    assert res.status_code == 200 and len(res.json()["batches"]) == 40
    analysis = client.get("/api/process/analysis", headers=auth(tokens["viewer"])).json()
    assert [i["parameter"] for i in analysis["importance"]][:1] != [NO_EFFECT]
    assert set(analysis["recommendation"]["setpoints"]) == {p["name"] for p in analysis["spec"]["parameters"]}
    assert client.post("/api/process/optimise", headers=auth(tokens["operator"])).status_code == 403
