"""The SPC service on a real bus, historian and alarm service: Phase I freezes, Phase II alarms."""

from __future__ import annotations

import numpy as np
import pytest

from zhizao.apps.alarms.service import AlarmService
from zhizao.apps.spc.model import TagConfig
from zhizao.apps.spc.service import SpcInputError, SpcService
from zhizao.assets.loader import parse_plant
from zhizao.bus import Bus
from zhizao.core.clock import FixedClock
from zhizao.core.config import Settings
from zhizao.core.context import Context
from zhizao.store.db import Database
from zhizao.store.historian import open_historian

T0 = 1_717_171_200_000
TAG = "acme/s1/a1/l1/c1/insp1/bore_diameter"
PLANT = """
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
                    - id: insp1
                      kind: inspection
                      name: {en: CMM, zh: 三坐标}
                      tags:
                        - {id: bore_diameter, unit: mm, description: {en: Bore, zh: 孔径}}
                        - {id: state, data_type: string}
products:
  - {id: p1, spec: {bore_diameter: [24.985, 25.015]}}
"""


@pytest.fixture
async def ctx(tmp_path):
    plant = parse_plant(PLANT, file="t.yaml")
    historian = open_historian("duckdb:///:memory:")
    historian.register_tags(plant.tags())
    ctx = Context(settings=Settings(data_dir=tmp_path, lang="en"), bus=Bus(), plant=plant, historian=historian,
                  db=Database(f"sqlite:///{tmp_path / 'z.db'}"), clock=FixedClock(T0 + 86_400_000))
    alarms = AlarmService(ctx, tick_s=3600)
    await alarms.start()
    ctx.services["alarms"] = alarms
    yield ctx
    await alarms.stop()
    historian.close()
    ctx.db.close()


def publish(ctx, values, t0=T0, step=60_000):
    points = []
    for i, v in enumerate(values):
        p = {"ts": t0 + i * step, "v": round(float(v), 5), "q": "good"}
        ctx.bus.publish(TAG, p)
        points.append({"tag": TAG, **p})
    ctx.historian.write(points)


async def test_phase_one_freezes_then_a_shift_raises_the_alarm(ctx):
    svc = SpcService(ctx)
    await svc.start()
    assert [s.tag for s in svc.status("en")] == [TAG]  # found through the product spec
    await svc.configure(TagConfig(tag=TAG, baseline_points=50))
    rng = np.random.default_rng(3)
    publish(ctx, 25.0 + 0.002 * rng.standard_normal(50))
    base = svc.config(TAG).baseline
    assert base is not None and base.frozen_by == "auto" and base.count == 50
    assert base.sigma == pytest.approx(0.002, rel=0.35)
    alarms = ctx.services["alarms"]
    assert not [a for a in alarms.list() if a.definition.limit == "spc"]
    # A shift of 4 sigma: the X̄ of the next subgroup is far beyond its limit.
    publish(ctx, 25.0 + 0.008 + 0.002 * rng.standard_normal(10), t0=T0 + 50 * 60_000)
    [alarm] = [a for a in alarms.list() if a.definition.limit == "spc"]
    assert alarm.active and alarm.definition.tag == TAG and "1" in str(alarm.value)
    assert "out of statistical control" in alarm.message("en")
    status = svc.status("en")[0]
    assert status.phase == "monitoring" and 1 in status.last_violation_rules
    # The chart shows the frozen limits and marks the shifted subgroups (rule 1).
    chart = svc.chart(TAG, T0, T0 + 3_600_000, "en")
    assert chart.phase == "monitoring" and [s.kind for s in chart.series] == ["xbar", "r"]
    xbar = chart.series[0]
    assert xbar.ucl[0] == pytest.approx(base.mean + 3 * base.sigma / 5 ** 0.5)
    assert {v.index for v in xbar.violations if v.rule == 1} >= {10, 11}
    # Back in control: the alarm returns (and waits for acknowledgement).
    publish(ctx, 25.0 + 0.002 * rng.standard_normal(5), t0=T0 + 60 * 60_000)
    assert not alarm.active and alarm.state.value == "unack_rtn"
    await svc.stop()


