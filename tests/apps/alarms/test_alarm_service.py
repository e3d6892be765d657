"""AlarmService on a real Bus and a real SQLite Database, with a FixedClock."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from tests.apps.alarms.alarm_helpers import LEVEL, M1, M2, T0, TEMP, TEMP2, advance, publish

from zhizao.apps.alarms.model import AlarmConflict, AlarmEventRow, AlarmInputError, AlarmNotFound, AlarmRow
from zhizao.apps.alarms.service import AlarmService
from zhizao.core.context import Context


def find(svc: AlarmService, tag: str, limit: str):
    return next(a for a in svc.list(state="all") if a.definition.tag == tag and a.definition.limit == limit)


def states(svc: AlarmService) -> dict[tuple[str, str], str]:
    return {(a.definition.tag, a.definition.limit): a.state.value for a in svc.list(state="all")}


async def test_values_drive_the_lifecycle_and_every_transition_is_published(ctx: Context,
                                                                            service: AlarmService) -> None:
    events = ctx.bus.subscribe("_events/alarm/#")
    publish(ctx, TEMP, 70.0)
    publish(ctx, TEMP, 80.5, ts=T0 + 1000)
    hi = find(service, TEMP, "hi")
    assert hi.state == "unack_active" and hi.value == 80.5 and hi.active_since == T0 + 1000
    assert find(service, TEMP, "hihi").state == "normal"

    [msg] = events.drain()
    assert msg.topic == f"_events/alarm/{TEMP}"
    assert msg.payload == {
        "ts": T0 + 1000, "id": hi.id, "tag": TEMP, "state": "unack_active", "previous": "normal",
        "limit": "hi", "value": 80.5, "priority": "high",
        "message": "Mill 1 Bearing temperature high: 80.5 °C > 75", "occurrence": 1, "user": None,
    }

    advance(ctx, 1500)
    acked = await service.ack(hi.id, "li", "going to look")
    assert acked.state == "ack_active" and acked.acked_by == "li" and acked.acked_at == T0 + 1500
    publish(ctx, TEMP, 72.0, ts=T0 + 2000)  # back inside by more than the 2 °C deadband
    assert hi.state == "normal"
    assert [(m.payload["previous"], m.payload["state"], m.payload["user"]) for m in events.drain()] == [
        ("unack_active", "ack_active", "li"), ("ack_active", "normal", None)]

    history = await service.history(hi.id)
    assert [(h.from_state, h.to_state, h.username, h.note, h.value) for h in reversed(history)] == [
        ("normal", "unack_active", None, None, 80.5),
        ("unack_active", "ack_active", "li", "going to look", 80.5),
        ("ack_active", "normal", None, None, 72.0),
    ]
    assert {h.occurrence for h in history} == {1}


async def test_clear_before_ack_needs_an_ack_to_return_to_normal(ctx: Context, service: AlarmService) -> None:
    publish(ctx, LEVEL, 1.5)
    lo = find(service, LEVEL, "lo")
    assert lo.state == "unack_active" and lo.priority == "urgent"
    publish(ctx, LEVEL, 2.1)  # inside the 0.2 deadband: still active
    assert lo.state == "unack_active"
    publish(ctx, LEVEL, 2.3)
    assert lo.state == "unack_rtn"
    await service.ack(lo.id, "li")
    assert lo.state == "normal"
    with pytest.raises(AlarmConflict, match=f"alarm {lo.id} is in state 'normal': there is nothing to ack"):
        await service.ack(lo.id, "li")


async def test_hihi_and_lolo_and_superseding(ctx: Context, service: AlarmService) -> None:
    publish(ctx, TEMP, 95.0)
    hi, hihi = find(service, TEMP, "hi"), find(service, TEMP, "hihi")
    assert hi.state == hihi.state == "unack_active"
    assert hi.superseded and not hihi.superseded
    assert service.list()[:2] == [hihi, hi]
    summary = service.summary()
    assert summary["unacked"] == 1 and summary["by_priority"]["high"] == 1  # hi is under hihi
    publish(ctx, TEMP, 87.9)  # below hihi - deadband, still above hi
    assert hihi.state == "unack_rtn" and hi.state == "unack_active" and not hi.superseded
    assert service.summary()["unacked"] == 2

    publish(ctx, LEVEL, 0.5)
    assert find(service, LEVEL, "lolo").state == "unack_active" and find(service, LEVEL, "lo").superseded


async def test_chatter_around_a_limit_raises_one_alarm(ctx: Context, service: AlarmService) -> None:
    events = ctx.bus.subscribe("_events/alarm/#")
    for i, v in enumerate([75.5, 74.0, 75.8, 73.2, 76.0, 74.5] * 20):
        publish(ctx, TEMP, v, ts=T0 + i)
    assert len(events.drain()) == 1
    assert len(await service.history(find(service, TEMP, "hi").id)) == 1


async def test_bad_quality_non_numeric_and_old_values_do_not_change_state(ctx: Context,
                                                                          service: AlarmService) -> None:
    publish(ctx, TEMP, 99.0, q="bad")
    publish(ctx, TEMP, "hot")
    publish(ctx, TEMP, True)
    publish(ctx, TEMP, float("nan"))
    ctx.bus.publish(TEMP, ["not a point"])
    assert find(service, TEMP, "hi").state == "normal"
    publish(ctx, TEMP, 80.0, ts=T0 + 10)
    publish(ctx, TEMP, 60.0, ts=T0 + 5)  # older than the last value: replayed data
    publish(ctx, TEMP, 76.0, q="uncertain", ts=T0 + 20)  # uncertain values are still evaluated
    assert find(service, TEMP, "hi").state == "unack_active"
    assert service.summary()["rejected"] == {
        "bad_quality": 1, "non_numeric": 3, "out_of_order": 1, "malformed": 1, "unknown_equipment": 0}


async def test_a_point_from_a_clock_far_ahead_does_not_hold_back_later_points(ctx: Context,
                                                                             service: AlarmService) -> None:
    publish(ctx, TEMP, 80.0, ts=T0 + 86_400_000)
    publish(ctx, TEMP, 60.0, ts=T0)
    assert find(service, TEMP, "hi").state == "unack_rtn"


async def test_arrays_of_points_are_evaluated_in_order(ctx: Context, service: AlarmService) -> None:
    ctx.bus.publish(TEMP, [{"ts": T0, "v": 80.0}, {"ts": T0 + 1, "v": 60.0}])
    assert find(service, TEMP, "hi").state == "unack_rtn"


async def test_shelving_suppresses_activation_and_expires_by_the_clock(ctx: Context,
                                                                       service: AlarmService) -> None:
    hi = find(service, TEMP, "hi")
    events = ctx.bus.subscribe("_events/alarm/#")
    await service.shelve(hi.id, "wang", T0 + 60_000, "sensor being replaced")
    assert (hi.state, hi.shelved_by, hi.shelved_at, hi.shelved_until, hi.shelve_reason) == (
        "shelved", "wang", T0, T0 + 60_000, "sensor being replaced")
    publish(ctx, TEMP, 80.0)
    assert hi.state == "shelved" and hi.active  # the condition is tracked, not annunciated
    assert [m.payload["state"] for m in events.drain()] == ["shelved"]
    assert service.list() == [] and [a.id for a in service.list("shelved")] == [hi.id]

    advance(ctx, 59_999)
    assert service.list("shelved")
    advance(ctx, 1)
    assert [a.id for a in service.list()] == [hi.id]  # expired: back in service, still active
    assert hi.state == "unack_active" and hi.value == 80.0 and hi.shelved_until is None
    [expired] = events.drain()
    assert (expired.payload["previous"], expired.payload["user"], expired.payload["ts"]) == (
        "shelved", None, T0 + 60_000)


async def test_shelve_expiry_is_also_noticed_on_new_values(ctx: Context, service: AlarmService) -> None:
    hi = find(service, TEMP, "hi")
    await service.shelve(hi.id, "wang", T0 + 1000, "noisy")
    advance(ctx, 1000)
    publish(ctx, TEMP, 50.0)
    assert hi.state == "normal"


async def test_unshelve_and_shelve_rules(ctx: Context, service: AlarmService) -> None:
    hi = find(service, TEMP, "hi")
    publish(ctx, TEMP, 80.0)
    await service.shelve(hi.id, "wang", None, "known issue")
    publish(ctx, TEMP, 60.0)
    assert hi.state == "shelved" and not hi.active
    await service.unshelve(hi.id, "wang")
    assert hi.state == "normal"
    with pytest.raises(AlarmConflict, match="not shelved"):
        await service.unshelve(hi.id, "wang")
    with pytest.raises(AlarmInputError, match="until: .* is not in the future"):
        await service.shelve(hi.id, "wang", T0, "x")
    with pytest.raises(AlarmInputError, match="reason: a reason is required"):
        await service.shelve(hi.id, "wang", None, "  ")
    with pytest.raises(AlarmNotFound, match="alarm 424242 not found"):
        await service.ack(424242, "li")


async def test_out_of_service(ctx: Context, service: AlarmService) -> None:
    hi = find(service, TEMP, "hi")
    await service.remove_from_service(hi.id, "wang", "transmitter broken")
    publish(ctx, TEMP, 80.0)
    assert hi.state == "out_of_service" and service.summary()["out_of_service"] == 1
    with pytest.raises(AlarmConflict, match="out of service"):
        await service.shelve(hi.id, "wang", None, "x")
    await service.return_to_service(hi.id, "wang")
    assert hi.state == "unack_active"


async def test_machine_down_is_a_discrete_alarm(ctx: Context, service: AlarmService) -> None:
    events = ctx.bus.subscribe("_events/alarm/#")
    ctx.bus.publish(f"_events/state/{M1}", {"ts": T0 + 5, "equipment": M1, "state": "down",
                                             "previous": "running", "reason": "failure.bearing"})
    down = find(service, f"{M1}/state", "down")
    assert (down.state, down.value, down.priority, down.active_since) == (
        "unack_active", "failure.bearing", "high", T0 + 5)
    assert down.message("en") == "Mill 1 down: bearing failure"
    [msg] = events.drain()
    assert msg.topic == f"_events/alarm/{M1}/state" and msg.payload["limit"] == "down"

    ctx.bus.publish(f"_events/state/{M1}", {"ts": T0 + 7, "equipment": M1, "state": "down",
                                             "previous": "down", "reason": "failure.spindle"})
    assert (down.state, down.occurrence) == ("unack_active", 1)
    assert down.message("en") == "Mill 1 down: spindle failure"
    ctx.bus.publish(f"_events/state/{M1}", {"ts": T0 + 9, "equipment": M1, "state": "maintenance",
                                             "previous": "down", "reason": "corrective"})
    assert down.state == "unack_rtn" and down.cleared_at == T0 + 9

    ctx.bus.publish(f"_events/state/{M2}", {"ts": T0, "equipment": M2, "state": "down",
                                             "previous": "running", "reason": "minor_stop"})
    assert find(service, f"{M2}/state", "down").priority == "low"
    ctx.bus.publish("_events/state/acme/nowhere", {"ts": T0, "equipment": "acme/nowhere", "state": "down"})
    assert service.summary()["rejected"]["unknown_equipment"] == 1


async def test_list_filters_scope_and_order(ctx: Context, service: AlarmService) -> None:
    publish(ctx, TEMP, 80.0, ts=T0)
    publish(ctx, TEMP2, 80.0, ts=T0 + 10)
    publish(ctx, LEVEL, 1.5, ts=T0 + 20)
    temp2 = find(service, TEMP2, "hi")
    await service.ack(temp2.id, "li")
    order = [(a.definition.tag, a.state.value) for a in service.list()]
    # Unacknowledged first, by priority (urgent before high), then acknowledged.
    assert order == [(LEVEL, "unack_active"), (TEMP, "unack_active"), (TEMP2, "ack_active")]
    assert [a.definition.tag for a in service.list("unacked")] == [LEVEL, TEMP]
    assert [a.definition.tag for a in service.list(scope=M2)] == [TEMP2]
    assert service.list(scope=M1 + "/") == service.list(scope=M1)
    assert service.list(scope="acme/s1/a1/l1/c") == []  # a prefix of whole levels, not of characters
    assert len(service.list("all")) == 8 and len(service.list("all", limit=3)) == 3
    assert [a.id for a in service.list("ack_active")] == [temp2.id]
    with pytest.raises(AlarmInputError, match="state: 'bogus' is not one of"):
        service.list("bogus")


async def test_history_time_window_and_all_alarms(ctx: Context, service: AlarmService) -> None:
    publish(ctx, TEMP, 80.0, ts=T0 + 100)
    publish(ctx, LEVEL, 1.5, ts=T0 + 200)
    everything = await service.history()
    assert [(h.tag, h.limit, h.ts) for h in everything] == [(LEVEL, "lo", T0 + 200), (TEMP, "hi", T0 + 100)]
    assert [h.tag for h in await service.history(start=T0 + 150)] == [LEVEL]
    assert [h.tag for h in await service.history(end=T0 + 200)] == [TEMP]


async def test_state_and_history_survive_a_restart(make_ctx: Callable[[], Context]) -> None:
    ctx = make_ctx()
    svc = AlarmService(ctx, tick_s=3600)
    await svc.start()
    hi_id = find(svc, TEMP, "hi").id
    ids = {(a.definition.tag, a.definition.limit): a.id for a in svc.list("all")}
    publish(ctx, TEMP, 80.0)
    await svc.ack(hi_id, "li", "noted")
    publish(ctx, LEVEL, 1.5)
    lo_id = find(svc, LEVEL, "lo").id
    await svc.shelve(find(svc, TEMP2, "hi").id, "wang", T0 + 5000, "noisy")
    before = states(svc)
    await svc.stop()
    ctx.db.close()

    ctx2 = make_ctx()
    with ctx2.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AlarmRow)) == 8
        assert s.scalar(select(func.count()).select_from(AlarmEventRow)) == 4
    svc2 = AlarmService(ctx2, tick_s=3600)
    await svc2.start()
    try:
        assert {(a.definition.tag, a.definition.limit): a.id for a in svc2.list("all")} == ids
        assert states(svc2) == before
        hi = svc2.get(hi_id)
        assert (hi.acked_by, hi.value, hi.occurrence, hi.active) == ("li", 80.0, 1, True)
        assert svc2.get(lo_id).message("en") == "tank level low: 1.5 m < 2"
        # The restored condition carries on: clearing now returns to normal (it was acknowledged).
        publish(ctx2, TEMP, 60.0)
        assert hi.state == "normal"
        assert [h.to_state for h in await svc2.history(hi_id)] == ["normal", "ack_active", "unack_active"]
        # A shelve that expires while the platform is down returns to service on start.
        await svc2.stop()
        advance(ctx2, 5000)
        svc2 = AlarmService(ctx2, tick_s=3600)
        await svc2.start()
        assert find(svc2, TEMP2, "hi").state == "normal"
    finally:
        await svc2.stop()
        ctx2.db.close()


async def test_stop_unsubscribes(ctx: Context, service: AlarmService) -> None:
    await service.stop()
    publish(ctx, TEMP, 80.0)
    assert find(service, TEMP, "hi").state == "normal"
