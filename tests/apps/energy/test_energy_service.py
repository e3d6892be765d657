"""Energy, cost, carbon and anomalies from a real DuckDB historian holding a hand-made day."""

from __future__ import annotations

import pytest

from zhizao.apps.energy.service import EnergyService, counter_increments
from zhizao.assets.loader import parse_plant
from zhizao.bus import Bus
from zhizao.core.clock import FixedClock
from zhizao.core.config import Settings
from zhizao.core.context import Context
from zhizao.store.db import Database
from zhizao.store.historian import Point, open_historian

DAY0 = 1_717_171_200_000  # 2024-06-01 00:00 in Shanghai
SLOT = 15 * 60_000
LINE = "acme/s1/a1/l1"
M1 = f"{LINE}/c1/m1"

PLANT = """
templates:
  - id: machine
    tags:
      - {id: state, data_type: string}
      - {id: power, unit: kW}
      - {id: energy, unit: kWh}
      - {id: good_count, data_type: int}
enterprise:
  id: acme
  sites:
    - id: s1
      timezone: Asia/Shanghai
      areas:
        - id: a1
          lines:
            - id: l1
              flow: [m1]
              cells:
                - id: c1
                  equipment:
                    - {id: m1, kind: cnc, template: machine, name: {en: Lathe, zh: 车床}}
"""


@pytest.fixture
def ctx(tmp_path):
    plant = parse_plant(PLANT, file="test.yaml")
    historian = open_historian("duckdb:///:memory:")
    historian.register_tags(plant.tags())
    ctx = Context(settings=Settings(data_dir=tmp_path, lang="en"), bus=Bus(), plant=plant, historian=historian,
                  db=Database(f"sqlite:///{tmp_path / 'z.db'}"), clock=FixedClock(DAY0 + 86_400_000))
    yield ctx
    historian.close()
    ctx.db.close()


def write_day(ctx, day_start: int, idle_kw: float = 2.0, hot_hours: range = range(0)) -> None:
    """Counters rising 10 kWh and 4 good parts per slot; the machine idle all day, drawing ``idle_kw``
    (twice that during ``hot_hours``)."""
    points = []
    start_slot = (day_start - DAY0) // SLOT
    for i in range(96):
        ts = day_start + i * SLOT + 60_000
        n = start_slot + i + 1
        points += [Point(f"{M1}/energy", ts, 1000.0 + 10.0 * n), Point(f"{M1}/good_count", ts, 4 * n)]
        kw = idle_kw * (2 if i // 4 in hot_hours else 1)
        points.append(Point(f"{M1}/power", ts, kw))
    points.append(Point(f"{M1}/state", day_start - 3_600_000, "idle"))
    ctx.historian.write(points)


async def test_energy_cost_carbon_and_units(ctx):
    write_day(ctx, DAY0 - 86_400_000)  # the day before, for the first slot's reference
    write_day(ctx, DAY0)
    svc = EnergyService(ctx)
    await svc.start()
    res = svc.consumption(DAY0, DAY0 + 86_400_000, "en")
    # 96 slots x 10 kWh, 32 slots in each band of the example tariff.
    assert res.total_kwh == pytest.approx(960)
    assert res.kwh_by_band == pytest.approx({"peak": 320, "flat": 320, "valley": 320})
    assert res.total_cost == pytest.approx(320 * (1.08 + 0.64 + 0.27))
    assert res.total_co2_kg == pytest.approx(960 * 0.5703)
    [m] = res.machines
    assert m.good_units == 384 and m.kwh_per_unit == pytest.approx(2.5) and m.name == "Lathe"
    assert res.good_units == 384 and res.kwh_per_unit == pytest.approx(2.5)
    assert len(res.hourly) == 24 and {h.band for h in res.hourly} == {"peak", "flat", "valley"}


def test_counter_reset_counts_nothing():
    inc = counter_increments([(0, 10.0), (1, 12.0), (2, 3.0), (3, 5.0)], start=1)
    assert inc == {1: 2.0, 2: 0.0, 3: 2.0}


async def test_idle_power_anomaly_only_when_above_the_band(ctx):
    for d in range(-8, 0):
        write_day(ctx, DAY0 + d * 86_400_000, idle_kw=2.0 + 0.01 * d)
    write_day(ctx, DAY0, idle_kw=2.0, hot_hours=range(20, 22))
    svc = EnergyService(ctx)
    await svc.start()
    found = svc.anomalies(DAY0, DAY0 + 86_400_000, "en")
    idle = [a for a in found if a.kind == "idle_power"]
    assert len(idle) == 1
    a = idle[0]
    assert a.start == DAY0 + 20 * 3_600_000 and a.end == DAY0 + 22 * 3_600_000
    assert a.value == pytest.approx(4.0) and a.expected == pytest.approx(2.0, abs=0.05)
    assert "idle power 4.00 kW" in a.message
    # The same day without the hot hours has none.
    assert [x for x in svc.anomalies(DAY0 - 86_400_000, DAY0, "en") if x.kind == "idle_power"] == []


async def test_plan_uses_the_tariff_day(ctx):
    svc = EnergyService(ctx)
    await svc.start()
    res = svc.plan(None, "2024-06-02", time_limit_s=10)
    assert res.slots[0] == DAY0 + 86_400_000 and len(res.slots) == 96
    assert res.bands[32] == "peak" and res.prices[0] == 0.27
    assert res.asap.violations == [] and res.optimised.violations == []
    assert res.saving is not None and res.saving > 0
