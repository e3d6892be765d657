"""One machine's monitor: a warning per degradation episode with RUL and sensors, re-armed after repair;
drift when freshly repaired windows keep looking anomalous."""

from __future__ import annotations

import numpy as np
from tests.apps.maintenance.helpers import SENSORS, windows

from zhizao.apps.maintenance.monitor import MachineMonitor


def _trained(rng: np.random.Generator) -> MachineMonitor:
    monitor = MachineMonitor("mc1", "e/s/a/l/c/mc1", SENSORS)
    wear = np.concatenate([np.linspace(0, 1, 60) ** 3 for _ in range(5)])
    for w in windows(len(wear), rng, wear=wear, drift_sensor="vibration_rms"):
        monitor.on_window(w)
    model, classifier, metrics = monitor.train()
    assert metrics["windows"] == 300 and metrics["healthy_windows"] == 150
    monitor.deploy(model, classifier, 3)
    return monitor


def test_one_warning_per_episode_then_critical_then_rearmed() -> None:
    rng = np.random.default_rng(7)
    monitor = _trained(rng)
    hour = windows(1, rng)[0].running_h
    events = []
    for episode in range(2):
        wear = np.concatenate([np.zeros(12), np.linspace(0, 1, 24) ** 2])
        for w in windows(len(wear), rng, wear=wear, drift_sensor="spindle_current", start_h=hour + 10 * episode):
            events += monitor.on_window(w)
        monitor.state("maintenance", "corrective")
        monitor.state("running", "producing")
        for w in windows(6, rng, start_h=hour + 10 * episode + 7):  # repaired: healthy again
            events += monitor.on_window(w)
    assert [e["level"] for e in events] == ["warning", "critical", "warning", "critical"]
    warning = events[0]
    assert warning["model_version"] == 3 and warning["health"] < 75
    assert warning["sensors"][0]["sensor"] == "spindle_current"
    assert warning["rul_h"] is not None and warning["rul_h"]["low"] <= warning["rul_h"]["median"]
    assert monitor.phase == "armed"
    assert len(monitor.renewals) == 3


def test_drift_when_repaired_windows_still_look_anomalous() -> None:
    rng = np.random.default_rng(8)
    monitor = _trained(rng)
    monitor.state("maintenance", "planned")
    monitor.state("running", "producing")
    for w in windows(3, rng, start_h=monitor.operating_h + 0.1):  # the half hour after the repair: healthy
        monitor.on_window(w)
    assert not monitor.drift()["drifted"]
    # a recalibrated sensor: every fresh window after the next repairs reads high
    for _ in range(6):
        monitor.state("maintenance", "planned")
        monitor.state("running", "producing")
        for w in windows(3, rng, start_h=monitor.operating_h + 0.1):
            w.sensors["temperature"] += 3.0
            monitor.on_window(w)
    drift = monitor.drift()
    assert drift["drifted"] and drift["exceedance_share"] > 0.5
