"""Sensor physics: what a machine's and the workshop's instruments read.

- Power follows the state (full load when cutting, hydraulics and coolant pumps
  when idle, control cabinet only when down) and rises a little with wear
  (friction). The energy meter integrates the state-weighted power exactly;
  the ``power`` tag is a noisy snapshot.
- Motor current is the three-phase current for that power at 400 V, cos phi 0.85;
  the spindle draws a share of it while cutting, more as bearings wear.
- Bearing temperature approaches ambient + a load rise + a wear rise with a
  first-order lag (time constant 15 min).
- Vibration velocity RMS has a baseline per state (ISO 10816 zone A when
  cutting) and grows with wear, crossing the 7.1 mm/s alarm shortly before a
  wear-out failure.
- The workshop's air temperature follows the daily sun (peak mid afternoon)
  plus slow weather swings; humidity moves against it.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

# Share of rated power drawn in each state.
POWER_SHARE = {"running": 0.85, "setup": 0.25, "idle": 0.18, "down": 0.08, "maintenance": 0.02, "off": 0.02}
TEMP_RISE_C = {"running": 22.0, "setup": 6.0, "idle": 8.0, "down": 2.0, "maintenance": 0.0, "off": 0.0}
VIBRATION_MM_S = {"running": 1.6, "setup": 0.5, "idle": 0.35, "down": 0.05, "maintenance": 0.05, "off": 0.05}
SPINDLE_RPM = {"cnc": 2800.0, "lathe": 2800.0, "machining_centre": 8000.0}
DEFAULT_RATED_KW = 10.0
THERMAL_TAU_S = 900.0
VOLTAGE_V, POWER_FACTOR = 400.0, 0.85


def current_a(power_kw: float) -> float:
    return power_kw * 1000 / (math.sqrt(3) * VOLTAGE_V * POWER_FACTOR)


class MachineSensors:
    def __init__(self, kind: str, rated_kw: float | None, rng: np.random.Generator, ambient_c: float) -> None:
        self.rng = rng
        self.rated_kw = rated_kw if rated_kw is not None else DEFAULT_RATED_KW
        self.rpm = SPINDLE_RPM.get(kind, 3000.0)
        self.temperature = ambient_c
        self.energy_kwh = float(rng.uniform(5_000, 50_000))  # the meter was not new when the sim started
        self.last_energy_kwh = 0.0  # energy used in the last sample period, for the line meter

    def power_kw(self, state: str, wear: float, feed_pct: float) -> float:
        share = POWER_SHARE.get(state, 0.0)
        if state == "running":
            share *= (0.7 + 0.3 * feed_pct / 100) * (1 + 0.1 * wear)
        return self.rated_kw * share

    def sample(self, dt_s: float, seconds_by_state: dict[str, float], state: str, wear: float,
               ambient_c: float, feed_pct: float) -> dict[str, float]:
        """Integrate the last ``dt_s`` seconds and read the instruments now."""
        self.last_energy_kwh = sum(
            seconds * self.power_kw(s, wear, feed_pct) for s, seconds in seconds_by_state.items()
        ) / 3600
        self.energy_kwh += self.last_energy_kwh

        target = ambient_c + TEMP_RISE_C.get(state, 0.0) + (30.0 * wear if state == "running" else 0.0)
        self.temperature += (target - self.temperature) * (1 - math.exp(-dt_s / THERMAL_TAU_S))

        n = self.rng.standard_normal(6).tolist()
        running = state == "running"
        power = max(self.power_kw(state, wear, feed_pct) * (1 + 0.02 * n[0]), 0.0)
        current = current_a(power) * (1 + 0.01 * n[1])
        vibration = VIBRATION_MM_S.get(state, 0.05) * (1 + (5.0 if running else 1.0) * wear)
        return {
            "temperature": round(self.temperature + 0.2 * n[2], 2),
            "vibration_rms": round(vibration * math.exp(0.08 * n[3]), 3),
            "motor_current": round(current, 2),
            "power": round(power, 3),
            "energy": round(self.energy_kwh, 4),
            "spindle_speed": round(self.rpm * feed_pct / 100 * (1 + 0.003 * n[4]), 1) if running else 0.0,
            "spindle_current":
                round(0.6 * current * (1 + 0.25 * wear) * (1 + 0.02 * n[5]), 2) if running else 0.0,
            "feed_override": feed_pct,
        }


class Climate:
    """Workshop air of one site (the local time of day drives the daily cycle)."""

    MEAN_C, DAILY_AMPLITUDE_C = 24.0, 3.0
    WEATHER_SIGMA_C, WEATHER_TAU_S = 1.5, 6 * 3600.0

    def __init__(self, timezone: str, rng: np.random.Generator) -> None:
        self.tz = ZoneInfo(timezone)
        self.rng = rng
        self.weather = float(rng.normal(0, self.WEATHER_SIGMA_C))
        self.air_c = self.MEAN_C
        self.humidity = 55.0

    def sample(self, ts_ms: int, dt_s: float) -> dict[str, float]:
        """Advance the weather by ``dt_s`` and read air temperature and relative humidity."""
        n = self.rng.standard_normal(3).tolist()
        keep = math.exp(-dt_s / self.WEATHER_TAU_S)  # AR(1) with a 6 h memory
        self.weather = self.weather * keep + self.WEATHER_SIGMA_C * math.sqrt(1 - keep**2) * n[0]
        local = datetime.fromtimestamp(ts_ms / 1000, self.tz)
        hour = local.hour + local.minute / 60
        daily = self.DAILY_AMPLITUDE_C * math.sin(2 * math.pi * (hour - 9) / 24)  # peak at 15:00
        self.air_c = self.MEAN_C + daily + self.weather
        self.humidity = min(max(55.0 - 2.5 * (self.air_c - self.MEAN_C) + 1.0 * n[1], 20.0), 95.0)
        return {"air_temperature": round(self.air_c + 0.1 * n[2], 2), "humidity": round(self.humidity, 1)}
