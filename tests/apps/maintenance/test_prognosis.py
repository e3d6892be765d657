"""RUL from a degradation path: the interval contains the truth; the path model fits the data."""

from __future__ import annotations

import math

import numpy as np

from zhizao.apps.maintenance.prognosis import remaining_life


def test_linear_degradation_interval_contains_the_truth() -> None:
    covered = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        t = np.linspace(0, 10, 40)
        y = 0.5 * t + rng.normal(0, 0.3, t.size)  # reaches 20 at t = 40
        rul = remaining_life(t, y, 20.0, seed=seed)
        assert rul is not None and rul.model == "linear"
        assert abs(rul.median - 30.0) < 4
        covered += rul.low <= 30.0 <= rul.high
    assert covered >= 14  # an 80 % interval, 20 tries


def test_exponential_wear_is_recognised() -> None:
    truth = math.log(10 / 0.1) / 0.8 - 3
    covered = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        t = np.linspace(0, 3, 30)
        y = 0.1 * np.exp(0.8 * t) * np.exp(rng.normal(0, 0.05, t.size))
        rul = remaining_life(t, y, 10.0, seed=seed)
        assert rul is not None and rul.model == "exponential"
        assert abs(rul.median - truth) < 0.5
        covered += rul.low <= truth <= rul.high
    assert covered >= 14


def test_a_flat_path_gives_the_cap_and_few_points_give_nothing() -> None:
    rng = np.random.default_rng(2)
    t = np.linspace(0, 5, 30)
    rul = remaining_life(t, 1 + rng.normal(0, 0.01, t.size) - 0.01 * t, 10.0, max_life=72.0)
    assert rul is not None and rul.median == 72.0
    assert remaining_life(t[:3], t[:3], 10.0) is None
