"""OEE arithmetic after ISO 22400-2, pure (no I/O) so that it can be checked by hand.

Where each state period goes (``zhizao.apps.oee.model.category``):

- running (``producing``): APT, actual production time.
- idle ``break`` and maintenance ``planned``: PDT, planned downtime.
- down (``failure.<mode>``, ``minor_stop``) and maintenance ``corrective`` (or
  without a reason): ADOT, shown as ``down_ms``.
- setup (``changeover``): ADOT, shown as ``setup_ms``.
- idle ``starved``, ``blocked``, ``no_order`` or without a reason: a loss
  inside PBT, ADOT, shown as ``delay_ms``.
- off (``not_scheduled``): outside POT, shown as ``off_ms``.

- POT (planned operation time) = time inside the plant's shifts that is not
  ``off`` and has a known state, plus running time outside shifts (production
  that happens is treated as planned, so that its parts are matched by time).
  Other time outside shifts is ``unscheduled_ms``; time inside shifts with no
  recorded state is ``no_data_ms``; neither is part of POT. A plant without
  shifts is scheduled around the clock.
- PDT comes from the recorded ``idle/break`` and ``maintenance/planned``
  periods; a shift's ``breaks_min`` is not subtracted again, as the machines
  (or the simulator) report breaks as such.
- PBT = POT - PDT = APT + ADOT. ADOT here is every unplanned loss inside PBT:
  ISO's ADOT plus its setup (AUST) and delay (ADET) times, which are broken
  out as ``setup_ms`` and ``delay_ms``.
- Availability = APT / PBT, effectiveness = PRI x PQ / APT, quality = GQ / PQ,
  OEE = availability x effectiveness x quality. A zero denominator makes a KPI
  None, never an error. A KPI that is 0 makes OEE 0 even when another one is
  undefined (a machine down all shift has OEE 0, not "unknown").
  Effectiveness above 1 is reported as is: it means the ideal cycle time is
  set longer than the machine really needs.

Aggregation over several machines (a cell, line, area...) sums the times and
quantities and computes the KPIs from the sums, so each machine weighs by its
planned busy time and each factor stays a ratio of like with like. The time
elements of an aggregate are machine-time (n machines for 8 h = 8n h of POT);
``period_ms`` stays the calendar length.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from zhizao.apps.oee.model import OeeElements, OeeKpis, category


@dataclass(frozen=True, slots=True)
class Interval:
    state: str
    reason: str | None
    start_ms: int
    end_ms: int | None  # None while open


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    """One occurrence of a shift: shift ``shift`` starting on local date ``day``."""

    shift: str
    day: date
    start_ms: int
    end_ms: int

    @property
    def label(self) -> str:
        return f"{self.day.isoformat()} {self.shift}"


class ShiftSchedule:
    """A plant's shift occurrences over a span of time, sorted and without overlaps."""

    def __init__(self, windows: Iterable[ShiftWindow]) -> None:
        out: list[ShiftWindow] = []
        for w in sorted(windows, key=lambda w: (w.start_ms, w.end_ms)):
            # Overlapping shift definitions: the earlier shift keeps the overlap.
            start = max(w.start_ms, out[-1].end_ms) if out else w.start_ms
            if start < w.end_ms:
                out.append(ShiftWindow(w.shift, w.day, start, w.end_ms))
        self.windows: list[ShiftWindow] = out
        self._ends = [w.end_ms for w in out]

    @classmethod
    def build(cls, shifts: Iterable, tz: str, start_ms: int, end_ms: int) -> ShiftSchedule:
        """Occurrences of ``shifts`` (``zhizao.assets.model.Shift``) overlapping [start_ms, end_ms).

        Shift times are local to ``tz``; a shift whose end is not after its start
        ends the next day (``16:00``-``00:00``, ``22:00``-``06:00``).
        """
        zone = ZoneInfo(tz)
        day = _local(start_ms, zone).date() - timedelta(days=1)
        last = _local(end_ms, zone).date()
        windows = []
        while day <= last:
            for shift in shifts:
                start = datetime.combine(day, _hhmm(shift.start), zone)
                end = datetime.combine(day, _hhmm(shift.end), zone)
                if end <= start:
                    end += timedelta(days=1)
                s, e = _ms(start), _ms(end)
                if s < end_ms and e > start_ms:
                    windows.append(ShiftWindow(shift.id, day, s, e))
            day += timedelta(days=1)
        return cls(windows)

    def split(self, start_ms: int, end_ms: int) -> list[tuple[str | None, int, int]]:
        """[start_ms, end_ms) cut at shift boundaries: (shift id or None outside shifts, start, end)."""
        pieces: list[tuple[str | None, int, int]] = []
        cursor = start_ms
        for w in self.windows[bisect_right(self._ends, start_ms):]:
            if w.start_ms >= end_ms:
                break
            if w.start_ms > cursor:
                pieces.append((None, cursor, w.start_ms))
                cursor = w.start_ms
            stop = min(w.end_ms, end_ms)
            pieces.append((w.shift, cursor, stop))
            cursor = stop
        if cursor < end_ms:
            pieces.append((None, cursor, end_ms))
        return pieces

    def scheduled_ms(self, start_ms: int, end_ms: int) -> int:
        return sum(e - s for shift, s, e in self.split(start_ms, end_ms) if shift is not None)

    def shift_at(self, ts_ms: int) -> str | None:
        i = bisect_right(self._ends, ts_ms)
        if i < len(self.windows) and self.windows[i].start_ms <= ts_ms:
            return self.windows[i].shift
        return None


