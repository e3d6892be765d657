"""Fleet scale: one health model per asset, trained and scored in parallel on Dask distributed.

Remote O&M watches many products in the field; each behaves a little differently, so each gets
its own model. The model is regime-aware PCA: operating regimes are found by clustering the
asset's operating settings (load, speed), and per regime the healthy commissioning data is
standardised and described by principal components. A new sample's distance from that description
is Hotelling's T² (inside the model) plus the squared prediction error SPE/Q (outside it), each
divided by its healthy 99th percentile, the larger counting; an asset's risk is the median of that score over its
recent window, so isolated spikes do not raise it but a sustained drift does.

Dask runs the work: a ``LocalCluster`` by default, or the scheduler at ``scheduler`` /
``ZHIZAO_DASK_SCHEDULER`` for a real cluster. Tasks carry asset ids and a seed, not data: the
simulated histories are generated where they are scored, so 1,000 assets need no data transfer.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SETTINGS = ("load", "speed")
SENSORS = ("temperature", "vibration_x", "vibration_y", "current", "pressure", "flow", "oil_temp", "acoustic")
# Fault signatures: sensor -> shift in noise standard deviations at the end of the degradation
FAULT_MODES: dict[str, dict[str, float]] = {
    "bearing": {"vibration_x": 5.0, "vibration_y": 4.0, "acoustic": 4.0, "temperature": 1.5},
    "fouling": {"pressure": 5.0, "flow": -4.0, "temperature": 1.5},
    "electrical": {"current": 5.0, "temperature": 2.5, "oil_temp": 1.5},
}
SCHEDULER_ENV = "ZHIZAO_DASK_SCHEDULER"


@dataclass(frozen=True)
class FleetConfig:
    samples: int = 720  # hourly samples per asset (30 days)
    train_fraction: float = 0.5  # the healthy commissioning part every model is fitted on
    recent: int = 72  # samples scored for the risk ranking (the last 3 days)
    degrading_fraction: float = 0.1
    seed: int = 0


# ---------------------------------------------------------------- simulated fleet


def is_degrading(asset: int, config: FleetConfig) -> bool:
    """Which assets degrade: a seeded choice, so every worker agrees without being told."""
    rng = np.random.default_rng([config.seed, asset, 1])
    return bool(rng.random() < config.degrading_fraction)


def simulate_asset(asset: int, config: FleetConfig) -> pd.DataFrame:
    """A reproducible hourly history for one asset: regime switches, correlated sensor noise, rare
    spikes and, for degrading assets, a growing fault signature starting late in the history."""
    rng = np.random.default_rng([config.seed, asset])
    n = config.samples
    loads = np.array([0.4, 0.7, 1.0])
    regime = np.empty(n, dtype=int)
    t = 0
    while t < n:  # piecewise-constant operating regimes lasting 6-24 hours
        span = int(rng.integers(6, 25))
        regime[t:t + span] = rng.integers(0, len(loads))
        t += span
    load = loads[regime] + rng.normal(0, 0.01, n)
    speed = 900 + 600 * loads[regime] + rng.normal(0, 5, n)
    base = rng.normal(0, 1, len(SENSORS)) * 5 + 50
    load_gain = rng.uniform(5, 30, len(SENSORS))
    noise_sd = rng.uniform(0.5, 1.5, len(SENSORS))
    mixing = rng.normal(0, 1, (2, len(SENSORS)))  # two latent factors make the sensors correlated
    latent = rng.normal(0, 1, (n, 2))
    noise = 0.6 * (latent @ mixing) + rng.normal(0, 1, (n, len(SENSORS)))
    values = base + np.outer(load, load_gain) + noise * noise_sd
    spikes = rng.random((n, len(SENSORS))) < 0.002
    values[spikes] += rng.normal(0, 8, spikes.sum()) * noise_sd[np.nonzero(spikes)[1]]
    mode = ""
    if is_degrading(asset, config):
        mode = str(rng.choice(list(FAULT_MODES)))
        onset = int(n * rng.uniform(0.75, 0.9))
        progress = np.clip((np.arange(n) - onset) / (n - onset), 0, None) ** 1.5
        for sensor, shift in FAULT_MODES[mode].items():
            values[:, SENSORS.index(sensor)] += progress * shift * noise_sd[SENSORS.index(sensor)]
    frame = pd.DataFrame(values, columns=list(SENSORS))
    frame.insert(0, "speed", speed)
    frame.insert(0, "load", load)
    frame.attrs["fault_mode"] = mode
    return frame


# ---------------------------------------------------------------- per-asset model


@dataclass
class AssetHealthModel:
    """Regime-aware PCA health model of one asset (fit on healthy data; ``score`` is ~1 at the healthy 99%)."""

    variance: float = 0.9  # share of variance the principal components keep
    regimes: object = None  # zhizao.apps.maintenance.rul.features.Regimes
    parts: list[dict] = field(default_factory=list)  # per regime: mean, std, components, eigenvalues, limits

    def fit(self, settings: np.ndarray, sensors: np.ndarray, seed: int = 0) -> AssetHealthModel:
        from zhizao.apps.maintenance.rul.features import Regimes

        self.regimes = Regimes.fit(settings, seed=seed, max_regimes=6)
        labels = self.regimes.assign(settings)
        self.parts = []
        for r in range(self.regimes.count):
            rows = sensors[labels == r]
            if len(rows) < sensors.shape[1] + 2:  # too little data in this regime: use all
                rows = sensors
            mean, std = rows.mean(axis=0), rows.std(axis=0)
            std = np.where(std > 1e-9, std, 1.0)
            z = (rows - mean) / std
            _, singular, vt = np.linalg.svd(z, full_matrices=False)
            eigen = singular**2 / max(len(z) - 1, 1)
            keep = int(np.searchsorted(np.cumsum(eigen) / eigen.sum(), self.variance) + 1)
            part = {"mean": mean, "std": std, "components": vt[:keep], "eigen": eigen[:keep]}
            t2, spe = self._statistics(part, z)
            part["t2_limit"] = max(float(np.quantile(t2, 0.99)), 1e-9)
            part["spe_limit"] = max(float(np.quantile(spe, 0.99)), 1e-9)
            self.parts.append(part)
        return self

    @staticmethod
    def _statistics(part: dict, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = z @ part["components"].T
        t2 = np.sum(scores**2 / part["eigen"], axis=1)
        spe = np.sum((z - scores @ part["components"]) ** 2, axis=1)
        return t2, spe

    def score(self, settings: np.ndarray, sensors: np.ndarray) -> np.ndarray:
        """Per sample: the larger of T²/limit and SPE/limit in the sample's regime (1 = the healthy 99%)."""
        labels = self.regimes.assign(settings)
        out = np.empty(len(sensors))
        for r, part in enumerate(self.parts):
            rows = labels == r
            if rows.any():
                t2, spe = self._statistics(part, (sensors[rows] - part["mean"]) / part["std"])
                out[rows] = np.maximum(t2 / part["t2_limit"], spe / part["spe_limit"])
        return out


