"""Training the defect classifier on CPU and writing a self-contained model folder.

Recipe (chosen to generalise, not tuned to one data set): a stratified held-out split (default 10 %)
is kept aside for calibration; the rest trains the compact ResNet with AdamW, a one-cycle learning
rate, label smoothing and on-the-fly augmentation. The held-out split then fits the softmax
temperature (calibrated confidence, ECE reported before and after) and the reject threshold. The
model folder holds ``model.onnx`` (logits), ``weights.pt`` (for anomaly features and retraining),
and ``model.json`` (classes, preprocessing, temperature, threshold, metrics, data fingerprint).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zhizao.apps.inspection.calibration import (
    expected_calibration_error,
    fit_temperature,
    reject_threshold,
    softmax,
)
from zhizao.apps.inspection.images import LabelledImages, Preprocessing, is_gray, load_image, normalise

MODEL_FORMAT = 1
MIN_STEPS_PER_EPOCH = 20
Progress = Callable[[str, float], None]  # (stage, fraction done)


@dataclass
class FitConfig:
    size: int = 128
    epochs: int = 30
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    holdout: float = 0.1  # share kept aside for calibration
    max_error: float = 0.005  # error rate allowed among accepted (not reviewed) images
    seed: int = 0
    threads: int = 2


@dataclass
class TrainedClassifier:
    classes: tuple[str, ...]
    prep: Preprocessing
    config: FitConfig
    network: Any  # InspectionNet (torch), in eval mode
    temperature: float
    threshold: float
    metrics: dict[str, Any] = field(default_factory=dict)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Logits of normalised images (B, C, S, S) with torch (training and benchmarks)."""
        import torch

        with torch.inference_mode():
            return np.concatenate([self.network(torch.from_numpy(batch[i:i + 128])).numpy()
                                   for i in range(0, len(batch), 128)]) if len(batch) else np.zeros((0, 0))


def decide_channels(paths: tuple[Path, ...] | list[Path]) -> int:
    """1 when every training image is grayscale, else 3."""
    return 1 if all(is_gray(p) for p in paths) else 3


def decode_dataset(data: LabelledImages, size: int, progress: Progress | None = None) -> tuple[np.ndarray, int]:
    """All training images decoded at ``size``; a training image that cannot be read is an error."""
    channels = decide_channels(data.paths)
    prep = Preprocessing(size=size, channels=channels)
    arrays = []
    for i, path in enumerate(data.paths):
        arrays.append(load_image(path, prep))
        if progress and i % 50 == 0:
            progress("decode", i / len(data.paths))
    return np.stack(arrays), channels


def stratified_split(labels: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held out): ``share`` of each class held out, at least one when a class has 3+."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        n_held = int(round(share * len(idx))) if share > 0 else 0
        if share > 0 and n_held == 0 and len(idx) >= 3:
            n_held = 1
        held.extend(idx[:n_held])
        train.extend(idx[n_held:])
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(held, dtype=np.int64))


