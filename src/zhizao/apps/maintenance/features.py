"""From raw sensor samples to scoring windows: the same code path live (bus) and in training (history).

A machine's instruments are read every few seconds whatever it does, but only
samples taken while it cuts (state ``running``) say something about its health
under comparable conditions; idle, setup and stopped samples are left out. One
window (``window_ms``, by default 10 minutes) is summarised by the median of each
monitored sensor over its running samples, plus the operating regime it ran in:

- ``feed``: the feed override (load scales with it),
- ``air``: the workshop air temperature (the bearing temperature rides on it),
- ``warm``: how long the machine has been running lately, an exponentially
  weighted share of running time with the time constant of a machine's thermal
  lag (``tau_s``), since a machine that has just started is still cold.

The health model explains the sensors by the regime, so a change of product feed
or a hot afternoon is not mistaken for wear.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import median

# Sensors that carry health information, in display order; a machine uses those it has.
HEALTH_SENSORS = ("vibration_rms", "temperature", "spindle_current", "motor_current", "power")
REGIME = ("feed", "air", "warm")
FEED_TAG = "feed_override"
AIR_TAG = "air_temperature"
RUNNING = "running"
DEFAULT_WINDOW_MS = 10 * 60_000
THERMAL_TAU_S = 900.0
MIN_RUNNING_SHARE = 0.5  # windows where the machine ran less than this are not scored
MAX_GAP_S = 120.0  # a longer gap between samples is not counted as operating time


@dataclass(slots=True)
class Window:
    """A scoring window of one machine (times in epoch ms; ``running_h`` is the operating-hours counter)."""

    start_ms: int
    end_ms: int
    running_share: float
    running_h: float
    regime: dict[str, float]
    sensors: dict[str, float]


@dataclass
class WindowBuilder:
    """Feed it samples in time order (``add``); it returns each completed window."""

    sensors: tuple[str, ...]
    window_ms: int = DEFAULT_WINDOW_MS
    tau_s: float = THERMAL_TAU_S
    min_running_share: float = MIN_RUNNING_SHARE
    running_h: float = 0.0
    _warm: float = 0.0
    _last_ts: int | None = None
    _last_state: str | None = None
    _start: int | None = None
    _running_s: float = 0.0
    _total_s: float = 0.0
    _rows: dict[str, list[float]] = field(default_factory=dict)

    def add(self, ts: int, state: str | None, values: dict[str, float], air: float | None = None) -> Window | None:
        """One sample: the machine's state at ``ts`` and the sensor values read then."""
        done = None
        if self._start is None:
            self._start = ts - ts % self.window_ms
        elif ts >= self._start + self.window_ms:
            done = self._close()
            self._start = ts - ts % self.window_ms
        if self._last_ts is not None:
            dt_s = (ts - self._last_ts) / 1000
            if 0 < dt_s <= MAX_GAP_S:
                was_running = self._last_state == RUNNING
                keep = math.exp(-dt_s / self.tau_s)
                self._warm = self._warm * keep + (1 - keep) * was_running
                self._total_s += dt_s
                if was_running:
                    self._running_s += dt_s
                    self.running_h += dt_s / 3600
        self._last_ts, self._last_state = ts, state
        if state == RUNNING:
            for name in self.sensors:
                value = values.get(name)
                if value is not None and math.isfinite(value):
                    self._rows.setdefault(name, []).append(float(value))
            self._rows.setdefault("feed", []).append(float(values.get(FEED_TAG, 100.0)))
            if air is not None:
                self._rows.setdefault("air", []).append(float(air))
            self._rows.setdefault("warm", []).append(self._warm)
        return done

    def _close(self) -> Window | None:
        rows, self._rows = self._rows, {}
        running_s, total_s = self._running_s, self._total_s
        self._running_s = self._total_s = 0.0
        share = running_s / total_s if total_s else 0.0
        if share < self.min_running_share or any(not rows.get(name) for name in self.sensors):
            return None
        assert self._start is not None
        regime = {"feed": median(rows["feed"]), "air": median(rows["air"]) if rows.get("air") else 0.0,
                  "warm": sum(rows["warm"]) / len(rows["warm"])}
        return Window(self._start, self._start + self.window_ms, round(share, 4), self.running_h, regime,
                      {name: median(rows[name]) for name in self.sensors})
