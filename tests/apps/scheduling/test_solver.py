"""The solver on tiny models: every constraint type, the objectives, optimality and anytime behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhizao.apps.scheduling.dispatch import RULES, dispatch
from zhizao.apps.scheduling.instances import read_instance
from zhizao.apps.scheduling.model import Model, ModelError, Objective, SolveControl, Tariff
from zhizao.apps.scheduling.schedule import kpis, violations

DATA = Path(__file__).resolve().parents[3] / "../shared/data/jobshop"
needs_data = pytest.mark.skipif(not DATA.exists(), reason=f"job-shop data set not found at {DATA}")


def chain_model(durations: list[list[tuple[int, int]]]) -> Model:
    """One job per list; each operation a list of (machine, time) modes... as single-mode chains here."""
    model = Model()
    for m in range(1 + max(mc for job in durations for mc, _ in job)):
        model.add_machine(f"M{m}")
    for job in durations:
        j = model.add_job()
        for machine, duration in job:
            model.add_mode(model.add_operation(j), machine, duration)
    return model


@needs_data
def test_ft06_is_solved_to_its_proven_optimum_55():
    model = read_instance(DATA / "jsp" / "ft06", "jsplib").model
    result = model.solve(time_limit=20, workers=2)
    assert result.status == "optimal" and result.makespan == 55 and result.lower_bound == 55
    assert violations(model, result.operations) == []


@needs_data
def test_flexible_instance_schedule_is_feasible():
    model = read_instance(DATA / "fjsp" / "brandimarte" / "mk01.txt", "fjs").model
    result = model.solve(time_limit=3, workers=2)
    assert result.feasible and violations(model, result.operations) == []
    assert 36 <= result.lower_bound <= result.makespan  # 40 is optimal; the bound is proven, never above


@pytest.mark.parametrize("rule", RULES)
def test_every_dispatching_rule_builds_a_feasible_schedule(rule):
    model = chain_model([[(0, 3), (1, 2), (2, 2)], [(1, 2), (0, 4), (2, 1)], [(2, 3), (1, 3), (0, 1)]])
    model.jobs[0].due, model.jobs[1].due = 6, 9
    result = dispatch(model, rule)
    assert violations(model, result.operations) == []


def test_flexible_modes_pick_the_faster_free_machine():
    model = Model()
    fast, slow = model.add_machine("fast"), model.add_machine("slow")
    for _ in range(2):
        op = model.add_operation(model.add_job())
        model.add_mode(op, fast, 4)
        model.add_mode(op, slow, 6)
    result = model.solve(time_limit=3)
    assert result.status == "optimal" and result.makespan == 6
    assert sorted(s.machine for s in result.operations) == [0, 1]


def test_sequence_dependent_setups_group_families():
    # two families on one machine, changeover 10; the best sequence changes family once
    model = Model()
    machine = model.add_machine(setup_times={("a", "b"): 10, ("b", "a"): 10})
    for family in "abab":
        model.add_mode(model.add_operation(model.add_job(family=family)), machine, 1)
    result = model.solve(time_limit=3)
    assert result.status == "optimal" and result.makespan == 4 + 10
    assert violations(model, result.operations) == []
    order = [model.jobs[s.job].family for s in sorted(result.operations, key=lambda s: s.start)]
    assert order in (list("aabb"), list("bbaa"))


def test_machine_calendar_is_respected_without_preemption():
    model = Model()
    machine = model.add_machine(unavailable=[(2, 5)])
    model.add_mode(model.add_operation(model.add_job()), machine, 3)  # does not fit before 2
    result = model.solve(time_limit=3)
    assert result.operations[0].start == 5 and result.makespan == 8
    assert violations(model, result.operations) == []


def test_release_dates_and_weighted_tardiness():
    model = Model()
    machine = model.add_machine()
    late_heavy = model.add_job(release=0, due=4, weight=5)
    light = model.add_job(release=0, due=4, weight=1)
    released_later = model.add_job(release=10, due=20)
    for job, duration in ((late_heavy, 4), (light, 4), (released_later, 2)):
        model.add_mode(model.add_operation(job), machine, duration)
    model.set_objective("weighted_tardiness")
    result = model.solve(time_limit=3)
    assert result.status == "optimal" and result.objective == 4  # the light job waits: 1 x 4
    starts = {s.job: s.start for s in result.operations}
    assert starts[late_heavy.index] == 0 and starts[released_later.index] >= 10
    assert result.kpis["late_count"] == 1 and result.kpis["on_time_rate"] == pytest.approx(2 / 3)


def test_late_count_objective():
    model = Model()
    machine = model.add_machine()
    for due, duration in ((3, 3), (3, 3), (6, 3)):
        model.add_mode(model.add_operation(model.add_job(due=due)), machine, duration)
    model.set_objective("late_count")
    result = model.solve(time_limit=3)
    assert result.objective == 1 and result.status == "optimal"


def test_lot_splitting_uses_both_machines():
    model = Model()
    a, b = model.add_machine(), model.add_machine()
    op = model.add_operation(model.add_job(), quantity=10, max_lots=2, min_lot=2)
    model.add_mode(op, a, 20)
    model.add_mode(op, b, 20)
    result = model.solve(time_limit=3)
    assert result.makespan == 10 and len(result.operations) == 2
    assert sorted(s.quantity for s in result.operations) == [5, 5]
    assert violations(model, result.operations) == []


def test_energy_cost_moves_work_into_the_valley():
    # price 10 in [0, 10), 1 in [10, 20); one 5-unit operation on a 60 kW machine; horizon leaves room
    model = Model()
    machine = model.add_machine(power_kw=60)
    model.add_mode(model.add_operation(model.add_job(due=30)), machine, 5)
    model.tariff = Tariff([(0, 10, 10.0), (10, 20, 1.0)], cycle=20, units_per_hour=60)
    model.set_objective(Objective(energy_cost=1.0))
    result = model.solve(time_limit=3)
    start = result.operations[0].start
    assert 10 <= start % 20 <= 15, start
    assert result.kpis["energy_cost"] == pytest.approx(5.0)  # 60 kW x 5 min x 1 / 60


def test_lexicographic_objective_keeps_the_first_optimum():
    model = Model()
    machine = model.add_machine(power_kw=60)
    model.add_mode(model.add_operation(model.add_job(due=2)), machine, 2)
    model.tariff = Tariff([(0, 10, 10.0), (10, 20, 1.0)], cycle=20)
    model.set_objective(Objective(lexicographic=("weighted_tardiness", "energy_cost")))
    result = model.solve(time_limit=4)
    assert result.operations[0].start == 0  # being on time first, even at peak price
    assert result.kpis["weighted_tardiness"] == 0


def test_assembly_tree_precedence():
    model = Model()
    m = model.add_machine(), model.add_machine(), model.add_machine()
    part_a = model.add_operation(model.add_job("A"))
    part_b = model.add_operation(model.add_job("B"))
    assembly = model.add_operation(model.add_job("ASM"), predecessors=[part_a, part_b])
    for op, machine, duration in ((part_a, m[0], 3), (part_b, m[1], 5), (assembly, m[2], 2)):
        model.add_mode(op, machine, duration)
    result = model.solve(time_limit=3)
    assert result.makespan == 7 and violations(model, result.operations) == []


def test_an_operation_without_machine_is_refused():
    model = Model()
    model.add_machine()
    model.add_operation(model.add_job())
    with pytest.raises(ModelError, match="no eligible machine"):
        model.solve(time_limit=1)


def test_anytime_control_has_a_schedule_before_the_solver_finishes():
    model = chain_model([[(0, 3), (1, 2)], [(1, 2), (0, 4)]])
    control = SolveControl()
    result = model.solve(time_limit=2, control=control)
    assert control.best is not None and violations(model, control.best) == []
    assert control.best_bound <= result.makespan


def test_zero_time_limit_returns_the_dispatching_schedule():
    model = chain_model([[(0, 3), (1, 2)], [(1, 2), (0, 4)]])
    result = model.solve(time_limit=0)
    assert result.status == "feasible" and result.source.startswith("dispatch:")
    assert violations(model, result.operations) == [] and result.lower_bound <= result.makespan
    assert kpis(model, result.operations)["makespan"] == result.makespan