def fit_classifier(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], config: FitConfig,
                   progress: Progress | None = None) -> TrainedClassifier:
    """Train on decoded images ``(N, C, S, S)`` in [0, 1]; calibrate on a held-out split."""
    import torch
    import torch.nn.functional as F

    from zhizao.apps.inspection.net import InspectionNet, augment

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    started = time.perf_counter()
    train_idx, held_idx = stratified_split(labels, config.holdout, config.seed)
    channels = images.shape[1]
    mean = tuple(float(images[train_idx, c].mean()) for c in range(channels))
    std = tuple(max(float(images[train_idx, c].std()), 1e-3) for c in range(channels))
    prep = Preprocessing(size=images.shape[-1], channels=channels, mean=mean, std=std)
    x_all = torch.from_numpy(normalise(images, prep))
    y_all = torch.from_numpy(labels)
    x_train, y_train = x_all[train_idx], y_all[train_idx]

    network = InspectionNet(channels, len(classes))
    optimiser = torch.optim.AdamW(network.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    batch_size = max(2, min(config.batch_size, len(train_idx)))  # BatchNorm needs 2+ per batch
    # Small data sets still get enough optimiser steps: an epoch is at least MIN_STEPS_PER_EPOCH
    # batches (fresh augmentations of the same images), so 50 images learn as well as 5,000 can.
    steps_per_epoch = max(MIN_STEPS_PER_EPOCH, len(train_idx) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, epochs=config.epochs,
                                                   steps_per_epoch=steps_per_epoch, pct_start=0.2)
    generator = torch.Generator().manual_seed(config.seed)
    # Balanced sampling: each class is seen equally often, whatever its count.
    class_weight = 1.0 / np.bincount(labels[train_idx], minlength=len(classes)).clip(min=1)
    sample_weight = torch.from_numpy(class_weight[labels[train_idx]])
    losses = []
    for epoch in range(config.epochs):
        network.train()
        order = torch.multinomial(sample_weight, steps_per_epoch * batch_size, replacement=True, generator=generator)
        epoch_loss = 0.0
        for step in range(steps_per_epoch):
            pick = order[step * batch_size:(step + 1) * batch_size]
            x = augment(x_train[pick], generator)
            loss = F.cross_entropy(network(x), y_train[pick], label_smoothing=config.label_smoothing)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            epoch_loss += loss.item()
        losses.append(round(epoch_loss / steps_per_epoch, 4))
        if progress:
            progress("train", (epoch + 1) / config.epochs)
    network.eval()
    trained = TrainedClassifier(classes, prep, config, network, 1.0, 0.5)
    metrics: dict[str, Any] = {"train_images": int(len(train_idx)), "holdout_images": int(len(held_idx)),
                               "epochs": config.epochs, "final_train_loss": losses[-1] if losses else None}
    if len(held_idx):
        held_logits = trained.logits(x_all[held_idx].numpy())
        held_labels = labels[held_idx]
        trained.temperature = fit_temperature(held_logits, held_labels)
        raw, calibrated = softmax(held_logits), softmax(held_logits, trained.temperature)
        trained.threshold = reject_threshold(calibrated, held_labels, config.max_error)
        confident = calibrated.max(axis=1) >= trained.threshold
        metrics.update({
            "holdout_accuracy": float((calibrated.argmax(1) == held_labels).mean()),
            "ece_before": round(expected_calibration_error(raw, held_labels), 4),
            "ece_after": round(expected_calibration_error(calibrated, held_labels), 4),
            "temperature": round(trained.temperature, 4),
            "reject_threshold": round(trained.threshold, 4),
            "holdout_review_rate": float(1 - confident.mean()),
            "holdout_accuracy_accepted": float((calibrated.argmax(1) == held_labels)[confident].mean())
            if confident.any() else None,
        })
    metrics["fit_seconds"] = round(time.perf_counter() - started, 1)
    trained.metrics = metrics
    return trained


def export_onnx(trained: TrainedClassifier, path: Path) -> None:
    """Logits graph with a dynamic batch dimension (temperature is applied by the predictor).

    The TorchScript exporter: the newer torch.export one needs onnxscript, which is not a dependency."""
    import warnings

    import torch

    example = torch.zeros(1, trained.prep.channels, trained.prep.size, trained.prep.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(trained.network, (example,), str(path), input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17,
                          dynamo=False)


def save_model(trained: TrainedClassifier, out: Path, *, data_fingerprint: str = "",
               extra: dict[str, Any] | None = None) -> Path:
    """Write the model folder atomically (a half-written model never replaces a good one)."""
    import torch

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        export_onnx(trained, staging / "model.onnx")
        torch.save({"state_dict": trained.network.state_dict(), "channels": trained.prep.channels,
                    "classes": len(trained.classes)}, staging / "weights.pt")
        meta = {"format": MODEL_FORMAT, "kind": "inspection-classifier", "classes": list(trained.classes),
                "preprocessing": trained.prep.to_json(), "temperature": trained.temperature,
                "reject_threshold": trained.threshold, "metrics": trained.metrics,
                "fit_config": asdict(trained.config), "data_fingerprint": data_fingerprint,
                "created_ms": int(time.time() * 1000), **(extra or {})}
        (staging / "model.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-old-"))
            os.replace(out, old / "model")
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def load_network(model_dir: Path) -> Any:
    """The torch network of a model folder (eval mode)."""
    import torch

    from zhizao.apps.inspection.net import InspectionNet

    saved = torch.load(Path(model_dir) / "weights.pt", map_location="cpu", weights_only=True)
    network = InspectionNet(saved["channels"], saved["classes"])
    network.load_state_dict(saved["state_dict"])
    return network.eval()
