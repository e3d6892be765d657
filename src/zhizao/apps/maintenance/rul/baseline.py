"""The gradient-boosting baseline: LightGBM on hand-made features of each sensor window.

Per sensor: last value, window mean, standard deviation, least-squares slope, min and max, and the
drift of the last 10 cycles from the unit's own healthy level (engines start at different levels,
so this is the strongest single feature); plus the number of cycles seen. The same windows and
inputs as the network, so the two compare fairly.
"""

from __future__ import annotations

import numpy as np

from zhizao.apps.maintenance.rul.features import Windows

PARAMS = {"objective": "regression", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 50,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
          "verbose": -1}
ROUNDS = 400
BAGS = 3  # boosters with different bagging seeds, averaged (CV on FD001: RMSE 12.38 -> 12.18)


def window_features(windows: Windows) -> np.ndarray:
    """(n, window, sensors) windows -> (n, 7 * sensors + 1) feature matrix."""
    x = windows.x
    n, width, _ = x.shape
    t = np.arange(width, dtype=np.float32) - (width - 1) / 2
    slope = np.einsum("nws,w->ns", x, t) / float((t**2).sum())
    return np.concatenate([x[:, -1, :], x.mean(axis=1), x.std(axis=1), slope, x.min(axis=1), x.max(axis=1),
                           windows.drift(10), windows.seen.reshape(n, 1)], axis=1)


def train_baseline(windows: Windows, seed: int = 0, threads: int = 1, bags: int = BAGS) -> list:
    """LightGBM boosters (``lightgbm.Booster``) on the window features, one per bagging seed."""
    import lightgbm

    data = lightgbm.Dataset(window_features(windows), windows.y, free_raw_data=False)
    return [lightgbm.train({**PARAMS, "seed": seed * 100 + bag, "num_threads": threads}, data,
                           num_boost_round=ROUNDS) for bag in range(bags)]


def predict_baseline(boosters: list, windows: Windows, cap: float, threads: int = 1) -> np.ndarray:
    features = window_features(windows)
    return np.clip(np.mean([b.predict(features, num_threads=threads) for b in boosters], axis=0), 0.0, cap)
