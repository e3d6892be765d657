"""Anomaly detection from good samples only: PaDiM (Defard et al. 2020) on a CNN's patch features.

Features: the stem and the first two residual stages of an ``InspectionNet`` (1/2, 1/4 and 1/8 of
the input) brought onto the 1/4 grid, plus the input's local mean and spread — one vector per patch.
The backbone is either a trained classifier's (``--backbone MODEL``: features shaped by real defects)
or, for a product with no model yet, the same architecture with fixed random weights (random
convolutional features describe texture surprisingly well, and nothing is downloaded).

Good images fit a Gaussian of the patch features: one shared by all positions (``mode="texture"``,
for surfaces whose defects can be anywhere: few images suffice) or one per position (``"aligned"``,
for fixtured parts). A patch's anomaly score is its Mahalanobis distance; the map is smoothed and its
maximum is the image score. The threshold is a quantile of out-of-fold scores of the good images
(each scored by a model fitted without it), so it is calibrated on images the model has not seen.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy import ndimage

from zhizao.apps.inspection.images import Preprocessing, normalise

Mode = Literal["texture", "aligned"]
RANDOM_BACKBONE_SEED = 1234
SHRINK = 0.01  # added to the covariance diagonal, relative to its mean variance


@dataclass
class Gaussian:
    mean: np.ndarray  # (D,) or (P, D)
    precision: np.ndarray  # (D, D) or (P, D, D)


def random_backbone(channels: int) -> Any:
    """The architecture with fixed random weights (same seed, same features, on every machine)."""
    import torch

    from zhizao.apps.inspection.net import InspectionNet

    torch.manual_seed(RANDOM_BACKBONE_SEED)
    return InspectionNet(channels, 2).eval()


def patch_features(network: Any, batch: np.ndarray) -> np.ndarray:
    """(N, H, W, D) patch features of normalised images (N, C, S, S) on the 1/4-resolution grid:
    the stem (pooled), stages 1 and 2 (upsampled), and the local mean and spread of the input
    itself, so plain dark or bright spots count even where convolutional features barely move."""
    import torch
    import torch.nn.functional as F

    out = []
    with torch.inference_mode():
        for i in range(0, len(batch), 64):
            x = torch.from_numpy(batch[i:i + 64])
            stem = network.stem(x)
            fine = network.stages[0](stem)
            coarse = network.stages[1](fine)
            grid = fine.shape[-2:]
            pooled_stem = F.adaptive_avg_pool2d(stem, grid)
            coarse = F.interpolate(coarse, size=grid, mode="bilinear", align_corners=False)
            mean = F.adaptive_avg_pool2d(x, grid)
            spread = (F.adaptive_avg_pool2d(x * x, grid) - mean * mean).clamp(min=0).sqrt()
            out.append(torch.cat([pooled_stem, fine, coarse, mean, spread], 1).permute(0, 2, 3, 1).numpy())
    return np.concatenate(out).astype(np.float64)


def fit_gaussian(features: np.ndarray, mode: Mode) -> Gaussian:
    n, h, w, d = features.shape
    if mode == "texture":
        flat = features.reshape(-1, d)
        mean = flat.mean(0)
        cov = np.cov(flat, rowvar=False)
        cov += SHRINK * np.trace(cov) / d * np.eye(d) + 1e-6 * np.eye(d)
        return Gaussian(mean, np.linalg.inv(cov))
    flat = features.reshape(n, h * w, d)
    mean = flat.mean(0)
    centred = flat - mean
    cov = np.einsum("npi,npj->pij", centred, centred) / max(n - 1, 1)
    scale = np.trace(cov, axis1=1, axis2=2).mean() / d
    cov += (SHRINK * scale + 1e-6) * np.eye(d)
    return Gaussian(mean, np.linalg.inv(cov))


def mahalanobis_maps(features: np.ndarray, gaussian: Gaussian) -> np.ndarray:
    """(N, H, W) Mahalanobis distance of every patch, lightly smoothed."""
    n, h, w, d = features.shape
    if gaussian.mean.ndim == 1:
        centred = features.reshape(-1, d) - gaussian.mean
        dist = np.einsum("ij,jk,ik->i", centred, gaussian.precision, centred)
    else:
        centred = features.reshape(n, h * w, d) - gaussian.mean
        dist = np.einsum("npi,pij,npj->np", centred, gaussian.precision, centred)
    maps = np.sqrt(np.clip(dist, 0, None)).reshape(n, h, w)
    return np.stack([ndimage.gaussian_filter(m, sigma=1.0) for m in maps])


@dataclass
class AnomalyModel:
    prep: Preprocessing
    mode: Mode
    gaussian: Gaussian
    threshold: float
    backbone: str  # "random" or the classifier folder it came from
    network: Any
    metrics: dict[str, Any] = field(default_factory=dict)

    def score_maps(self, images: np.ndarray) -> np.ndarray:
        """Anomaly maps (N, h, w) of decoded images in [0, 1]."""
        return mahalanobis_maps(patch_features(self.network, normalise(images, self.prep)), self.gaussian)

    def scores(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(image scores, maps): an image's score is the maximum of its map."""
        maps = self.score_maps(images)
        return maps.reshape(len(maps), -1).max(1), maps


