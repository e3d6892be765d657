"""From raw C-MAPSS rows to model inputs: operating regimes, normalisation, sensor choice, windows.

Everything here is learnt from the training file and stored as plain JSON, so a model
folder needs no data path. Nothing is tied to FD001: the regimes are found by clustering
the 3 operational settings (FD002/FD004 have 6), sensors are normalised per regime, and
the sensors kept are those that vary and follow degradation in the training data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from zhizao.apps.maintenance.rul.cmapss import SENSORS, SETTINGS

MAX_REGIMES = 10
# A clustering is accepted as operating regimes when every cluster is tight compared with the
# distance between clusters (largest cluster RMS radius / smallest centroid distance).
REGIME_SEPARATION = 0.1
MIN_DISTINCT_VALUES = 3  # fewer distinct values in a regime: a flag, not a measurement
MIN_RELEVANCE = 0.15  # |Spearman rho| between a normalised sensor and the capped RUL
MAX_MISSING_FRACTION = 0.5


def rul_targets(frame: pd.DataFrame, cap: float | None) -> np.ndarray:
    """Run-to-failure RUL of every row (last cycle of its unit minus its cycle), capped piecewise-linearly."""
    last = frame.groupby("unit")["cycle"].transform("max").to_numpy()
    rul = (last - frame["cycle"].to_numpy()).astype(np.float64)
    return np.minimum(rul, cap) if cap is not None else rul


@dataclass
class Regimes:
    """Operating regimes: k-means centroids over the settings (scaled), or a single regime."""

    centers: list[list[float]] = field(default_factory=lambda: [[]])
    fill: list[float] = field(default_factory=list)  # training median of each setting, used for NaN
    scale: list[float] = field(default_factory=list)  # settings' training std (0-std settings ignored)

    @property
    def count(self) -> int:
        return len(self.centers)

    def _scaled(self, settings: np.ndarray) -> np.ndarray:
        values = np.where(np.isnan(settings), np.asarray(self.fill), settings)
        scale = np.asarray(self.scale)
        used = scale > 0
        return values[:, used] / scale[used]

    @classmethod
    def fit(cls, settings: np.ndarray, seed: int = 0, max_regimes: int = MAX_REGIMES) -> Regimes:
        fill = np.nan_to_num(np.nanmedian(settings, axis=0)).tolist()
        scale = np.nan_to_num(np.nanstd(settings, axis=0)).tolist()
        regimes = cls(centers=[[]], fill=fill, scale=scale)
        x = regimes._scaled(settings)
        if x.shape[1] == 0 or len(x) < 4:
            return regimes
        # Well-separated regimes show in a sample; one thread: tiny k-means problems only lose to thread start-up.
        sample = x if len(x) <= 3000 else x[np.random.default_rng(seed).choice(len(x), 3000, replace=False)]
        best: tuple[float, np.ndarray] | None = None
        for k in range(2, min(max_regimes, len(np.unique(sample, axis=0))) + 1):
            with threadpool_limits(1):
                km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(sample)
            centers = km.cluster_centers_
            radius = max(np.sqrt(np.mean(np.sum((sample[km.labels_ == c] - centers[c]) ** 2, axis=1)))
                         for c in range(k))
            gaps = np.linalg.norm(centers[:, None, :] - centers[None, :, :], axis=2)
            ratio = radius / gaps[np.triu_indices(k, 1)].min()
            if ratio < REGIME_SEPARATION and (best is None or ratio < best[0]):
                best = (ratio, centers)
        if best is not None:
            regimes.centers = best[1].tolist()
        return regimes

    def assign(self, settings: np.ndarray) -> np.ndarray:
        if self.count == 1:
            return np.zeros(len(settings), dtype=np.int64)
        x = self._scaled(settings)
        centers = np.asarray(self.centers)
        return np.argmin(((x[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2), axis=1)


@dataclass
class Preprocessor:
    """Regime-aware standardisation of the informative sensors; fitted on training rows only."""

    regimes: Regimes = field(default_factory=Regimes)
    sensors: list[str] = field(default_factory=list)  # kept, in order
    mean: list[list[float]] = field(default_factory=list)  # [regime][sensor]
    std: list[list[float]] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)  # sensor -> reason

    @classmethod
    def fit(cls, frame: pd.DataFrame, cap: float, seed: int = 0) -> Preprocessor:
        regimes = Regimes.fit(frame[list(SETTINGS)].to_numpy(), seed=seed)
        labels = regimes.assign(frame[list(SETTINGS)].to_numpy())
        dropped: dict[str, str] = {}
        candidates = []
        for name in SENSORS:
            values = frame[name].to_numpy()
            if np.isnan(values).mean() > MAX_MISSING_FRACTION:
                dropped[name] = "missing"
                continue
            distinct = [len(np.unique(values[(labels == r) & ~np.isnan(values)])) for r in range(regimes.count)]
            if min(distinct) < MIN_DISTINCT_VALUES:
                dropped[name] = "constant"
                continue
            candidates.append(name)
        mean, std = cls._moments(frame, labels, regimes.count, candidates)
        pre = cls(regimes, candidates, mean, std, dropped)
        normalised = pre._normalise(frame, labels)
        target = rul_targets(frame, cap)
        kept = []
        for j, name in enumerate(candidates):
            ok = ~np.isnan(normalised[:, j])
            rho = spearmanr(normalised[ok, j], target[ok]).statistic if ok.sum() > 2 else 0.0
            if not np.isfinite(rho) or abs(rho) < MIN_RELEVANCE:
                dropped[name] = f"uninformative (|rho|={abs(float(np.nan_to_num(rho))):.2f})"
            else:
                kept.append(j)
        if not kept:
            raise ValueError("sensors: no sensor varies with degradation in the training data")
        pre.sensors = [candidates[j] for j in kept]
        pre.mean = [[row[j] for j in kept] for row in mean]
        pre.std = [[row[j] for j in kept] for row in std]
        return pre

    @staticmethod
    def _moments(frame: pd.DataFrame, labels: np.ndarray, count: int,
                 sensors: list[str]) -> tuple[list[list[float]], list[list[float]]]:
        values = frame[sensors].to_numpy()
        overall_mean = np.nanmean(values, axis=0)
        overall_std = np.nanstd(values, axis=0)
        means, stds = [], []
        for r in range(count):
            rows = values[labels == r]
            m = np.nanmean(rows, axis=0) if len(rows) else overall_mean
            s = np.nanstd(rows, axis=0) if len(rows) > 1 else overall_std
            s = np.where(np.isfinite(s) & (s > 1e-12), s, np.where(overall_std > 1e-12, overall_std, 1.0))
            means.append(np.nan_to_num(m).tolist())
            stds.append(s.tolist())
        return means, stds

    def _normalise(self, frame: pd.DataFrame, labels: np.ndarray) -> np.ndarray:
        values = frame[self.sensors].to_numpy(dtype=np.float64)
        return (values - np.asarray(self.mean)[labels]) / np.asarray(self.std)[labels]

    def transform(self, frame: pd.DataFrame) -> dict[int, np.ndarray]:
        """unit -> (cycles, sensors) float32 array; NaN filled forward, then backward, then with the regime mean."""
        frame = frame.sort_values(["unit", "cycle"], kind="stable")
        labels = self.regimes.assign(frame[list(SETTINGS)].to_numpy())
        normalised = pd.DataFrame(self._normalise(frame, labels), columns=self.sensors)
        normalised["unit"] = frame["unit"].to_numpy()
        filled = normalised.groupby("unit")[self.sensors].transform(lambda col: col.ffill().bfill()).fillna(0.0)
        units = frame["unit"].to_numpy()
        array = filled.to_numpy(dtype=np.float32)
        bounds = np.flatnonzero(np.diff(units)) + 1
        return {int(chunk_units[0]): chunk for chunk_units, chunk in
                zip(np.split(units, bounds), np.split(array, bounds), strict=True)}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preprocessor:
        data = dict(data)
        data["regimes"] = Regimes(**data["regimes"])
        return cls(**data)


@dataclass
class Windows:
    """Model inputs: one row per window ending at some cycle of some unit."""

    x: np.ndarray  # (n, window, sensors) normalised sensor values
    seen: np.ndarray  # (n,) cycles observed up to the window's end
    base: np.ndarray  # (n, sensors) mean of the unit's first cycles: its own healthy level (engines differ)
    units: np.ndarray  # (n,)
    y: np.ndarray | None = None  # (n,) capped RUL targets (training only)

    def drift(self, last: int) -> np.ndarray:
        """Mean of the last ``last`` cycles minus the unit's own healthy level: (n, sensors)."""
        return self.x[:, -last:, :].mean(axis=1) - self.base