async def test_capability_and_config_persist(ctx):
    svc = SpcService(ctx)
    await svc.start()
    rng = np.random.default_rng(5)
    publish(ctx, 25.0 + 0.0025 * rng.standard_normal(200))
    cap = svc.capability(TAG, T0, T0 + 86_400_000)
    assert cap.lsl == 24.985 and cap.usl == 25.015 and cap.n == 200
    assert cap.pp.value == pytest.approx(0.03 / (6 * cap.sigma_overall))
    assert cap.cp.low < cap.cp.value < cap.cp.high and sum(cap.counts) == 200
    assert svc.config(TAG).baseline is not None  # 200 values: Phase I done on subgroups of 5
    # Individuals instead of subgroups: the baseline no longer fits and is dropped.
    await svc.configure(TagConfig(tag=TAG, chart="imr", rules={"enabled": [1, 2, 5, 6], "same_side": 8}))
    await svc.stop()
    again = SpcService(ctx)
    await again.start()
    cfg = again.config(TAG)
    assert cfg.chart == "imr" and cfg.rules.enabled == [1, 2, 5, 6] and cfg.baseline is None
    chart = again.chart(TAG, T0, T0 + 86_400_000, "en")
    assert chart.phase == "trial" and [s.kind for s in chart.series] == ["i", "mr"]
    frozen = again.rebaseline(TAG, T0, T0 + 100 * 60_000, "eng1")
    assert (frozen.count, frozen.n, frozen.frozen_by) == (100, 1, "eng1")
    assert again.chart(TAG, T0, T0 + 86_400_000, "en").phase == "monitoring"
    with pytest.raises(SpcInputError, match="tag"):
        again.chart("acme/nope", None, None, "en")


async def test_p_and_u_charts_from_events(ctx):
    svc = SpcService(ctx)
    await svc.start()
    eq = "acme/s1/a1/l1/c1/insp1"
    for hour in range(6):
        for i in range(40 + 10 * hour):
            good = i >= (2 if hour < 5 else 20)  # the last hour is bad
            ctx.bus.publish(f"_events/part/{eq}", {"ts": T0 + hour * 3_600_000 + i * 1000, "equipment": eq,
                                                    "good": good, "defect": None if good else "x"})
            ctx.bus.publish("_events/inspection/cam1", {"ts": T0 + hour * 3_600_000 + i, "station": "cam1",
                                                        "verdict": "good" if good else "defect"})
    ctx.bus.publish("_events/inspection/cam1", {"ts": T0, "station": "cam1", "verdict": "review"})
    assert svc.attribute_sources() == {"p": [eq], "u": ["cam1"]}
    res = svc.attributes("p", eq, T0, T0 + 6 * 3_600_000)
    s = res.series
    assert s.sizes == [40, 50, 60, 70, 80, 90]
    assert s.values[0] == pytest.approx(2 / 40) and s.ucl[0] > s.ucl[-1]  # bigger samples, tighter limits
    assert [v.index for v in s.violations if v.rule == 1] == [5]
    u = svc.attributes("u", "cam1", T0, T0 + 6 * 3_600_000)
    assert sum(u.series.sizes) == sum(range(40, 100, 10))  # the undecided one is not counted


async def test_subgroups_by_time_window(ctx):
    svc = SpcService(ctx)
    await svc.start()
    await svc.configure(TagConfig(tag=TAG, subgroup_by="time", subgroup_minutes=10, baseline_points=1000))
    rng = np.random.default_rng(9)
    publish(ctx, 25.0 + 0.002 * rng.standard_normal(95), t0=T0, step=60_000)  # 9.5 windows of 10 minutes
    chart = svc.chart(TAG, T0, T0 + 3_600_000 * 2, "en")
    xbar, r = chart.series
    assert xbar.sizes == [10.0] * 9 + [5.0]
    assert xbar.ucl[-1] - xbar.centre[-1] == pytest.approx((xbar.ucl[0] - xbar.centre[0]) * (10 / 5) ** 0.5)
    assert r.centre[-1] < r.centre[0]  # d2(5) < d2(10)
