"""The health model on synthetic data: healthy vs degrading, regime awareness, contributions, persistence."""

from __future__ import annotations

import numpy as np
import pytest
from tests.apps.maintenance.helpers import SENSORS, windows

from zhizao.apps.maintenance.health import HealthModel, HealthParams, NotEnoughData


@pytest.fixture
def model() -> HealthModel:
    rng = np.random.default_rng(1)
    # Training history like a real machine's: lives that wear out, most of the time at low wear.
    wear = np.concatenate([np.linspace(0, 1, 60) ** 3 for _ in range(5)])
    return HealthModel(SENSORS, HealthParams()).fit(windows(len(wear), rng, wear=wear, drift_sensor="vibration_rms"))


def test_healthy_windows_score_healthy_and_degrading_ones_fall(model: HealthModel) -> None:
    rng = np.random.default_rng(2)
    healthy = [model.score(w).health for w in windows(200, rng)]
    assert np.median(healthy) > 90
    assert np.mean(np.array(healthy) < 75) < 0.03
    wear = np.linspace(0, 1, 30)
    degrading = [model.score(w).health for w in windows(30, rng, wear=wear, drift_sensor="temperature")]
    assert degrading[-1] < 30 < np.median(healthy)
    assert np.corrcoef(wear, degrading)[0, 1] < -0.8


def test_a_new_operating_regime_is_not_an_anomaly(model: HealthModel) -> None:
    rng = np.random.default_rng(3)
    slow = [model.score(w).health for w in windows(100, rng, feed=(80, 85))]
    fast = [model.score(w).health for w in windows(100, rng, feed=(115, 120))]
    assert np.median(slow) > 85 and np.median(fast) > 85


@pytest.mark.parametrize("sensor", ["temperature", "spindle_current", "power"])
def test_contributions_rank_the_drifting_sensor_first(model: HealthModel, sensor: str) -> None:
    rng = np.random.default_rng(4)
    window = windows(1, rng, wear=np.array([0.8]), drift_sensor=sensor)[0]
    score = model.score(window)
    ranked = sorted(score.contributions, key=score.contributions.get, reverse=True)
    assert ranked[0] == sensor
    assert sum(score.contributions.values()) == pytest.approx(1.0, abs=1e-3)
    assert score.residuals[sensor] > 5


def test_save_and_load_give_the_same_scores(model: HealthModel, tmp_path) -> None:
    model.save(tmp_path)
    again = HealthModel.load(tmp_path)
    window = windows(1, np.random.default_rng(5), wear=np.array([0.5]), drift_sensor="vibration_rms")[0]
    assert again.score(window) == model.score(window)


def test_too_few_windows_are_refused() -> None:
    with pytest.raises(NotEnoughData, match="windows"):
        HealthModel(SENSORS, HealthParams()).fit(windows(5, np.random.default_rng(6)))
