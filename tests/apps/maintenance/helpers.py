"""Synthetic windows for the health model tests: sensors explained by the regime, plus wear."""

from __future__ import annotations

import numpy as np

from zhizao.apps.maintenance.features import Window

SENSORS = ("vibration_rms", "temperature", "spindle_current", "motor_current", "power")


def windows(n: int, rng: np.random.Generator, *, wear: np.ndarray | None = None, drift_sensor: str | None = None,
            feed: tuple[float, float] = (80, 120), start_h: float = 0.0) -> list[Window]:
    """``n`` ten-minute windows; ``wear`` (per window) raises every sensor a little and
    ``drift_sensor`` a lot, the way a worn bearing shows first in one instrument."""
    out = []
    wear = np.zeros(n) if wear is None else wear
    for k in range(n):
        f, air, warm = rng.uniform(*feed), rng.uniform(20, 30), rng.uniform(0.6, 1.0)
        load = 0.7 + 0.3 * f / 100
        base = {
            "vibration_rms": 1.6 * load, "temperature": air + 22 * warm, "spindle_current": 13 * load,
            "motor_current": 22 * load, "power": 15 * load,
        }
        noise = {"vibration_rms": 0.03, "temperature": 0.3, "spindle_current": 0.2, "motor_current": 0.3,
                 "power": 0.2}
        sensors = {}
        for s in SENSORS:
            value = base[s] + noise[s] * rng.standard_normal()
            value *= 1 + 0.02 * wear[k]
            if s == drift_sensor:
                value += 40 * noise[s] * wear[k]
            sensors[s] = value
        out.append(Window(k * 600_000, (k + 1) * 600_000, 0.9, start_h + k / 6, {"feed": f, "air": air,
                                                                                   "warm": warm}, sensors))
    return out
