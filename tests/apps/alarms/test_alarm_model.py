"""The pure parts: limit evaluation with deadband, the ISA-18.2 state machine, definitions, texts."""

from __future__ import annotations

import pytest
from tests.apps.alarms.alarm_helpers import LEVEL, M1, TEMP

from zhizao.apps.alarms.model import (
    Alarm,
    AlarmConflict,
    AlarmDefinition,
    AlarmState,
    definitions_from_plant,
    down_priority,
    evaluate_limit,
    reason_text,
)
from zhizao.assets.loader import load_demo_plant
from zhizao.assets.model import Plant

S = AlarmState


def run(kind: str, limit: float, deadband: float, values: list[float]) -> list[bool]:
    active, out = False, []
    for v in values:
        active = evaluate_limit(kind, limit, deadband, active, v)
        out.append(active)
    return out


@pytest.mark.parametrize("kind", ["hi", "hihi"])
def test_high_limits_activate_above_and_clear_below_the_deadband(kind: str) -> None:
    # 75 is not above 75; 75.1 is; the alarm holds down to 73 (75 - 2) and clears below it.
    assert run(kind, 75, 2, [74, 75, 75.1, 74, 73.5, 73, 72.9, 74.9, 75.01]) == [
        False, False, True, True, True, True, False, False, True]


@pytest.mark.parametrize("kind", ["lo", "lolo"])
def test_low_limits_activate_below_and_clear_above_the_deadband(kind: str) -> None:
    assert run(kind, 2, 0.2, [2.5, 2, 1.99, 2.1, 2.2, 2.21, 2.0, 1.9]) == [
        False, False, True, True, True, False, False, True]


def test_chatter_inside_the_deadband_does_not_toggle() -> None:
    values = [76] + [74, 76, 73.5, 75.5, 74.2, 76.4] * 10
    assert run("hi", 75, 2, values) == [True] * len(values)
    assert run("lo", 2, 0.2, [1.9] + [2.1, 1.95, 2.15] * 10) == [True] * 31


def test_zero_deadband() -> None:
    assert run("hi", 10, 0, [11, 10, 9.99]) == [True, True, False]


def definition(limit: str = "hi") -> AlarmDefinition:
    names = {"en": "Mill 1 Bearing temperature", "zh-CN": "铣床1 轴承温度"}
    eq_names = {"en": "Mill 1", "zh-CN": "铣床1"}
    return AlarmDefinition(TEMP, M1, limit, None if limit == "down" else 75.0, 2.0, "high", "°C", names,
                           eq_names)


def alarm(limit: str = "hi") -> Alarm:
    return Alarm(id=1, definition=definition(limit), priority="high")


def test_active_ack_clear_normal() -> None:
    a = alarm()
    tr = a.set_condition(True, 80.0, 1000)
    assert (tr.from_state, tr.to_state, tr.value, tr.occurrence) == (S.NORMAL, S.UNACK_ACTIVE, 80.0, 1)
    assert a.active_since == 1000 and a.value == 80.0
    tr = a.acknowledge("li", 2000, "checking")
    assert (tr.to_state, tr.username, tr.note) == (S.ACK_ACTIVE, "li", "checking")
    assert (a.acked_by, a.acked_at) == ("li", 2000)
    tr = a.set_condition(False, 70.0, 3000)
    assert (tr.from_state, tr.to_state, tr.value) == (S.ACK_ACTIVE, S.NORMAL, 70.0)
    assert a.cleared_at == 3000 and a.value == 80.0  # value at activation is kept


def test_active_clear_unack_rtn_ack_normal() -> None:
    a = alarm()
    a.set_condition(True, 80.0, 1000)
    assert a.set_condition(False, 70.0, 2000).to_state is S.UNACK_RTN
    tr = a.acknowledge("li", 3000)
    assert (tr.from_state, tr.to_state) == (S.UNACK_RTN, S.NORMAL)


def test_reactivation_while_unacked_keeps_the_occurrence_but_after_normal_starts_a_new_one() -> None:
    a = alarm()
    a.set_condition(True, 80.0, 1000)
    a.set_condition(False, 70.0, 2000)
    tr = a.set_condition(True, 81.0, 3000)
    assert (tr.from_state, tr.to_state, tr.occurrence) == (S.UNACK_RTN, S.UNACK_ACTIVE, 1)
    assert a.active_since == 3000 and a.value == 81.0
    a.acknowledge("li", 4000)
    a.set_condition(False, 70.0, 5000)
    tr = a.set_condition(True, 82.0, 6000)
    assert (tr.to_state, tr.occurrence) == (S.UNACK_ACTIVE, 2)
    assert a.acked_by is None and a.cleared_at is None


