"""The platform clock.

With real connectors it is the wall clock. When the simulated plant runs, the
plant's own (possibly accelerated) clock is the platform clock, so that "now",
"last hour", OEE periods and timestamp checks all agree with the data.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class WallClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class FixedClock:
    """A clock that stands still until moved (tests, batch runs)."""

    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now
