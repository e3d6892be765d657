"""sMAPE, MASE, OWA and Naive2 on cases worked by hand."""

import numpy as np
import pytest

from zhizao.apps.forecasting import baselines
from zhizao.apps.forecasting.metrics import evaluate, mase, mase_scale, owa, smape


def test_smape_hand_case():
    # 200 * mean(|100-110|/210, |200-180|/380) = 200 * (0.047619 + 0.052632) / 2
    assert smape(np.array([100.0, 200.0]), np.array([110.0, 180.0])) == pytest.approx(10.0250626, rel=1e-6)
    assert smape(np.array([0.0, 10.0]), np.array([0.0, 10.0])) == 0.0  # 0/0 counts as perfect


def test_mase_uses_the_seasonal_naive_scale():
    history = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 7.0])  # season 3: |5-1|, |6-2|, |7-3| -> scale 4
    assert mase_scale(history, 3) == 4.0
    assert mase(history, np.array([8.0, 10.0]), np.array([9.0, 7.0]), 3) == pytest.approx(0.5)
    assert mase_scale(np.array([1.0, 3.0]), 24) == 2.0  # shorter than a season: lag 1


def test_owa_is_the_mean_of_the_ratios():
    assert owa(10.0, 1.0, 20.0, 4.0) == pytest.approx(0.375)
    h = [np.array([1.0, 2.0, 3.0, 4.0])]
    result = evaluate(h, [np.array([5.0])], [np.array([5.0])], [np.array([4.0])], 1)
    assert result["owa"] == 0.0 and result["smape_naive2"] > 0


def test_naive2_recovers_an_exact_multiplicative_season():
    pattern = np.array([0.5, 1.0, 1.5, 1.0])
    y = 100 * np.tile(pattern, 12)
    assert baselines.is_seasonal(y, 4)
    forecast = baselines.naive2(y, 6, 4)
    assert forecast == pytest.approx(100 * np.resize(pattern, 6), rel=1e-9)


def test_naive2_is_naive_without_seasonality():
    noise = 100 + np.random.default_rng(0).normal(0, 1, 120)
    assert not baselines.is_seasonal(noise, 12)
    assert baselines.naive2(noise, 3, 12) == pytest.approx([noise[-1]] * 3)
    assert baselines.naive2(np.array([3.0, 1.0, 2.0]), 3, 12) == pytest.approx([2.0, 2.0, 2.0])


def test_seasonal_naive_repeats_the_last_season():
    assert baselines.seasonal_naive(np.array([1.0, 2, 3, 4, 5]), 5, 2) == pytest.approx([4, 5, 4, 5, 4])
