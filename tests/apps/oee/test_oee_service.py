"""OeeService end to end: a real Bus and SQLite database fed synthetic state and part events."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from tests.apps.oee.oee_helpers import LINE, M1, M2, MIN, at, feed_day_shift, make_ctx, part, state

from zhizao.apps.oee.model import PartCount, StateInterval
from zhizao.apps.oee.service import OeeQueryError, OeeService
from zhizao.bus import Bus


@pytest.fixture
async def running(tmp_path):
    ctx = make_ctx(tmp_path, at("16:00"))
    svc = OeeService(ctx, flush_interval_s=3600)  # the tests decide when to write
    await svc.start()
    yield ctx, svc
    await svc.stop()
    ctx.db.close()


def rows(ctx, equipment: str) -> list[StateInterval]:
    with ctx.db.session() as s:
        return list(s.scalars(select(StateInterval).where(StateInterval.equipment == equipment)
                              .order_by(StateInterval.start_ms)))


async def test_events_are_batched_and_recorded_as_intervals(running):
    ctx, svc = running
    feed_day_shift(ctx.bus)
    assert rows(ctx, M1) == []  # nothing written before the batch
    assert svc.stats()["pending_intervals"] == 12
    svc.flush()
    m1 = rows(ctx, M1)
    assert [(r.state, r.reason) for r in m1][:3] == [("running", "producing"), ("idle", "break"),
                                                     ("running", "producing")]
    assert [r.end_ms for r in m1[:-1]] == [r.start_ms for r in m1[1:]]
    assert m1[-1].end_ms is None and m1[-1].seen_ms == at("16:00")
    assert {r.shift for r in m1} == {"a"}
    with ctx.db.session() as s:
        assert s.scalar(select(PartCount.produced).where(PartCount.equipment == M1,
                                                         PartCount.minute_ms == at("08:00"))) == 1
    stats = svc.stats()
    assert stats["state_events"] == 12 and stats["part_events"] == 710 and stats["pending_intervals"] == 0


async def test_oee_of_one_machine_matches_the_hand_computed_case(running):
    ctx, svc = running
    feed_day_shift(ctx.bus)
    res = svc.oee(M1, at("08:00"), at("16:00"))
    # Case 1 of test_oee_calc: A = 390/450, E = 360/390, Q = 352/360, OEE = 352/450.
    el = res.elements
    assert (el.pot_ms, el.pdt_ms, el.pbt_ms, el.apt_ms, el.adot_ms) == (480 * MIN, 30 * MIN, 450 * MIN,
                                                                          390 * MIN, 60 * MIN)
    assert (el.pq, el.gq, el.sq, el.pri_s) == (360, 352, 8, 60)
    assert res.availability == pytest.approx(390 / 450)
    assert res.effectiveness == pytest.approx(360 / 390)
    assert res.quality == pytest.approx(352 / 360)
    assert res.oee == pytest.approx(352 / 450)
    assert [e.path for e in res.equipment] == [M1] and res.lines == []


async def test_line_aggregates_machines_and_reports_output(running):
    ctx, svc = running
    feed_day_shift(ctx.bus)
    res = svc.oee(LINE, at("08:00"), at("16:00"))
    # Case 3 of test_oee_calc (buffer and environment sensor left out).
    assert [e.path for e in res.equipment] == [M1, M2]
    assert res.elements.equipment_count == 2
    assert res.availability == pytest.approx(690 / 900)
    assert res.effectiveness == pytest.approx(622.5 / 690)
    assert res.quality == pytest.approx(697 / 710)
    assert res.oee == pytest.approx(690 / 900 * 622.5 / 690 * 697 / 710)
    (line,) = res.lines
    assert line.path == LINE and line.oee == pytest.approx(res.oee)
    # Output: m2 is last in the flow; m1 (60 s) is the bottleneck; 345 good x 1 min / 450 min.
    assert (line.output_equipment, line.output_produced, line.output_good) == (M2, 350, 345)
    assert (line.bottleneck, line.bottleneck_cycle_s, line.line_pbt_ms) == (M1, 60, 450 * MIN)
    assert line.output_oee == pytest.approx(345 / 450)
    # The enterprise holds the same machines.
    assert svc.oee(None, at("08:00"), at("16:00")).oee == pytest.approx(res.oee)


async def test_group_by_shift_hour_and_equipment(running):
    ctx, svc = running
    feed_day_shift(ctx.bus)
    by_shift = svc.oee(LINE, at("08:00"), at("00:00", day=2), group_by="shift")
    assert [(g.key, g.shift) for g in by_shift.groups] == [("2024-05-01 a", "a"), ("2024-05-01 b", "b")]
    day, swing = by_shift.groups
    assert day.oee == pytest.approx(by_shift.oee) and day.elements.apt_ms == 690 * MIN
    assert swing.elements.no_data_ms == 2 * 480 * MIN and swing.availability is None  # clock stands at 16:00
    by_hour = svc.oee(M1, at("08:00"), at("16:00"), group_by="hour")
    assert len(by_hour.groups) == 8 and by_hour.groups[0].key == "2024-05-01T08:00+08:00"
    assert sum(g.elements.apt_ms for g in by_hour.groups) == 390 * MIN
    assert sum(g.elements.pq for g in by_hour.groups) == 360
    assert by_hour.groups[4].elements.down_ms == 45 * MIN  # 12:00-13:00
    # A period that does not start on a minute: groups still add up to the ungrouped figures.
    start = at("09:00") + 30_000
    plain = svc.oee(LINE, start, at("13:00"))
    for group_by in ("hour", "shift", "day"):
        grouped = svc.oee(LINE, start, at("13:00"), group_by=group_by)
        assert sum(g.elements.pq for g in grouped.groups) == plain.elements.pq == grouped.elements.pq
        assert sum(g.elements.apt_ms for g in grouped.groups) == plain.elements.apt_ms
    by_eq = svc.oee(LINE, at("08:00"), at("16:00"), group_by="equipment")
    assert [g.key for g in by_eq.groups] == [M1, M2]
    assert by_eq.groups[1].availability == pytest.approx(300 / 450)


async def test_downtime_events_and_pareto(running):
    ctx, svc = running
    feed_day_shift(ctx.bus)
    events = svc.downtime_events(LINE, at("08:00"), at("16:00"), lang="en")
    assert events.total == 5  # 2 breaks, 2 failures, 1 changeover; newest first
    newest = [(e.equipment, e.reason) for e in events.events][:2]
    assert newest == [(M1, "changeover"), (M1, "failure.bearing")]
    bearing = events.events[1]
    assert (bearing.duration_ms, bearing.planned, bearing.label, bearing.shift) == (45 * MIN, False,
                                                                                  "Bearing failure", "a")
    assert all(e.planned for e in events.events if e.reason == "break")
    only_failures = svc.downtime_events(LINE, at("08:00"), at("16:00"), reasons=["failure"])
    assert {e.reason for e in only_failures.events} == {"failure.bearing", "failure.spindle"}
    assert svc.downtime_events(LINE, at("08:00"), at("16:00"), limit=2).total == 5
    # Clipped to the period: the spindle failure 11:00-13:30 has 60 min before 12:00.
    clipped = svc.downtime_events(M2, at("08:00"), at("12:00"), reasons=["failure.spindle"]).events[0]
    assert (clipped.duration_ms, clipped.in_period_ms) == (150 * MIN, 60 * MIN)

    pareto = svc.pareto(LINE, at("08:00"), at("16:00"), lang="zh-CN")
    assert [(i.key, i.duration_ms, i.count) for i in pareto.items] == [
        ("failure.spindle", 150 * MIN, 1), ("failure.bearing", 45 * MIN, 1), ("changeover", 15 * MIN, 1)]
    assert pareto.total_ms == 210 * MIN and pareto.items[0].label == "主轴故障"
    assert pareto.items[-1].cumulative_share == pytest.approx(1.0)
    assert pareto.items[0].share == pytest.approx(150 / 210)
    with_breaks = svc.pareto(LINE, at("08:00"), at("16:00"), planned=True)
    assert ("break", 60 * MIN, 2) in [(i.key, i.duration_ms, i.count) for i in with_breaks.items]
    by_machine = svc.pareto(LINE, at("08:00"), at("16:00"), by="equipment")
    assert [(i.equipment, i.duration_ms) for i in by_machine.items] == [(M2, 150 * MIN), (M1, 60 * MIN)]


async def test_crash_recovery_closes_open_intervals_at_last_known_time(tmp_path):
    ctx = make_ctx(tmp_path, at("08:00"))
    crashed = OeeService(ctx, flush_interval_s=3600)
    await crashed.start()
    state(ctx.bus, M1, at("08:00"), "running", "producing")
    ctx.clock.now = at("09:30")
    crashed.flush()  # the last write before the crash stamps seen_ms = 09:30
    assert rows(ctx, M1)[0].end_ms is None

    # The process dies at 11:00 without stop(); a new one starts on a new bus.
    ctx.clock.now = at("11:00")
    ctx2 = replace(ctx, bus=Bus(), services={})
    restarted = OeeService(ctx2, flush_interval_s=3600)
    await restarted.start()
    (recovered,) = rows(ctx, M1)
    assert (recovered.end_ms, recovered.closed_on_restart) == (at("09:30"), True)
    assert restarted.stats()["closed_on_restart"] == 1
    state(ctx2.bus, M1, at("11:00"), "down", "failure.tool")
    restarted.flush()
    assert [(r.state, r.start_ms, r.end_ms) for r in rows(ctx, M1)] == [
        ("running", at("08:00"), at("09:30")), ("down", at("11:00"), None)]
    # 09:30-11:00 is unknown, not running.
    el = restarted.oee(M1, at("08:00"), at("11:00")).elements
    assert (el.apt_ms, el.no_data_ms) == (90 * MIN, 90 * MIN)
    events = restarted.downtime_events(M1, at("08:00"), at("11:30")).events
    assert [(e.reason, e.end, e.duration_ms) for e in events] == [("failure.tool", None, 0)]
    await restarted.stop()
    await crashed.stop()
    ctx.db.close()


async def test_bad_events_are_counted_not_recorded(running):
    ctx, svc = running
    state(ctx.bus, M1, at("09:00"), "running")
    state(ctx.bus, M1, at("08:00"), "down", "failure.tool")  # older than the open interval
    state(ctx.bus, M1, at("09:10"), "exploded")
    ctx.bus.publish(f"_events/state/{M1}", "not json")
    ctx.bus.publish(f"_events/part/{M1}", {"ts": "yesterday", "good": True})
    ctx.bus.publish(f"_events/part/{M1}", {"ts": at("09:00"), "good": "yes"})
    stats = svc.stats()
    assert stats["rejected"] == {"out_of_order": 1, "bad_state": 1, "malformed": 2, "bad_timestamp": 1}
    assert stats["state_events"] == 1 and stats["part_events"] == 0
    assert len(stats["last_rejections"]) == 5 and ctx.bus.handler_errors == 0
    svc.flush()
    assert [(r.state, r.start_ms) for r in rows(ctx, M1)] == [("running", at("09:00"))]


async def test_repeats_same_instant_changes_and_state_tag_fallback(running):
    ctx, svc = running
    state(ctx.bus, M1, at("08:00"), "running", "producing")
    state(ctx.bus, M1, at("08:05"), "running", "producing")  # no change: ignored
    state(ctx.bus, M1, at("09:00"), "idle", "starved")
    state(ctx.bus, M1, at("09:00"), "idle", "blocked")  # same instant: the later one wins
    # The state tag alone: a different state opens an interval without a reason; the same one is a no-op.
    ctx.bus.publish(f"{M1}/state", {"ts": at("09:30"), "v": "idle"})
    ctx.bus.publish(f"{M1}/state", [{"ts": at("10:00"), "v": "down"}, {"ts": at("10:01"), "v": "down"}])
    ctx.bus.publish(f"{M2}/state", {"ts": at("10:00"), "v": "running", "q": "bad"})  # bad quality: ignored
    svc.flush()
    assert [(r.state, r.reason, r.start_ms, r.end_ms) for r in rows(ctx, M1)] == [
        ("running", "producing", at("08:00"), at("09:00")), ("idle", "blocked", at("09:00"), at("10:00")),
        ("down", None, at("10:00"), None)]
    assert rows(ctx, M2) == []


async def test_part_counts_use_minute_buckets(running):
    ctx, svc = running
    state(ctx.bus, M1, at("08:00"), "running")
    for ts in (at("08:00"), at("08:00") + 59_999, at("08:01"), at("09:59")):
        part(ctx.bus, M1, ts)
    part(ctx.bus, M1, at("08:01") + 5, good=False)
    el = svc.oee(M1, at("08:00"), at("09:00")).elements
    assert (el.pq, el.gq, el.sq) == (4, 3, 1)
    # A second batch adds to the minute rows already written.
    part(ctx.bus, M1, at("08:00") + 1)
    assert svc.oee(M1, at("08:00"), at("08:01")).elements.pq == 3


async def test_query_errors_name_the_parameter(running):
    _, svc = running
    for kwargs, param in (({"scope": "acme/nowhere"}, "scope"), ({"start_ms": "soon"}, "start"),
                          ({"end_ms": "2024-13-01"}, "end"),
                          ({"start_ms": at("10:00"), "end_ms": at("09:00")}, "end"),
                          ({"start_ms": 0, "end_ms": at("09:00")}, "start"),
                          ({"group_by": "week"}, "group_by")):
        with pytest.raises(OeeQueryError) as exc:
            svc.oee(**kwargs)
        assert exc.value.param == param and str(exc.value).startswith(f"{param}: ")
    with pytest.raises(OeeQueryError, match="^by: "):
        svc.pareto(by="shift")
    # Defaults: the last 8 h of the platform clock, ISO-8601 accepted.
    res = svc.oee()
    assert (res.scope, res.start, res.end) == ("acme", at("08:00"), at("16:00"))
    assert svc.oee("acme/s1/", "2024-05-01T00:00:00Z", "2024-05-01T08:00:00+00:00").start == at("08:00")
