"""The per-machine health model: regime-aware residuals, a multivariate anomaly score,
ranked sensor contributions and a health index.

Fit (``HealthModel.fit``) on a machine's windows (``features.Window``):

1. Each sensor is regressed on the operating regime (feed, air temperature, warm-up)
   by least squares, so what the regime explains is not an anomaly.
2. The standardised residuals of healthy windows have a covariance (Ledoit-Wolf
   shrunk); a window's anomaly score is their squared Mahalanobis distance ``d²``
   (Hotelling's T² on the residuals). Each sensor's contribution is its share of the
   squared standardised residuals ``r_j² / Σ r_k²``: non-negative, summing to 1, and
   readable as "how far this sensor is from what the regime predicts".
3. Which windows are healthy is not labelled: wear is at its lowest in the first
   part of every component's life, and healthy windows are the tightest cluster
   (wear spreads the readings). So the fit is trimmed like a minimum covariance
   determinant estimate: from several starts, the ``healthy_share`` of windows
   closest to the current model are kept and the model refitted (concentration
   steps), and the subset whose residuals fill the smallest volume wins; the covariance
   is then scaled up by the MCD consistency factor, since the most central half of
   normal points is narrower than all of them.

The health index maps the distance ``d`` onto 0-100: 100 up to the typical healthy
distance, 0 at ``d_fail``, the distance the machine reached at the end of the worst
degradations seen in training (its upper quantile), linearly in between.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from zhizao.apps.maintenance.features import REGIME, Window

MODEL_FILE = "health_model.json"
TRIM_ROUNDS = 4


def _trim_consistency(share: float, dims: int) -> float:
    """Factor by which the covariance of the ``share`` most central of normal points underestimates
    the full covariance (the MCD consistency correction, Croux & Haesbroeck 1999)."""
    from scipy.stats import chi2

    if share >= 1:
        return 1.0
    return share / float(chi2.cdf(chi2.ppf(share, dims), dims + 2))


class NotEnoughData(ValueError):
    """Too few windows to learn a machine's healthy behaviour."""


@dataclass(frozen=True, slots=True)
class Score:
    d: float  # Mahalanobis distance of the residuals (sqrt of T²)
    health: float  # health index 0-100
    residuals: dict[str, float]  # standardised residual per sensor (signed, σ units)
    contributions: dict[str, float]  # share of d² per sensor (sums to 1 when d² > 0)


@dataclass
class HealthParams:
    healthy_share: float = 0.5
    ridge: float = 1e-3
    ridge_windows: float = 3.0
    fail_quantile: float = 0.98
    ok_quantile: float = 0.5
    min_windows: int = 36
    random_starts: int = 10
    seed: int = 0