@pytest.mark.parametrize("state", [S.NORMAL, S.ACK_ACTIVE, S.SHELVED, S.OUT_OF_SERVICE])
def test_only_unacknowledged_alarms_can_be_acknowledged(state: AlarmState) -> None:
    a = alarm()
    a.state = state
    with pytest.raises(AlarmConflict, match="nothing to acknowledge"):
        a.acknowledge("li", 1000)
    assert a.state is state


def test_shelved_alarm_tracks_the_condition_silently_and_reannunciates_on_unshelve() -> None:
    a = alarm()
    tr = a.remove(S.SHELVED, "wang", 1000, 5000, "sensor being replaced")
    assert (tr.to_state, tr.username, tr.note) == (S.SHELVED, "wang", "sensor being replaced")
    assert a.set_condition(True, 80.0, 2000) is None and a.active and a.state is S.SHELVED
    assert not a.shelve_expired(4999) and a.shelve_expired(5000)
    tr = a.restore(S.SHELVED, None, 5000)
    assert (tr.from_state, tr.to_state, tr.value, tr.occurrence) == (S.SHELVED, S.UNACK_ACTIVE, 80.0, 1)
    assert a.shelved_until is None and a.shelved_by is None


def test_unshelve_of_a_cleared_alarm_goes_to_normal() -> None:
    a = alarm()
    a.set_condition(True, 80.0, 1000)
    a.remove(S.SHELVED, "wang", 2000, None, "known issue")
    a.set_condition(False, 70.0, 3000)
    tr = a.restore(S.SHELVED, "wang", 4000)
    assert (tr.to_state, tr.username) == (S.NORMAL, "wang")
    with pytest.raises(AlarmConflict, match="not shelved"):
        a.restore(S.SHELVED, "wang", 5000)


def test_out_of_service_blocks_shelving_until_returned() -> None:
    a = alarm()
    a.remove(S.OUT_OF_SERVICE, "wang", 1000, None, "transmitter broken")
    with pytest.raises(AlarmConflict, match="out of service"):
        a.remove(S.SHELVED, "wang", 2000, None, "x")
    with pytest.raises(AlarmConflict, match="not shelved"):
        a.restore(S.SHELVED, "wang", 2000)
    assert a.restore(S.OUT_OF_SERVICE, "wang", 3000).to_state is S.NORMAL


def test_superseded_while_the_more_severe_sibling_is_active() -> None:
    hi, hihi = alarm("hi"), Alarm(id=2, definition=definition("hihi"))
    hi.parent = hihi
    hi.set_condition(True, 95.0, 1000)
    assert not hi.superseded
    hihi.set_condition(True, 95.0, 1000)
    assert hi.superseded
    hihi.set_condition(False, 80.0, 2000)  # UNACK_RTN: no longer active
    assert not hi.superseded


def test_messages_in_both_languages() -> None:
    a = alarm()
    assert a.message("en") == a.title("en") == "Mill 1 Bearing temperature high"  # never activated
    a.set_condition(True, 77.25, 1000)
    assert a.message("en") == "Mill 1 Bearing temperature high: 77.25 °C > 75"
    assert a.message("zh-CN") == "铣床1 轴承温度高报警：77.25 °C > 75"
    down = alarm("down")
    down.set_condition(True, "failure.bearing", 1000)
    assert down.message("en") == "Mill 1 down: bearing failure"
    assert down.message("zh-CN") == "铣床1停机：轴承故障"
    assert reason_text("minor_stop", "en") == "minor stop"
    assert reason_text("failure.flux_capacitor", "en") == "flux_capacitor failure"


def test_down_priority() -> None:
    assert down_priority("failure.spindle") == "high"
    assert down_priority("minor_stop") == "low"
    assert down_priority(None) == "medium"


def test_definitions_one_per_limit_and_a_down_alarm_per_machine(plant: Plant) -> None:
    defs = {(d.tag, d.limit): d for d in definitions_from_plant(plant)}
    assert set(defs) == {
        (TEMP, "hi"), (TEMP, "hihi"), (f"{M1}/state", "down"),
        ("acme/s1/a1/l1/c1/m2/temperature", "hi"), ("acme/s1/a1/l1/c1/m2/temperature", "hihi"),
        ("acme/s1/a1/l1/c1/m2/state", "down"), (LEVEL, "lo"), (LEVEL, "lolo"),
    }
    d = defs[(LEVEL, "lolo")]
    assert (d.limit_value, d.deadband, d.priority, d.unit) == (1.0, 0.2, "urgent", "m")
    assert defs[(f"{M1}/state", "down")].equipment == M1


def test_demo_plant_definitions() -> None:
    defs = definitions_from_plant(load_demo_plant())
    kinds = {(d.tag.split("/", 5)[-1], d.limit) for d in defs}
    assert ("cnc1/temperature", "hihi") in kinds and ("insp1/bore_diameter", "lo") in kinds
    assert ("cnc1/state", "down") in kinds and not any(t.startswith("buf1/") for t, _ in kinds)
