"""Inference with onnxruntime from a model folder (no torch needed): labels, calibrated confidence, review flag."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zhizao.apps.inspection.calibration import softmax
from zhizao.apps.inspection.images import ImageError, Preprocessing, load_image, normalise


class ModelError(ValueError):
    """A model folder that cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    review: bool  # confidence below the model's reject threshold: a person should decide
    probabilities: dict[str, float]


def read_model_json(model_dir: Path) -> dict[str, Any]:
    path = Path(model_dir) / "model.json"
    if not path.is_file():
        raise ModelError(f"--model: '{model_dir}' is not a model folder (no model.json); train one with "
                         "`zhizao inspect fit`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable ({exc})") from None


class Classifier:
    """A loaded classifier; ``threads`` are onnxruntime's intra-op threads (decoding uses as many)."""

    def __init__(self, model_dir: Path, threads: int = 2, reject_threshold: float | None = None) -> None:
        import onnxruntime as ort

        self.model_dir = Path(model_dir)
        self.meta = read_model_json(self.model_dir)
        self.classes: list[str] = list(self.meta["classes"])
        self.prep = Preprocessing.from_json(self.meta["preprocessing"])
        self.temperature = float(self.meta.get("temperature", 1.0))
        self.threshold = float(self.meta.get("reject_threshold", 0.5) if reject_threshold is None
                               else reject_threshold)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        onnx_path = self.model_dir / "model.onnx"
        if not onnx_path.is_file():
            raise ModelError(f"--model: '{onnx_path}' is missing")
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.threads = threads

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Raw logits of decoded images (N, C, S, S) in [0, 1]."""
        if not len(images):
            return np.zeros((0, len(self.classes)), np.float32)
        x = normalise(images, self.prep).astype(np.float32)
        return np.concatenate([self.session.run(None, {"image": x[i:i + 64]})[0] for i in range(0, len(x), 64)])

    def predict_arrays(self, images: np.ndarray) -> list[Prediction]:
        probs = softmax(self.logits(images).astype(np.float64), self.temperature)
        out = []
        for row in probs:
            k = int(row.argmax())
            out.append(Prediction(self.classes[k], float(row[k]), bool(row[k] < self.threshold),
                                  {c: float(p) for c, p in zip(self.classes, row, strict=True)}))
        return out

    def decode(self, sources: Sequence[Path | str | bytes]) -> list[np.ndarray | str]:
        """Decode in a small thread pool (Pillow releases the GIL); an error message where one fails."""
        def one(source: Path | str | bytes) -> np.ndarray | str:
            try:
                return load_image(source, self.prep)
            except ImageError as exc:
                return str(exc)

        if len(sources) < 8 or self.threads < 2:
            return [one(s) for s in sources]
        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(one, sources, chunksize=16))

    def predict_files(self, sources: Sequence[Path | str | bytes]) -> list[Prediction | str]:
        """Per input, in order: a Prediction or the error message of an unreadable file."""
        decoded = self.decode(sources)
        good = [d for d in decoded if not isinstance(d, str)]
        predictions = iter(self.predict_arrays(np.stack(good)) if good else [])
        return [d if isinstance(d, str) else next(predictions) for d in decoded]
