"""Test plant and helpers shared by the alarm tests."""

from __future__ import annotations

from zhizao.core.context import Context

T0 = 1_700_000_000_000
PLANT = """
version: 1
templates:
  - id: machine
    tags:
      - {id: state, data_type: string}
      - id: temperature
        unit: °C
        description: {en: Bearing temperature, zh: 轴承温度}
        alarms: {hi: 75, hihi: 90, deadband: 2, priority: high}
enterprise:
  id: acme
  sites:
    - id: s1
      areas:
        - id: a1
          lines:
            - id: l1
              cells:
                - id: c1
                  equipment:
                    - {id: m1, template: machine, name: {en: Mill 1, zh: 铣床1}}
                    - {id: m2, template: machine, name: {en: Mill 2, zh: 铣床2}}
                - id: c2
                  equipment:
                    - id: tank
                      tags:
                        - id: level
                          unit: m
                          alarms: {lo: 2, lolo: 1, deadband: 0.2, priority: urgent}
"""
M1 = "acme/s1/a1/l1/c1/m1"
M2 = "acme/s1/a1/l1/c1/m2"
TEMP = f"{M1}/temperature"
TEMP2 = f"{M2}/temperature"
LEVEL = "acme/s1/a1/l1/c2/tank/level"


def publish(ctx: Context, path: str, v: object, ts: int | None = None, q: str = "good") -> None:
    ctx.bus.publish(path, {"ts": ts if ts is not None else ctx.clock.now_ms(), "v": v, "q": q})


def advance(ctx: Context, ms: int) -> None:
    ctx.clock.now += ms  # type: ignore[attr-defined]
