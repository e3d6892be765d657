"""One RUL model with a scikit-learn-like shape: ``fit`` on a run-to-failure frame, ``predict`` the RUL
of each unit at its last cycle, ``save``/``load`` a self-contained folder.

The folder holds everything predict needs and no data path:
``preprocess.json`` (regimes, scaling, sensors kept), ``network.pt`` (the CNN ensemble's weights),
``baseline-<i>.txt`` (the LightGBM boosters) and ``meta.json`` (parameters, metrics, data fingerprint).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from zhizao.apps.maintenance.rul.features import Preprocessor, last_windows, rul_targets, training_windows

FORMAT = "zhizao-rul/1"
# progress(stage, done, total): stage is "network" (epochs over all members) or "baseline"
Progress = Callable[[str, int, int], None]


class ModelFolderError(ValueError):
    """A model folder that cannot be loaded; the message names the folder and the missing part."""


@dataclass(frozen=True)
class RulParams:
    window: int = 30  # cycles per input window
    cap: float = 125.0  # piecewise-linear target: RUL is at most this while the engine is healthy
    baseline_cycles: int = 20  # first cycles of a unit that define its own healthy level
    seeds: int = 5  # CNN ensemble members
    epochs: int = 40
    patience: int = 6
    batch_size: int = 256
    # Share of the LightGBM model in the prediction; the rest is the CNN ensemble. Engine-wise cross-validation
    # on FD001 (benchmarks/bench_cmapss.py) found LightGBM alone best (RMSE 12.2 vs CNN 17.9, blends 12.8-14.1),
    # so the CNN is kept for comparison (`predict --cnn`) and for data where it does better.
    baseline_weight: float = 1.0
    seed: int = 0
    threads: int = 1  # see docs/maintenance-rul.md: one thread is far faster on a shared machine


@dataclass
class RulModel:
    params: RulParams = field(default_factory=RulParams)
    preprocessor: Preprocessor | None = None
    network_states: list[dict] = field(default_factory=list)
    boosters: list[Any] = field(default_factory=list)  # lightgbm.Booster
    meta: dict[str, Any] = field(default_factory=dict)

    def fit(self, frame: pd.DataFrame, progress: Progress | None = None) -> RulModel:
        from zhizao.apps.maintenance.rul.baseline import train_baseline
        from zhizao.apps.maintenance.rul.network import TrainConfig, train_member

        p = self.params
        started = time.perf_counter()
        frame = frame.sort_values(["unit", "cycle"], kind="stable").reset_index(drop=True)
        with threadpool_limits(p.threads):
            self.preprocessor = Preprocessor.fit(frame, cap=p.cap, seed=p.seed)
        sequences = self.preprocessor.transform(frame)
        targets = rul_targets(frame, p.cap)
        per_unit = dict(zip(sequences, np.split(targets, np.cumsum([len(s) for s in sequences.values()])[:-1]),
                            strict=True))
        windows = training_windows(sequences, per_unit, p.window, p.baseline_cycles)
        config = TrainConfig(epochs=p.epochs, patience=p.patience, batch_size=p.batch_size, threads=p.threads)
        total = p.seeds * p.epochs
        members = []
        self.network_states = []
        for index in range(p.seeds):
            def tick(epoch: int, _rmse: float, index: int = index) -> None:
                if progress:
                    progress("network", index * p.epochs + epoch, total)
            state, summary = train_member(windows, p.cap, p.seed * 1000 + index, config, tick)
            self.network_states.append(state)
            members.append(summary)
            if progress:
                progress("network", (index + 1) * p.epochs, total)
        if progress:
            progress("baseline", 0, 1)
        self.boosters = train_baseline(windows, seed=p.seed, threads=p.threads)
        if progress:
            progress("baseline", 1, 1)
        self.meta = {
            "format": FORMAT,
            "params": asdict(p),
            "training": {"units": len(sequences), "rows": len(frame), "windows": len(windows.y),
                         "regimes": self.preprocessor.regimes.count, "sensors": self.preprocessor.sensors,
                         "dropped_sensors": self.preprocessor.dropped, "members": members,
                         "fit_seconds": round(time.perf_counter() - started, 1)},
            "metrics": {"inner_val_rmse_mean": round(float(np.mean([m["inner_val_rmse"] for m in members])), 3)},
            "env": {"python": platform.python_version(), "machine": platform.machine()},
        }
        return self

    def _require_fitted(self) -> Preprocessor:
        if self.preprocessor is None or not self.network_states:
            raise ValueError("model: not fitted")
        return self.preprocessor

    def predict_last(self, frame: pd.DataFrame) -> dict[int, float]:
        """RUL of every unit in ``frame`` at its last cycle."""
        from zhizao.apps.maintenance.rul.baseline import predict_baseline
        from zhizao.apps.maintenance.rul.network import predict_members

        pre = self._require_fitted()
        p = self.params
        windows = last_windows(pre.transform(frame), p.window, p.baseline_cycles)
        rul = predict_baseline(self.boosters, windows, p.cap, p.threads)
        if p.baseline_weight < 1:
            cnn = predict_members(self.network_states, windows, p.cap, p.threads)
            rul = p.baseline_weight * rul + (1 - p.baseline_weight) * cnn
        return dict(zip(windows.units.tolist(), (float(v) for v in rul), strict=True))

    def predict_member_last(self, frame: pd.DataFrame, member: str) -> dict[int, float]:
        """One side's RUL at each unit's last cycle: ``"cnn"`` or ``"lightgbm"`` (side-by-side comparison)."""
        from dataclasses import replace

        weight = {"cnn": 0.0, "lightgbm": 1.0}[member]
        return RulModel(replace(self.params, baseline_weight=weight), self.preprocessor, self.network_states,
                        self.boosters, self.meta).predict_last(frame)

    def save(self, folder: str | Path) -> Path:
        import torch

        pre = self._require_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "preprocess.json").write_text(json.dumps(pre.to_json(), indent=1), encoding="utf-8")
        torch.save(self.network_states, folder / "network.pt")
        for old in folder.glob("baseline-*.txt"):
            old.unlink()
        for index, booster in enumerate(self.boosters):
            booster.save_model(str(folder / f"baseline-{index}.txt"))
        (folder / "meta.json").write_text(json.dumps(self.meta, indent=1, ensure_ascii=False), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> RulModel:
        import lightgbm
        import torch

        folder = Path(folder)
        if not folder.is_dir():
            raise ModelFolderError(f"{folder}: no such model folder")
        for name in ("meta.json", "preprocess.json", "network.pt", "baseline-0.txt"):
            if not (folder / name).is_file():
                raise ModelFolderError(f"{folder}: {name} is missing (fit a model into this folder first)")
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ModelFolderError(f"{folder}: meta.json format '{meta.get('format')}' is not {FORMAT}")
        params = RulParams(**meta["params"])
        pre = Preprocessor.from_json(json.loads((folder / "preprocess.json").read_text(encoding="utf-8")))
        states = torch.load(folder / "network.pt", weights_only=True)
        files = sorted(folder.glob("baseline-*.txt"), key=lambda f: int(f.stem.split("-")[1]))
        boosters = [lightgbm.Booster(model_file=str(f)) for f in files]
        return cls(params=params, preprocessor=pre, network_states=states, boosters=boosters, meta=meta)
