"""MTBF/MTTR/unplanned downtime on a hand-computed case; the fault classifier separates signatures."""

from __future__ import annotations

import numpy as np
import pytest

from zhizao.apps.maintenance.diagnosis import FaultClassifier
from zhizao.apps.maintenance.kpi import StatePeriod, machine_kpis

H = 3_600_000


def test_mtbf_mttr_and_unplanned_downtime_by_hand() -> None:
    periods = [
        StatePeriod("running", "producing", -2 * H, 4 * H),  # 4 h inside [0, 20 h)
        StatePeriod("down", "failure.bearing", 4 * H, 5 * H),  # failure 1: 1 h repair
        StatePeriod("running", "producing", 5 * H, 11 * H),  # 6 h
        StatePeriod("down", "minor_stop", 11 * H, 11 * H + H // 4),  # unplanned, not a failure
        StatePeriod("running", "producing", 11 * H + H // 4, 14 * H),  # 2.75 h
        StatePeriod("down", "failure.electrical", 14 * H, 16 * H),  # failure 2: 2 h
        StatePeriod("maintenance", "corrective", 16 * H, 16 * H + H // 2),  # 0.5 h unplanned
        StatePeriod("maintenance", "planned", 17 * H, 18 * H),  # planned, not unplanned
        StatePeriod("running", "producing", 18 * H, None),  # open: runs to the end (2 h)
    ]
    k = machine_kpis("m1", periods, 0, 20 * H)
    assert k.failures == 2
    assert k.operating_h == pytest.approx(4 + 6 + 2.75 + 2)
    assert k.mtbf_h == pytest.approx(14.75 / 2, abs=1e-3)
    assert k.mttr_h == pytest.approx(1.5)
    assert k.unplanned_downtime_h == pytest.approx(1 + 0.25 + 2 + 0.5)
    assert k.corrective_maintenance_h == pytest.approx(0.5)
    assert k.planned_maintenance_h == pytest.approx(1.0)
    assert machine_kpis("m1", periods[:1], 0, 20 * H).mtbf_h is None


def test_fault_classifier_learns_distinct_signatures_and_falls_back_to_frequencies() -> None:
    rng = np.random.default_rng(0)
    bearing = [[6, 1, 0.5] + rng.normal(0, 0.5, 3) for _ in range(10)]  # vibration first
    spindle = [[1, 0.5, 6] + rng.normal(0, 0.5, 3) for _ in range(10)]  # spindle current first
    clf = FaultClassifier(("vibration_rms", "temperature", "spindle_current"))
    clf.fit([*bearing, *spindle], ["bearing"] * 10 + ["spindle"] * 10)
    assert clf.predict([7, 1, 1])[0][0] == "bearing"
    assert clf.predict([0.5, 1, 8])[0] == ("spindle", pytest.approx(1.0, abs=0.05))
    assert clf.cv["accuracy"] > clf.cv["majority"] == 0.5
    # signatures that carry no information about the mode: the frequencies, not a guess
    noise = FaultClassifier(("vibration_rms", "temperature", "spindle_current"))
    noise.fit(rng.normal(0, 1, (40, 3)).tolist(), ["bearing"] * 25 + ["spindle"] * 15)
    assert noise.theta is None and noise.predict([5, 0, 0]) == [("bearing", 0.625), ("spindle", 0.375)]
    prior = FaultClassifier(("a",)).fit([[1.0], [2.0], [3.0]], ["pump", "pump", "drive"])
    assert prior.predict([1.0]) == [("pump", pytest.approx(2 / 3)), ("drive", pytest.approx(1 / 3))]
    assert FaultClassifier(("a",)).fit([], []).predict([1.0]) == []
