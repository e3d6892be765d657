"""OEE arithmetic (ISO 22400-2) against cases computed by hand."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from zhizao.apps.oee.calc import Interval, ShiftSchedule, calendar_windows, combine, equipment_elements, kpis
from zhizao.assets.model import Shift

TZ = "Asia/Shanghai"
MIN = 60_000


def at(hhmm: str, day: int = 1) -> int:
    """Epoch ms of 2024-05-<day> hh:mm in Shanghai."""
    h, m = map(int, hhmm.split(":"))
    return int(datetime(2024, 5, day, h, m, tzinfo=ZoneInfo(TZ)).timestamp() * 1000)


def run(*spans: tuple[str, str | None, str, str]) -> list[Interval]:
    """Intervals from (state, reason, start hh:mm, end hh:mm) on 2024-05-01."""
    return [Interval(state, reason, at(s), at(e)) for state, reason, s, e in spans]


THREE_SHIFTS = [Shift(id="a", start="08:00", end="16:00", breaks_min=30),
                Shift(id="b", start="16:00", end="00:00"), Shift(id="c", start="00:00", end="08:00")]


def schedule(start: int, end: int, shifts=THREE_SHIFTS) -> ShiftSchedule:
    return ShiftSchedule.build(shifts, TZ, start, end)


def test_case_1_day_shift():
    # 8 h shift 08:00-16:00 = 480 min. Break 30 min, breakdown 45 min, changeover 15 min,
    # running the other 390 min. 360 parts at an ideal 60 s each, 8 of them scrap.
    #   POT = 480, PDT = 30, PBT = 450, ADOT = 45 + 15 = 60, APT = 390
    #   A = 390 / 450 = 0.8667
    #   E = 360 x 1 min / 390 min = 0.9231
    #   Q = 352 / 360 = 0.9778
    #   OEE = 0.8667 x 0.9231 x 0.9778 = 352 x 1 min / 450 min = 0.7822
    ivs = run(("running", "producing", "08:00", "10:00"), ("idle", "break", "10:00", "10:30"),
              ("running", "producing", "10:30", "12:00"), ("down", "failure.bearing", "12:00", "12:45"),
              ("running", "producing", "12:45", "14:00"), ("setup", "changeover", "14:00", "14:15"),
              ("running", "producing", "14:15", "16:00"))
    start, end = at("08:00"), at("16:00")
    el = equipment_elements(ivs, start, end, now_ms=end, schedule=schedule(start, end),
                            produced=360, good=352, pri_s=60)
    assert (el.pot_ms, el.pdt_ms, el.pbt_ms, el.apt_ms, el.adot_ms) == (480 * MIN, 30 * MIN, 450 * MIN,
                                                                          390 * MIN, 60 * MIN)
    assert (el.down_ms, el.setup_ms, el.delay_ms, el.no_data_ms) == (45 * MIN, 15 * MIN, 0, 0)
    assert (el.pq, el.gq, el.sq) == (360, 352, 8)
    k = kpis(el)
    assert k.availability == pytest.approx(390 / 450)
    assert k.effectiveness == pytest.approx(360 / 390)
    assert k.quality == pytest.approx(352 / 360)
    assert k.oee == pytest.approx(352 / 450)
    assert k.oee == pytest.approx(0.7822, abs=1e-4)


def test_case_1b_effectiveness_above_one_is_not_clamped():
    # Same shift with 400 parts at 60 s: the ideal time 400 min exceeds APT 390 min,
    # so E = 400/390 = 1.0256 (the ideal cycle is set too long); Q = 392/400 = 0.98,
    # OEE = 0.8667 x 1.0256 x 0.98 = 392 / 450 = 0.8711.
    ivs = run(("running", None, "08:00", "10:00"), ("idle", "break", "10:00", "10:30"),
              ("running", None, "10:30", "12:00"), ("down", "failure.tool", "12:00", "12:45"),
              ("running", None, "12:45", "14:00"), ("setup", "changeover", "14:00", "14:15"),
              ("running", None, "14:15", "16:00"))
    start, end = at("08:00"), at("16:00")
    k = kpis(equipment_elements(ivs, start, end, now_ms=end, schedule=schedule(start, end),
                                produced=400, good=392, pri_s=60))
    assert k.effectiveness == pytest.approx(400 / 390)
    assert k.oee == pytest.approx(392 / 450)


def test_case_2_night_shift_with_off_maintenance_and_waiting():
    # Night shift 00:00-08:00 = 480 min:
    #   off (not scheduled) 60, planned maintenance 60, corrective maintenance 30,
    #   starved 20, blocked 10, minor stop 5, running 295 (sum 480).
    #   POT = 480 - 60 (off) = 420; PDT = 60; PBT = 360
    #   ADOT = down (30 + 5) + delay (20 + 10) = 65; APT = 295 (PBT = APT + ADOT)
    # 380 parts at 45 s ideal (285 min), 19 scrap:
    #   A = 295/360 = 0.8194, E = 285/295 = 0.9661, Q = 361/380 = 0.95
    #   OEE = 361 x 0.75 min / 360 min = 0.7521
    ivs = run(("off", "not_scheduled", "00:00", "01:00"), ("maintenance", "planned", "01:00", "02:00"),
              ("running", "producing", "02:00", "04:00"), ("maintenance", "corrective", "04:00", "04:30"),
              ("idle", "starved", "04:30", "04:50"), ("running", "producing", "04:50", "06:00"),
              ("idle", "blocked", "06:00", "06:10"), ("down", "minor_stop", "06:10", "06:15"),
              ("running", "producing", "06:15", "08:00"))
    start, end = at("00:00"), at("08:00")
    el = equipment_elements(ivs, start, end, now_ms=end, schedule=schedule(start, end),
                            produced=380, good=361, pri_s=45)
    assert el.off_ms == 60 * MIN
    assert (el.pot_ms, el.pdt_ms, el.pbt_ms) == (420 * MIN, 60 * MIN, 360 * MIN)
    assert (el.apt_ms, el.adot_ms, el.down_ms, el.delay_ms) == (295 * MIN, 65 * MIN, 35 * MIN, 30 * MIN)
    k = kpis(el)
    assert k.availability == pytest.approx(295 / 360)
    assert k.effectiveness == pytest.approx(285 / 295)
    assert k.quality == pytest.approx(0.95)
    assert k.oee == pytest.approx(270.75 / 360)


def test_case_3_aggregation_sums_times_and_quantities():
    # Two machines on one shift (480 min, 30 min break each):
    #   M1: APT 390, down 60 -> PBT 450; 360 parts at 60 s (ideal 360 min), 352 good
    #   M2: APT 300, down 150 -> PBT 450; 350 parts at 45 s (ideal 262.5 min), 345 good
    # Sums: PBT 900, APT 690, ideal 622.5 min, PQ 710, GQ 697
    #   A = 690/900 = 0.7667, E = 622.5/690 = 0.9022, Q = 697/710 = 0.9817
    #   OEE = A x E x Q = 622.5/900 x 697/710 = 0.6790
    start, end = at("08:00"), at("16:00")
    sched = schedule(start, end)
    m1_ivs = run(("running", None, "08:00", "12:00"), ("idle", "break", "12:00", "12:30"),
                 ("down", "failure.spindle", "12:30", "13:30"), ("running", None, "13:30", "16:00"))
    m2_ivs = run(("running", None, "08:00", "10:00"), ("idle", "break", "10:00", "10:30"),
                 ("down", "failure.electrical", "10:30", "13:00"), ("running", None, "13:00", "16:00"))
    m1 = equipment_elements(m1_ivs, start, end, now_ms=end, schedule=sched, produced=360, good=352, pri_s=60)
    m2 = equipment_elements(m2_ivs, start, end, now_ms=end, schedule=sched, produced=350, good=345, pri_s=45)
    total = combine([m1, m2], end - start)
    assert (total.pbt_ms, total.apt_ms, total.pq, total.gq, total.equipment_count) == (900 * MIN, 690 * MIN,
                                                                                        710, 697, 2)
    assert total.ideal_ms == pytest.approx(622.5 * MIN)
    assert total.pri_s is None and total.period_ms == 480 * MIN
    k = kpis(total)
    assert k.availability == pytest.approx(690 / 900)
    assert k.effectiveness == pytest.approx(622.5 / 690)
    assert k.quality == pytest.approx(697 / 710)
    assert k.oee == pytest.approx(0.6790, abs=1e-4)
    # One machine without an ideal cycle time leaves the sum's effectiveness unknown.
    m3 = equipment_elements([], start, end, now_ms=end, schedule=sched, produced=10, good=10)
    assert kpis(combine([m1, m3], end - start)).effectiveness is None


def test_zero_denominators_give_none_or_zero():
    start, end = at("08:00"), at("16:00")
    sched = schedule(start, end)
    # Nothing known: every KPI undefined, the whole shift is "no data".
    empty = equipment_elements([], start, end, now_ms=end, schedule=sched, pri_s=60)
    assert empty.no_data_ms == 480 * MIN and empty.pot_ms == 0
    assert kpis(empty).availability is None and kpis(empty).oee is None
    # Down the whole shift: A = 0 makes OEE 0 although E and Q are undefined.
    down = kpis(equipment_elements(run(("down", "failure.bearing", "08:00", "16:00")), start, end,
                                   now_ms=end, schedule=sched, pri_s=60))
    assert (down.availability, down.effectiveness, down.quality, down.oee) == (0.0, None, None, 0.0)
    # Ran but made nothing: E = 0, Q undefined, OEE 0.
    idle_run = kpis(equipment_elements(run(("running", None, "08:00", "16:00")), start, end,
                                       now_ms=end, schedule=sched, pri_s=60))
    assert (idle_run.availability, idle_run.effectiveness) == (1.0, 0.0)
    assert idle_run.quality is None and idle_run.oee == 0.0
    # No ideal cycle time: E and OEE undefined.
    no_pri = kpis(equipment_elements(run(("running", None, "08:00", "16:00")), start, end,
                                     now_ms=end, schedule=sched, produced=100, good=100))
    assert no_pri.effectiveness is None and no_pri.oee is None and no_pri.quality == 1.0
    # Everything scrapped: Q = 0, OEE 0.
    scrap = kpis(equipment_elements(run(("running", None, "08:00", "16:00")), start, end,
                                    now_ms=end, schedule=sched, produced=100, good=0, pri_s=60))
    assert scrap.quality == 0.0 and scrap.oee == 0.0
    # Only planned downtime: PBT = 0.
    brk = kpis(equipment_elements(run(("idle", "break", "08:00", "16:00")), start, end, now_ms=end,
                                  schedule=sched, pri_s=60))
    assert brk.availability is None and brk.oee is None
    assert kpis(combine([], end - start)).oee is None


def test_interval_split_at_shift_boundary_and_midnight():
    start, end = at("00:00"), at("00:00", day=3)
    sched = schedule(start, end)
    # 15:00-17:00 crosses the a/b boundary at 16:00.
    assert sched.split(at("15:00"), at("17:00")) == [("a", at("15:00"), at("16:00")),
                                                      ("b", at("16:00"), at("17:00"))]
    # 23:00-01:00 crosses midnight and the b/c boundary there.
    assert sched.split(at("23:00"), at("01:00", day=2)) == [("b", at("23:00"), at("00:00", day=2)),
                                                            ("c", at("00:00", day=2), at("01:00", day=2))]
    # A running interval 15:00-01:00 in OEE terms: 60 min in a, 8 h in b, 60 min in c.
    iv = [Interval("running", None, at("15:00"), at("01:00", day=2))]
    for s, e, apt in ((at("08:00"), at("16:00"), 60), (at("16:00"), at("00:00", day=2), 480),
                      (at("00:00", day=2), at("08:00", day=2), 60)):
        assert equipment_elements(iv, s, e, now_ms=end, schedule=sched).apt_ms == apt * MIN


def test_shift_crossing_midnight_with_unscheduled_gap():
    # Day 06:00-14:00 and night 22:00-06:00; 14:00-22:00 is not scheduled.
    shifts = [Shift(id="day", start="06:00", end="14:00"), Shift(id="night", start="22:00", end="06:00")]
    sched = schedule(at("00:00"), at("00:00", day=3), shifts)
    night = [w for w in sched.windows if w.shift == "night" and w.start_ms == at("22:00")][0]
    assert night.end_ms == at("06:00", day=2) and night.label == "2024-05-01 night"
    assert sched.split(at("21:00"), at("07:00", day=2)) == [
        (None, at("21:00"), at("22:00")), ("night", at("22:00"), at("06:00", day=2)),
        ("day", at("06:00", day=2), at("07:00", day=2))]
    assert sched.shift_at(at("23:59")) == "night" and sched.shift_at(at("15:00")) is None
    assert sched.scheduled_ms(at("12:00"), at("23:00")) == 3 * 60 * MIN
    # Outside shifts: running counts (APT and POT), idle does not.
    ivs = run(("running", None, "12:00", "15:00"), ("idle", "no_order", "15:00", "23:00"))
    el = equipment_elements(ivs, at("12:00"), at("23:00"), now_ms=at("23:00"), schedule=sched)
    assert el.apt_ms == 3 * 60 * MIN  # 2 h in the day shift + 1 h after it
    assert el.unscheduled_ms == 7 * 60 * MIN and el.delay_ms == 60 * MIN
    assert el.pot_ms == 4 * 60 * MIN and el.no_data_ms == 0


def test_overlapping_shift_definitions_do_not_double_count():
    shifts = [Shift(id="x", start="08:00", end="17:00"), Shift(id="y", start="16:00", end="00:00")]
    sched = schedule(at("08:00"), at("23:00"), shifts)
    assert sched.split(at("15:00"), at("18:00")) == [("x", at("15:00"), at("17:00")),
                                                      ("y", at("17:00"), at("18:00"))]


def test_open_interval_lasts_until_now_and_no_shifts_means_always_scheduled():
    ivs = [Interval("running", None, at("08:00"), None)]
    el = equipment_elements(ivs, at("08:00"), at("16:00"), now_ms=at("10:00"))
    assert el.apt_ms == 120 * MIN and el.no_data_ms == 360 * MIN  # 10:00-16:00 is still to come


def test_calendar_windows_are_local():
    hours = calendar_windows("hour", TZ, at("08:30"), at("11:00"))
    assert [h[0] for h in hours] == ["2024-05-01T08:00+08:00", "2024-05-01T09:00+08:00",
                                     "2024-05-01T10:00+08:00"]
    assert hours[0][1:] == (at("08:30"), at("09:00"))
    days = calendar_windows("day", TZ, at("20:00"), at("02:00", day=3))
    assert [(d[0], d[1], d[2]) for d in days] == [("2024-05-01", at("20:00"), at("00:00", day=2)),
                                                   ("2024-05-02", at("00:00", day=2), at("00:00", day=3)),
                                                   ("2024-05-03", at("00:00", day=3), at("02:00", day=3))]