def _padded(sequence: np.ndarray, window: int) -> np.ndarray:
    """The sequence with ``window - 1`` copies of its first row in front (short units get full windows)."""
    return np.concatenate([np.repeat(sequence[:1], window - 1, axis=0), sequence], axis=0)


def _base_levels(sequence: np.ndarray, ends: np.ndarray, baseline: int) -> np.ndarray:
    """Mean of the first ``min(baseline, end)`` rows for each end (only cycles seen by then)."""
    cumulative = np.cumsum(sequence, axis=0)
    counts = np.minimum(baseline, ends)
    return cumulative[counts - 1] / counts[:, None]


def training_windows(sequences: dict[int, np.ndarray], targets: dict[int, np.ndarray], window: int,
                     baseline: int) -> Windows:
    """Every window ending at a cycle from ``window // 2`` on (short ones padded), with its target."""
    xs, ys, us, ends, bases = [], [], [], [], []
    for unit, seq in sequences.items():
        first = min(max(window // 2, 1), len(seq))
        views = np.lib.stride_tricks.sliding_window_view(_padded(seq, window), window, axis=0)
        unit_ends = np.arange(first, len(seq) + 1)
        xs.append(views[first - 1:].transpose(0, 2, 1))
        ys.append(targets[unit][first - 1:])
        us.append(np.full(len(unit_ends), unit))
        ends.append(unit_ends)
        bases.append(_base_levels(seq, unit_ends, baseline))
    return Windows(x=np.concatenate(xs).astype(np.float32), seen=np.concatenate(ends).astype(np.float32),
                   base=np.concatenate(bases).astype(np.float32), units=np.concatenate(us),
                   y=np.concatenate(ys).astype(np.float32))


def last_windows(sequences: dict[int, np.ndarray], window: int, baseline: int) -> Windows:
    """Each unit's window ending at its last cycle: the RUL question of a test file."""
    units = sorted(sequences)
    x = np.stack([_padded(sequences[u], window)[-window:] for u in units]).astype(np.float32)
    seen = np.asarray([len(sequences[u]) for u in units])
    base = np.stack([_base_levels(sequences[u], seen[i:i + 1], baseline)[0] for i, u in enumerate(units)])
    return Windows(x=x, seen=seen.astype(np.float32), base=base.astype(np.float32), units=np.asarray(units))