def fit_anomaly(images: np.ndarray, network: Any, prep: Preprocessing, *, mode: Mode = "texture",
                backbone: str = "random", quantile: float = 0.99, folds: int = 5, seed: int = 0) -> AnomalyModel:
    """Fit on good images (N, C, S, S) in [0, 1]; ``prep`` has the normalisation of the backbone."""
    if len(images) < 2:
        raise ValueError("--good: at least two good images are needed")
    started = time.perf_counter()
    features = patch_features(network, normalise(images, prep))
    folds = max(2, min(folds, len(images)))
    order = np.random.default_rng(seed).permutation(len(images))
    out_of_fold = np.empty(len(images))
    for k in range(folds):
        held = order[k::folds]
        kept = np.setdiff1d(order, held)
        maps = mahalanobis_maps(features[held], fit_gaussian(features[kept], mode))
        out_of_fold[held] = maps.reshape(len(held), -1).max(1)
    threshold = float(np.quantile(out_of_fold, quantile))
    model = AnomalyModel(prep, mode, fit_gaussian(features, mode), threshold, backbone, network)
    model.metrics = {"good_images": len(images), "threshold_quantile": quantile,
                     "oof_score_median": float(np.median(out_of_fold)), "threshold": threshold,
                     "fit_seconds": round(time.perf_counter() - started, 2)}
    return model


def save_anomaly(model: AnomalyModel, out: Path, *, data_fingerprint: str = "") -> Path:
    import torch

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    np.savez(staging / "gaussian.npz", mean=model.gaussian.mean.astype(np.float32),
             precision=model.gaussian.precision.astype(np.float32))
    if model.backbone != "random":
        torch.save({"state_dict": model.network.state_dict(), "channels": model.prep.channels,
                    "classes": model.network.head.out_features}, staging / "backbone.pt")
    meta = {"format": 1, "kind": "inspection-anomaly", "mode": model.mode, "backbone": model.backbone,
            "preprocessing": model.prep.to_json(), "threshold": model.threshold, "metrics": model.metrics,
            "data_fingerprint": data_fingerprint, "created_ms": int(time.time() * 1000)}
    (staging / "anomaly.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
    return out


def load_anomaly(folder: Path) -> AnomalyModel:
    import torch

    from zhizao.apps.inspection.net import InspectionNet
    from zhizao.apps.inspection.predictor import ModelError

    folder = Path(folder)
    meta_path = folder / "anomaly.json"
    if not meta_path.is_file():
        raise ModelError(f"--model: '{folder}' is not an anomaly model folder (no anomaly.json)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    prep = Preprocessing.from_json(meta["preprocessing"])
    if meta["backbone"] == "random":
        network = random_backbone(prep.channels)
    else:
        saved = torch.load(folder / "backbone.pt", map_location="cpu", weights_only=True)
        network = InspectionNet(saved["channels"], saved["classes"])
        network.load_state_dict(saved["state_dict"])
        network.eval()
    stats = np.load(folder / "gaussian.npz")
    gaussian = Gaussian(stats["mean"].astype(np.float64), stats["precision"].astype(np.float64))
    return AnomalyModel(prep, meta["mode"], gaussian, float(meta["threshold"]), meta["backbone"], network,
                        meta.get("metrics", {}))


def heat_map_png(image: np.ndarray, score_map: np.ndarray, threshold: float, path: Path) -> None:
    """The picture in grey with the anomaly map over it (transparent below half the threshold,
    yellow-red above), at the picture's own resolution."""
    from PIL import Image

    gray = image.mean(0) if image.ndim == 3 else image
    h, w = gray.shape
    up = np.asarray(Image.fromarray(score_map.astype(np.float32)).resize((w, h), Image.BILINEAR))
    level = np.clip((up / max(threshold, 1e-9) - 0.5) / 1.0, 0, 1)  # 0 at half the threshold, 1 at 1.5x
    rgb = np.stack([gray] * 3, -1)
    colour = np.stack([np.ones_like(level), 1 - level, np.zeros_like(level)], -1)
    alpha = (0.65 * level)[..., None]
    out = (rgb * (1 - alpha) + colour * alpha) * 255
    Image.fromarray(out.clip(0, 255).astype(np.uint8)).save(path)