def fit_and_score_assets(assets: Sequence[int], config: FleetConfig) -> list[dict]:
    """Worker task: simulate, fit and score a chunk of assets; returns one small record per asset."""
    from threadpoolctl import threadpool_limits

    records = []
    with threadpool_limits(1):  # one thread per task: the cluster's workers already fill the cores
        for asset in assets:
            frame = simulate_asset(asset, config)
            settings, sensors = frame[list(SETTINGS)].to_numpy(), frame[list(SENSORS)].to_numpy()
            split = int(len(frame) * config.train_fraction)
            model = AssetHealthModel().fit(settings[:split], sensors[:split], seed=config.seed)
            recent = model.score(settings[-config.recent:], sensors[-config.recent:])
            records.append({"asset": int(asset), "risk": float(np.median(recent)),
                            "alarm_share": float(np.mean(recent > 1.0)), "regimes": model.regimes.count,
                            "degrading": is_degrading(asset, config), "fault_mode": frame.attrs["fault_mode"]})
    return records


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def precision_at_k(records: list[dict], k: int) -> float:
    top = sorted(records, key=lambda r: r["risk"], reverse=True)[:k]
    return sum(r["degrading"] for r in top) / max(k, 1)


def run_fleet(assets: int = 1000, config: FleetConfig | None = None, scheduler: str | None = None,
              workers: int = 2, chunk: int = 20, worker_memory: str = "1GiB",
              progress: Callable[[int, int], None] | None = None) -> dict:
    """Train and score ``assets`` simulated assets on Dask; returns the ranking, timing and memory figures.

    ``scheduler`` (or ``ZHIZAO_DASK_SCHEDULER``) is a scheduler address such as ``tcp://host:8786``;
    without one a ``LocalCluster`` of ``workers`` single-threaded worker processes is started and closed.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    config = config or FleetConfig()
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    started = time.perf_counter()
    cluster = None
    if address:
        client = Client(address)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=worker_memory,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        cluster_ready = time.perf_counter()
        chunks = [list(range(i, min(i + chunk, assets))) for i in range(0, assets, chunk)]
        futures = client.map(fit_and_score_assets, chunks, config=config, pure=False)
        records: list[dict] = []
        for future in as_completed(futures):
            records.extend(future.result())
            if progress:
                progress(len(records), assets)
        finished = time.perf_counter()
        worker_peaks = client.run(_peak_rss_mb)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    records.sort(key=lambda r: r["risk"], reverse=True)
    degrading = sum(r["degrading"] for r in records)
    return {
        "assets": assets,
        "degrading": degrading,
        "precision_at_k": round(precision_at_k(records, degrading), 3),
        "k": degrading,
        "seconds_total": round(time.perf_counter() - started, 2),
        "seconds_fit_and_score": round(finished - cluster_ready, 2),
        "seconds_cluster_start": round(cluster_ready - started, 2),
        "peak_rss_mb": {"client": round(_peak_rss_mb(), 1),
                        "workers": {str(w): round(mb, 1) for w, mb in worker_peaks.items()}},
        "scheduler": address or f"LocalCluster({workers} workers x 1 thread)",
        "config": {"samples": config.samples, "train_fraction": config.train_fraction, "recent": config.recent,
                   "degrading_fraction": config.degrading_fraction, "seed": config.seed, "chunk": chunk},
        "ranking": records,
    }
