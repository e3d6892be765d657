"""Rescheduling (breakdown, rush order, late material) and explanations of late orders."""

from __future__ import annotations

from dataclasses import replace

from zhizao.apps.scheduling.explain import critical_chain, explanation, late_orders
from zhizao.apps.scheduling.model import Model
from zhizao.apps.scheduling.reschedule import Breakdown, LateMaterial, RushOrder, reschedule
from zhizao.apps.scheduling.schedule import violations


def flow_shop() -> Model:
    """Three orders through two machines (a small flow line), due dates that the plan meets."""
    model = Model()
    cut, weld = model.add_machine("cut"), model.add_machine("weld")
    for k, due in enumerate((12, 20, 30)):
        job = model.add_job(f"wo{k}", due=due)
        model.add_mode(model.add_operation(job), cut, 4)
        model.add_mode(model.add_operation(job), weld, 5)
    model.set_objective("weighted_tardiness")
    return model


def test_breakdown_keeps_started_operations_and_moves_the_rest_after_the_repair():
    model = flow_shop()
    before = model.solve(time_limit=3)
    assert before.kpis["late_count"] == 0
    now = 5
    started = {s.operation: (s.machine, s.start) for s in before.operations if s.start < now}
    running_on_cut = [s.operation for s in before.operations if s.machine == 0 and s.start < now < s.end]
    repaired = reschedule(model, before.operations, now, [Breakdown(machine=0, until=15)], time_limit=3)
    after = {s.operation: s for s in repaired.result.operations}
    assert violations(model, repaired.result.operations) == []
    for op, (machine, start) in started.items():
        if op not in running_on_cut:
            assert (after[op].machine, after[op].start) == (machine, start), "a started operation moved"
    assert repaired.interrupted == running_on_cut
    for s in repaired.result.operations:
        if s.machine == 0 and s.operation not in repaired.frozen:
            assert s.start >= 15, "work on the broken machine before its repair"
    comparison = repaired.comparison
    assert comparison["moved_operations"] > 0
    assert comparison["after"]["weighted_tardiness"] >= comparison["before"]["weighted_tardiness"]


def test_stability_prefers_the_old_plan_when_it_costs_nothing():
    model = flow_shop()
    before = model.solve(time_limit=3)
    repaired = reschedule(model, before.operations, 0, [], time_limit=3)
    assert repaired.comparison["moved_operations"] == 0
    assert repaired.comparison["machine_changes"] == 0


def test_rush_order_is_inserted_and_on_time():
    model = flow_shop()
    before = model.solve(time_limit=3)
    repaired = reschedule(model, before.operations, 2, [RushOrder("rush", [[(0, 2)], [(1, 2)]], due=12)],
                          time_limit=3)
    rush = next(j for j in model.jobs if j.name == "rush")
    ends = [s.end for s in repaired.result.operations if s.job == rush.index]
    assert len(ends) == 2 and max(ends) <= 12
    assert repaired.comparison["new_operations"] == 2
    assert violations(model, repaired.result.operations) == []


def test_late_material_delays_the_order():
    model = flow_shop()
    before = model.solve(time_limit=3)
    repaired = reschedule(model, before.operations, 0, [LateMaterial(job=2, available_at=25)], time_limit=3)
    first = min(s.start for s in repaired.result.operations if s.job == 2)
    assert first >= 25


def test_explanation_names_the_bottleneck_and_the_chain():
    # the weld machine is slow: every order queues for it, so the last order is late because of it
    model = Model()
    cut, weld = model.add_machine("cut"), model.add_machine("weld")
    for k in range(3):
        job = model.add_job(f"wo{k}", due=12)
        model.add_mode(model.add_operation(job), cut, 1)
        model.add_mode(model.add_operation(job), weld, 6)
    result = model.solve(time_limit=3)
    late = late_orders(model, result.operations)
    assert late and all(order.bottleneck_name == "weld" for order in late)
    worst = late[0]
    assert worst.tardiness == result.makespan - 12
    assert [link.machine for link in worst.chain].count(weld.index) >= 2
    assert any(link.link == "machine" for link in worst.chain)
    data = explanation(model, result.operations)
    assert data["late_orders"][0]["bottleneck"] == "weld"
    assert data["utilisation"]["weld"] > data["utilisation"]["cut"]


def test_chain_of_an_unobstructed_order_is_its_route():
    model = Model()
    a, b = model.add_machine("a"), model.add_machine("b")
    job = model.add_job(release=3)
    model.add_mode(model.add_operation(job), a, 2)
    model.add_mode(model.add_operation(job), b, 2)
    result = model.solve(time_limit=2)
    last = max(result.operations, key=lambda s: s.end)
    chain = critical_chain(model, result.operations, last)
    assert [link.link for link in chain] == ["release", "route"]


def test_repair_in_a_new_time_origin_with_work_in_the_past_and_an_overdue_order():
    # the service re-plans with time 0 = now: the old plan's first operations lie before 0
    model = flow_shop()
    before = model.solve(time_limit=3)
    shifted = [replace(s, start=s.start - 12, end=s.end - 12) for s in before.operations]
    model.jobs[2].due = -50
    repaired = reschedule(model, shifted, 0, [Breakdown(machine=1, until=5)], time_limit=3)
    assert repaired.result.feasible and violations(model, repaired.result.operations) == []
    assert any(s.start < 0 for s in repaired.result.operations)
    assert all(s.start >= 0 for s in repaired.result.operations if s.operation not in repaired.frozen)
