"""A small plant, a real Bus and SQLite database, and a fixed clock for the OEE tests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from zhizao.apps.oee.model import PartCount, StateInterval
from zhizao.assets.loader import parse_plant
from zhizao.bus import Bus
from zhizao.core.clock import FixedClock
from zhizao.core.config import Settings
from zhizao.core.context import Context
from zhizao.store.db import Base, Database

TZ = "Asia/Shanghai"
MIN = 60_000
LINE = "acme/s1/a1/l1"
M1 = f"{LINE}/c1/m1"
M2 = f"{LINE}/c1/m2"

PLANT_YAML = """
enterprise:
  id: acme
  sites:
    - id: s1
      timezone: Asia/Shanghai
      areas:
        - id: a1
          lines:
            - id: l1
              flow: [m1, buf, m2]
              cells:
                - id: c1
                  equipment:
                    - {id: m1, kind: cnc, ideal_cycle_s: 60}
                    - {id: buf, kind: buffer, capacity: 5}
                    - {id: m2, kind: assembly, ideal_cycle_s: 45}
                    - {id: env, kind: environment}
shifts:
  - {id: a, start: "08:00", end: "16:00", breaks_min: 30}
  - {id: b, start: "16:00", end: "00:00"}
  - {id: c, start: "00:00", end: "08:00"}
"""


def at(hhmm: str, day: int = 1) -> int:
    """Epoch ms of 2024-05-<day> hh:mm in Shanghai."""
    h, m = map(int, hhmm.split(":"))
    return int(datetime(2024, 5, day, h, m, tzinfo=ZoneInfo(TZ)).timestamp() * 1000)


def make_ctx(tmp_path, now_ms: int) -> Context:
    db = Database(f"sqlite:///{tmp_path / 'oee.db'}")
    Base.metadata.create_all(db.engine, tables=[StateInterval.__table__, PartCount.__table__])
    return Context(settings=Settings(data_dir=tmp_path), bus=Bus(), plant=parse_plant(PLANT_YAML),
                   historian=None, db=db, clock=FixedClock(now_ms))  # type: ignore[arg-type]


def state(bus: Bus, equipment: str, ts: int, st: str, reason: str | None = None) -> None:
    bus.publish(f"_events/state/{equipment}",
                {"ts": ts, "equipment": equipment, "state": st, "previous": None, "reason": reason})


def part(bus: Bus, equipment: str, ts: int, good: bool = True) -> None:
    bus.publish(f"_events/part/{equipment}", {"ts": ts, "equipment": equipment, "order": "o1",
                                              "product": "p1", "good": good,
                                              "defect": None if good else "bore_oversize"})


def feed_day_shift(bus: Bus) -> None:
    """The day shift of the hand-computed cases (08:00-16:00 on 2024-05-01, still open at 16:00).

    m1: break 10:00-10:30, bearing failure 12:00-12:45, changeover 14:00-14:15, else running;
        360 parts, 8 scrap.
    m2: break 10:00-10:30, spindle failure 11:00-13:30, else running; 350 parts, 5 scrap.
    """
    for ts, st, reason in (("08:00", "running", "producing"), ("10:00", "idle", "break"),
                           ("10:30", "running", "producing"), ("12:00", "down", "failure.bearing"),
                           ("12:45", "running", "producing"), ("14:00", "setup", "changeover"),
                           ("14:15", "running", "producing")):
        state(bus, M1, at(ts), st, reason)
    for ts, st, reason in (("08:00", "running", "producing"), ("10:00", "idle", "break"),
                           ("10:30", "running", "producing"), ("11:00", "down", "failure.spindle"),
                           ("13:30", "running", "producing")):
        state(bus, M2, at(ts), st, reason)
    for i in range(360):
        part(bus, M1, at("08:00") + i * MIN + 30_000, good=i >= 8)
    for i in range(350):
        part(bus, M2, at("08:00") + i * 80_000 + 10_000, good=i >= 5)