def calendar_windows(unit: Literal["hour", "day"], tz: str, start_ms: int,
                     end_ms: int) -> list[tuple[str, int, int]]:
    """Local hours or days covering [start_ms, end_ms), clipped to it: (label, start, end)."""
    zone = ZoneInfo(tz)
    local = _local(start_ms, zone)
    out: list[tuple[str, int, int]] = []
    if unit == "hour":
        cursor = _ms(local.replace(minute=0, second=0, microsecond=0))
        while cursor < end_ms:
            label = _local(cursor, zone).isoformat(timespec="minutes")
            out.append((label, max(cursor, start_ms), min(cursor + 3_600_000, end_ms)))
            cursor += 3_600_000
    else:
        day = local.date()
        cursor = _ms(datetime.combine(day, time(), zone))
        while cursor < end_ms:
            nxt = _ms(datetime.combine(day + timedelta(days=1), time(), zone))
            out.append((day.isoformat(), max(cursor, start_ms), min(nxt, end_ms)))
            day, cursor = day + timedelta(days=1), nxt
    return out


def equipment_elements(intervals: Iterable[Interval], start_ms: int, end_ms: int, *, now_ms: int,
                       schedule: ShiftSchedule | None = None, produced: int = 0, good: int = 0,
                       pri_s: float | None = None) -> OeeElements:
    """Elements of one machine over [start_ms, end_ms).

    ``intervals`` are its state periods (those outside the period are ignored;
    an open one lasts until ``now_ms``); ``schedule`` None means no shifts are
    defined, so every moment is scheduled. ``produced``/``good`` are its part
    counts in the period and ``pri_s`` its ideal cycle time in seconds.
    """
    el = OeeElements(period_ms=end_ms - start_ms, pq=produced, gq=good, sq=produced - good, pri_s=pri_s,
                     ideal_ms=None if pri_s is None else pri_s * 1000 * produced, equipment_count=1)
    covered_in_shift = 0
    for iv in intervals:
        s = max(iv.start_ms, start_ms)
        e = min(now_ms if iv.end_ms is None else iv.end_ms, end_ms)
        if e <= s:
            continue
        cat = category(iv.state, iv.reason)
        # Without shifts every piece counts as inside a shift (shift id "").
        pieces = schedule.split(s, e) if schedule is not None else [("", s, e)]
        for shift, a, b in pieces:
            d = b - a
            if shift is not None:
                covered_in_shift += d
            if cat == "off":
                el.off_ms += d
            elif shift is None and cat != "apt":
                el.unscheduled_ms += d
            elif cat == "apt":
                el.apt_ms += d
            elif cat == "pdt":
                el.pdt_ms += d
            elif cat == "setup":
                el.setup_ms += d
            elif cat == "delay":
                el.delay_ms += d
            else:
                el.down_ms += d
    scheduled = schedule.scheduled_ms(start_ms, end_ms) if schedule is not None else end_ms - start_ms
    el.no_data_ms = max(0, scheduled - covered_in_shift)
    _derive(el)
    return el


def combine(parts: Iterable[OeeElements], period_ms: int) -> OeeElements:
    """The sum of several machines' (or windows') elements."""
    parts = list(parts)
    total = OeeElements(period_ms=period_ms)
    for el in parts:
        for name in ("pdt_ms", "apt_ms", "down_ms", "setup_ms", "delay_ms", "off_ms", "unscheduled_ms",
                     "no_data_ms", "pq", "gq", "sq", "equipment_count"):
            setattr(total, name, getattr(total, name) + getattr(el, name))
    if parts and all(el.ideal_ms is not None for el in parts):
        total.ideal_ms = sum(el.ideal_ms for el in parts)  # type: ignore[misc]
    pris = {el.pri_s for el in parts}
    total.pri_s = pris.pop() if len(pris) == 1 else None
    _derive(total)
    return total


def _derive(el: OeeElements) -> None:
    el.adot_ms = el.down_ms + el.setup_ms + el.delay_ms
    el.pbt_ms = el.apt_ms + el.adot_ms
    el.pot_ms = el.pbt_ms + el.pdt_ms


def ratio(num: float | None, den: float | None) -> float | None:
    if num is None or not den:
        return None
    return num / den


def kpis(el: OeeElements) -> OeeKpis:
    k = OeeKpis(
        availability=ratio(el.apt_ms, el.pbt_ms),
        effectiveness=ratio(el.ideal_ms, el.apt_ms),
        quality=ratio(el.gq, el.pq),
    )
    factors = (k.availability, k.effectiveness, k.quality)
    if any(f == 0 for f in factors if f is not None):
        k.oee = 0.0
    elif all(f is not None for f in factors):
        k.oee = k.availability * k.effectiveness * k.quality  # type: ignore[operator]
    return k


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _local(ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, zone)


def _ms(dt: datetime) -> int:
    return round(dt.timestamp() * 1000)
