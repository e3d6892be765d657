"""A global gradient-boosting forecaster (LightGBM) trained across all series at once.

Direct multi-horizon: one model takes the forecast step ``h`` as a feature, so a single
fit serves every step without feeding forecasts back in. Each sample is a (series,
origin, step) triple; its features are taken from the history before the origin and
divided by the series' level there (the mean absolute value of the last season), so
series of any scale share one model, and the target is the value at origin + h - 1 on
the same scale. Features: the last ``R`` values; the values at the same position in the
season as the target on the previous ``K`` seasons (this is the "position in season"
calendar information: M4-style files carry no timestamps, so the season phase is read
from the series itself); their mean (the series' seasonal profile at that phase); the
mean level over K seasons relative to the last one (trend); the last season's spread;
the step and its phase in the season. Missing history is NaN, which LightGBM handles, so
short series still get forecasts.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

EPS = 1e-9


@dataclass(frozen=True)
class GbmConfig:
    horizon: int
    season: int
    max_origins: int = 40  # training origins per series (the most recent, ``stride`` apart)
    steps_per_origin: int = 8  # forecast steps sampled per origin (all when horizon is smaller)
    num_rounds: int = 300
    learning_rate: float = 0.08
    num_leaves: int = 31
    min_data_in_leaf: int = 50
    # One thread: on a busy machine OpenMP threads that wait for each other cost far more than they gain.
    threads: int = 1
    seed: int = 0

    @property
    def recent(self) -> int:
        return min(self.season, 24) if self.season > 1 else 8

    @property
    def seasons_back(self) -> int:
        return 7 if self.season <= 24 else 3

    @property
    def stride(self) -> int:
        return max(1, self.season // 2) if self.season > 1 else 1

    @property
    def level_window(self) -> int:
        return self.season if self.season > 1 else self.recent


def _level(y: np.ndarray, origin: int, window: int) -> float:
    start = max(0, origin - window)
    level = float(np.mean(np.abs(y[start:origin]))) if origin > start else 0.0
    if level <= EPS:
        level = float(np.mean(np.abs(y[:origin]))) if origin > 0 else 0.0
    return level if level > EPS else 1.0


def features(y: np.ndarray, origins: np.ndarray, steps: np.ndarray, cfg: GbmConfig) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows for every (origin, step) pair given as equal-length arrays, and each row's level."""
    y = np.asarray(y, float)
    season, recent, back = max(cfg.season, 1), cfg.recent, cfg.seasons_back
    levels = np.array([_level(y, int(o), cfg.level_window) for o in origins])
    padded = np.r_[np.full(back * season + recent + cfg.horizon + season, np.nan), y]
    shift = len(padded) - len(y)

    def at(index: np.ndarray) -> np.ndarray:
        index = index + shift
        out = np.full(index.shape, np.nan)
        valid = (index >= 0) & (index < len(padded))
        out[valid] = padded[index[valid]]
        return out

    origins = np.asarray(origins)
    steps = np.asarray(steps)
    target_index = origins + steps - 1
    columns: list[np.ndarray] = [steps.astype(float), ((steps - 1) % season).astype(float)]
    for j in range(1, recent + 1):
        columns.append(at(origins - j) / levels)
    first_back = np.ceil(steps / season).astype(int)
    seasonal = np.stack([at(target_index - (first_back + k) * season) for k in range(back)], axis=1) / levels[:, None]
    columns.extend(seasonal.T)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (short history) give NaN, as wanted
        columns.append(np.where(np.all(np.isnan(seasonal), axis=1), np.nan,
                                np.nanmean(np.where(np.isnan(seasonal), np.nan, seasonal), axis=1)))
        long_window = np.stack([at(origins - j) for j in range(1, back * season + 1)], axis=1) / levels[:, None]
        columns.append(np.nanmean(long_window, axis=1) if long_window.shape[1] else np.full(len(origins), np.nan))
        last_season = np.stack([at(origins - j) for j in range(1, season + 1)], axis=1) / levels[:, None]
        columns.append(np.nanstd(last_season, axis=1))
    return np.stack(columns, axis=1), levels


def training_rows(y: np.ndarray, cfg: GbmConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Features and scaled targets from the series' own history (the most recent origins first)."""
    n = len(y)
    first = max(cfg.recent, cfg.level_window, 2)
    if n - 1 < first:
        return np.empty((0, 0)), np.empty(0)
    origins_list = np.arange(n - 1, first - 1, -cfg.stride)[: cfg.max_origins]
    origin_rows, step_rows = [], []
    for origin in origins_list:
        available = np.arange(1, min(cfg.horizon, n - origin) + 1)
        if len(available) > cfg.steps_per_origin:
            available = rng.choice(available, cfg.steps_per_origin, replace=False)
        origin_rows.append(np.full(len(available), origin))
        step_rows.append(available)
    origins = np.concatenate(origin_rows)
    steps = np.concatenate(step_rows)
    x, levels = features(y, origins, steps, cfg)
    target = y[origins + steps - 1] / levels
    return x, target


class GlobalGbm:
    """fit on a list of series, predict the next ``horizon`` values of each."""

    def __init__(self, cfg: GbmConfig) -> None:
        self.cfg = cfg
        self.booster = None

    def fit(self, series: list[np.ndarray]) -> GlobalGbm:
        import lightgbm as lgb

        rng = np.random.default_rng(self.cfg.seed)
        parts = [training_rows(np.asarray(y, float), self.cfg, rng) for y in series if len(y) > 2]
        parts = [p for p in parts if len(p[1])]
        if not parts:
            raise ValueError("no series is long enough to train the global model")
        x = np.concatenate([p[0] for p in parts])
        target = np.concatenate([p[1] for p in parts])
        keep = np.isfinite(target)
        params = {"objective": "l1", "learning_rate": self.cfg.learning_rate, "num_leaves": self.cfg.num_leaves,
                  "min_data_in_leaf": self.cfg.min_data_in_leaf, "feature_fraction": 0.8, "bagging_fraction": 0.8,
                  "bagging_freq": 1, "num_threads": self.cfg.threads, "seed": self.cfg.seed, "verbose": -1,
                  "deterministic": True, "force_row_wise": True}
        dataset = lgb.Dataset(x[keep], target[keep], free_raw_data=True)
        self.booster = lgb.train(params, dataset, num_boost_round=self.cfg.num_rounds)
        return self

    def predict(self, series: list[np.ndarray]) -> list[np.ndarray]:
        if self.booster is None:
            raise RuntimeError("fit the model first")
        horizon = self.cfg.horizon
        steps = np.arange(1, horizon + 1)
        blocks, levels = [], []
        for y in series:
            y = np.asarray(y, float)
            x, level = features(y, np.full(horizon, len(y)), steps, self.cfg)
            blocks.append(x)
            levels.append(level)
        predicted = self.booster.predict(np.concatenate(blocks), num_threads=self.cfg.threads)
        out = []
        for i, level in enumerate(levels):
            out.append(predicted[i * horizon:(i + 1) * horizon] * level)
        return out

