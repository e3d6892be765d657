"""Confidence that means what it says: temperature scaling, expected calibration error, reject threshold."""

from __future__ import annotations

import numpy as np

# Sharpening logits more than 2x needs more held-out evidence than a calibration split usually has.
MIN_TEMPERATURE = 0.5


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    p = softmax(logits, temperature)[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(p, 1e-12, None)).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising held-out negative log-likelihood (Guo et al. 2017).

    A golden-section search over log T in [MIN_TEMPERATURE, 20]: one parameter, so nothing can
    overfit much, and a model that is already calibrated keeps T near 1. The floor matters when the
    held-out split has no errors (common for a good model on a small split): the likelihood then
    keeps rising as T → 0 and every confidence would saturate at 1, disabling the reject option.
    """
    if len(labels) == 0:
        return 1.0
    low, high = np.log(MIN_TEMPERATURE), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(logits, labels, np.exp(a)), nll(logits, labels, np.exp(b))
    for _ in range(60):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(logits, labels, np.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(logits, labels, np.exp(b))
    return float(np.exp((low + high) / 2))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE: |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    if len(labels) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for k in range(bins):
        mask = which == k
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def reject_threshold(probs: np.ndarray, labels: np.ndarray, max_error: float = 0.005, floor: float = 0.5) -> float:
    """Lowest confidence threshold at which the accepted held-out images err at most ``max_error``.

    Images below it go to human review. With few held-out errors this is coarse, so it never drops
    below ``floor`` (a guess less likely than not is never accepted).
    """
    if len(labels) == 0:
        return floor
    confidence = probs.max(axis=1)
    wrong = probs.argmax(axis=1) != labels
    for threshold in np.unique(np.concatenate([[floor], confidence[confidence >= floor]])):
        accepted = confidence >= threshold
        if not accepted.any() or wrong[accepted].mean() <= max_error:
            return float(threshold)
    return float(confidence.max())