@dataclass
class HealthModel:
    """Healthy behaviour of one machine; ``fit`` learns it, ``score`` compares a window with it."""

    sensors: tuple[str, ...]
    params: HealthParams
    x_mean: list[float] | None = None
    x_scale: list[float] | None = None
    coef: list[list[float]] | None = None  # (1 + len(REGIME)) x len(sensors)
    sigma: list[float] | None = None
    precision: list[list[float]] | None = None
    d_ok: float = 0.0
    d_fail: float = 1.0
    d_q95: float = 1.0  # 95th percentile of the healthy windows' distance (drift reference)
    trained_windows: int = 0
    healthy_windows: int = 0

    @staticmethod
    def matrices(windows: Sequence[Window], sensors: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        x = np.array([[w.regime.get(k, 0.0) for k in REGIME] for w in windows], dtype=float)
        y = np.array([[w.sensors[s] for s in sensors] for w in windows], dtype=float)
        return x, y

    def _design(self, x: np.ndarray) -> np.ndarray:
        z = (x - np.array(self.x_mean)) / np.array(self.x_scale)
        return np.hstack([np.ones((len(x), 1)), z])

    def _residuals(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (y - self._design(x) @ np.array(self.coef)) / np.array(self.sigma)

    def _fit_on(self, x: np.ndarray, y: np.ndarray) -> None:
        from sklearn.covariance import LedoitWolf

        a = self._design(x)
        # Ridge: relative to the data, plus a few pseudo-windows so a short history cannot overfit the regime.
        penalty = (self.params.ridge * len(a) + self.params.ridge_windows) * np.eye(a.shape[1])
        penalty[0, 0] = 0.0  # the intercept is not shrunk
        coef = np.linalg.solve(a.T @ a + penalty, a.T @ y)
        resid = y - a @ coef
        sigma = np.maximum(resid.std(axis=0, ddof=min(a.shape[1], len(a) - 1)), 1e-9 + 1e-6 * np.abs(y).mean(0))
        self.coef, self.sigma = coef.tolist(), sigma.tolist()
        cov = LedoitWolf().fit(resid / sigma).covariance_
        self.precision = np.linalg.pinv(cov).tolist()

    def distances(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        r = self._residuals(x, y)
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", r, np.array(self.precision), r), 0.0))

    def fit(self, windows: Sequence[Window]) -> HealthModel:
        p = self.params
        if len(windows) < p.min_windows:
            raise NotEnoughData(f"windows: {len(windows)} scored windows, at least {p.min_windows} are needed")
        x, y = self.matrices(windows, self.sensors)
        self.x_mean = x.mean(axis=0).tolist()
        self.x_scale = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0).tolist()
        n_keep = max(int(len(x) * p.healthy_share), min(len(x), p.min_windows))
        best: tuple[float, np.ndarray] | None = None
        rng = np.random.default_rng(p.seed)
        # Starts: all windows; those reading lowest after a first fit (wear raises vibration, temperature,
        # current and power, so the least-worn windows read low); random small subsets (as FastMCD).
        self._fit_on(x, y)
        lowest = np.zeros(len(x), dtype=bool)
        lowest[np.argsort(self._residuals(x, y).sum(axis=1))[:n_keep]] = True
        starts = [np.ones(len(x), dtype=bool), lowest]
        for _ in range(p.random_starts):
            start = np.zeros(len(x), dtype=bool)
            start[rng.choice(len(x), size=min(len(x), 4 * (x.shape[1] + 2)), replace=False)] = True
            starts.append(start)
        for keep in starts:
            for _ in range(TRIM_ROUNDS):  # concentration steps: refit on the closest n_keep windows
                self._fit_on(x[keep], y[keep])
                keep = np.zeros(len(x), dtype=bool)
                keep[np.argsort(self.distances(x, y))[:n_keep]] = True
            self._fit_on(x[keep], y[keep])
            resid = y[keep] - self._design(x[keep]) @ np.array(self.coef)
            volume = float(np.linalg.slogdet(np.cov(resid, rowvar=False) + 1e-12 * np.eye(y.shape[1]))[1])
            if best is None or volume < best[0]:
                best = (volume, keep)
        assert best is not None
        keep = best[1]
        self._fit_on(x[keep], y[keep])
        self.precision = (np.array(self.precision) / _trim_consistency(keep.mean(), len(self.sensors))).tolist()
        d = self.distances(x, y)
        self.d_ok = float(np.quantile(d[keep], p.ok_quantile))
        self.d_q95 = float(np.quantile(d[keep], 0.95))
        # A short history may hold no worn-out component: never put the failure level right above the noise.
        self.d_fail = max(float(np.quantile(d, p.fail_quantile)), self.d_ok * 4, self.d_ok + 6.0)
        self.trained_windows, self.healthy_windows = len(x), int(keep.sum())
        return self

    def health_of(self, d: float) -> float:
        return float(100 * np.clip((self.d_fail - d) / (self.d_fail - self.d_ok), 0.0, 1.0))

    def score(self, window: Window) -> Score:
        if self.coef is None:
            raise NotEnoughData("model: not trained")
        x, y = self.matrices([window], self.sensors)
        r = self._residuals(x, y)[0]
        pr = np.array(self.precision) @ r
        d = float(max(r @ pr, 0.0)) ** 0.5
        squares = r * r
        total = float(squares.sum()) or 1.0
        return Score(
            d=round(d, 4), health=round(self.health_of(d), 2),
            residuals={s: round(float(v), 3) for s, v in zip(self.sensors, r, strict=True)},
            contributions={s: round(float(v) / total, 4) for s, v in zip(self.sensors, squares, strict=True)},
        )

    # ---- persistence (the registry stores the folder) ------------------------
    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in asdict(self).items() if k != "params"}
        data["params"] = asdict(self.params)
        data["sensors"] = list(self.sensors)
        path = folder / MODEL_FILE
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    @classmethod
    def load(cls, folder: Path) -> HealthModel:
        data = json.loads((Path(folder) / MODEL_FILE).read_text(encoding="utf-8"))
        data["params"] = HealthParams(**data["params"])
        data["sensors"] = tuple(data["sensors"])
        return cls(**data)
