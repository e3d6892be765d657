"""Shifts, breaks and plants other than the demo: any line with a flow runs."""

from __future__ import annotations

from tests.sim.sim_helpers import START_MS, record

from zhizao.assets import load_demo_plant, parse_plant
from zhizao.sim.calendar import ShiftCalendar

H = 3_600_000


def running_ms_within(events: list[dict], start: int, end: int) -> int:
    """Milliseconds a machine spent running inside [start, end)."""
    total = 0
    for event, following in zip(events, [*events[1:], None], strict=True):
        if event["state"] == "running":
            stop = following["ts"] if following else end
            total += max(0, min(stop, end) - max(event["ts"], start))
    return total


def test_breaks_and_unscheduled_time_follow_the_shifts():
    plant = load_demo_plant()
    plant.shifts = plant.shifts[:2]  # 08:00-16:00 and 16:00-24:00 Shanghai; nights off
    rec = record(plant, hours=26, sample_period_s=60)
    night = (START_MS + 16 * H, START_MS + 24 * H)
    day_break = (START_MS + 3 * H + 45 * 60_000, START_MS + 4 * H + 15 * 60_000)  # mid-shift, 30 min
    for eq in ("cnc1", "mc1", "pack1"):
        events = rec.state_events(eq)
        # Off at the end of the shift, or once a repair running over the shift end is done.
        assert any(e["state"] == "off" and e["reason"] == "not_scheduled"
                   and night[0] <= e["ts"] < night[0] + H for e in events)
        assert any(e["reason"] == "break" and day_break[0] <= e["ts"] < day_break[0] + 5 * 60_000
                   for e in events)
        # A cycle under way is finished, nothing new is started.
        assert running_ms_within(events, *night) < 5 * 60_000
        assert running_ms_within(events, *day_break) < 5 * 60_000
        assert running_ms_within(events, night[1], night[1] + 2 * H) > 0  # back at work in the morning


def test_a_plant_without_shifts_works_around_the_clock():
    plant = load_demo_plant()
    plant.shifts = []
    rec = record(plant, hours=12, sample_period_s=60)
    reasons = {e["reason"] for e in rec.events["state"]}
    assert "break" not in reasons and "not_scheduled" not in reasons


def test_shift_calendar_statuses_and_changes():
    plant = load_demo_plant()
    calendar = ShiftCalendar(plant.shifts[:2], "Asia/Shanghai")
    assert calendar.status_at(START_MS) == "work"  # 08:00
    assert calendar.status_at(START_MS + 4 * H) == "break"  # 12:00
    assert calendar.status_at(START_MS + 17 * H) == "off"  # 01:00
    assert calendar.next_change(START_MS) == START_MS + 3 * H + 45 * 60_000
    assert calendar.next_change(START_MS + 16 * H) == START_MS + 24 * H  # off until 08:00
    assert ShiftCalendar([], "UTC").next_change(START_MS) is None


GENERIC = """
enterprise:
  id: acme
  sites:
    - id: s1
      timezone: Europe/Berlin
      areas:
        - id: a1
          lines:
            - id: l1
              flow: [infeed, press1, weld1, outfeed]
              cells:
                - id: c1
                  equipment:
                    - {id: infeed, kind: buffer, capacity: 5, tags: [{id: level, data_type: int}]}
                    - id: press1
                      kind: press
                      ideal_cycle_s: 20
                      tags:
                        - {id: state, data_type: string}
                        - {id: part_count, data_type: int}
                        - {id: power}
                        - {id: energy}
                        - {id: oil_pressure}
                    - id: weld1
                      kind: welding
                      ideal_cycle_s: 30
                      rated_power_kw: 40
                      tags:
                        - {id: good_count, data_type: int}
                        - {id: scrap_count, data_type: int}
                        - {id: temperature}
                    - {id: outfeed, kind: buffer, capacity: 3, tags: [{id: level, data_type: int}]}
products:
  - {id: bracket}
  - {id: hinge, family: hinges}
"""


def test_any_line_with_a_flow_runs_and_only_known_tags_are_published():
    plant = parse_plant(GENERIC)
    rec = record(plant, hours=12, sample_period_s=30)
    published = {topic for topic in rec.values}
    prefix = "acme/s1/a1/l1/c1"
    assert published == {
        f"{prefix}/infeed/level", f"{prefix}/press1/state", f"{prefix}/press1/part_count",
        f"{prefix}/press1/power", f"{prefix}/press1/energy", f"{prefix}/weld1/good_count",
        f"{prefix}/weld1/scrap_count", f"{prefix}/weld1/temperature", f"{prefix}/outfeed/level",
    }  # oil_pressure is not the simulator's: left alone
    assert max(v for _, v in rec.values[f"{prefix}/infeed/level"]) <= 5
    assert max(v for _, v in rec.values[f"{prefix}/outfeed/level"]) <= 3
    welded = [p for p in rec.events["part"] if p["equipment"].endswith("/weld1")]
    assert len(welded) > 500  # 30 s cycle, 24/7
    assert sum(o["status"] == "completed" for o in rec.events["order"]) >= 5
    assert {e["reason"] for e in rec.events["state"]} >= {"producing", "starved", "blocked"}


def test_a_line_without_orders_waits_for_them():
    plant = parse_plant(GENERIC.split("products:")[0])
    rec = record(plant, hours=2, sample_period_s=60)
    machines = rec.sim.status()["lines"][0]["machines"]
    assert [(m["state"], m["reason"]) for m in machines] == [("idle", "no_order")] * 2
    assert not rec.events["order"] and not rec.events["part"]
