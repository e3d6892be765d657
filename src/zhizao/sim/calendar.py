"""Shift calendar: is the line working, on a break, or not scheduled at a moment?

Shifts are local times of the site's timezone; a shift whose end is not after
its start runs past midnight. Each shift's ``breaks_min`` is taken as one break
in the middle of the shift. A plant without shifts works around the clock.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from zhizao.assets.model import Shift

Status = Literal["work", "break", "off"]


class ShiftCalendar:
    def __init__(self, shifts: list[Shift], timezone: str) -> None:
        self.shifts = shifts
        self.tz = ZoneInfo(timezone)

    def _day(self, ms: int) -> date:
        return datetime.fromtimestamp(ms / 1000, self.tz).date()

    def _at(self, day: date, hhmm: str) -> int:
        hour, minute = map(int, hhmm.split(":"))
        return int(datetime.combine(day, time(hour, minute), self.tz).timestamp() * 1000)

    def _periods(self, ms: int) -> list[tuple[int, int, Status]]:
        """(start_ms, end_ms, "work"|"break") of the shifts that start from the day before ``ms``
        to the day after."""
        periods: list[tuple[int, int, Status]] = []
        today = self._day(ms)
        for offset in (-1, 0, 1):
            day = today + timedelta(days=offset)
            for shift in self.shifts:
                start = self._at(day, shift.start)
                end = self._at(day, shift.end)
                if end <= start:
                    end = self._at(day + timedelta(days=1), shift.end)
                periods.append((start, end, "work"))
                if shift.breaks_min > 0:
                    middle, half = (start + end) // 2, int(shift.breaks_min * 30_000)
                    periods.append((middle - half, middle + half, "break"))
        return periods

    def status_at(self, ms: int) -> Status:
        if not self.shifts:
            return "work"
        inside = {kind for start, end, kind in self._periods(ms) if start <= ms < end}
        return "break" if "break" in inside else "work" if "work" in inside else "off"

    def next_change(self, ms: int) -> int | None:
        """The first moment after ``ms`` at which the status differs from now (None: never)."""
        if not self.shifts:
            return None
        current = self.status_at(ms)
        probe = ms
        # Look up to a week ahead: every day with shifts has at least one change.
        while probe < ms + 7 * 86_400_000:
            bounds = sorted({b for start, end, _ in self._periods(probe) for b in (start, end) if b > probe})
            for bound in bounds:
                if self.status_at(bound) != current:
                    return bound
            probe = bounds[-1] if bounds else probe + 86_400_000
        return None
