"""Honest RUL estimates from run-to-failure data: engine-wise K-fold cross-validation with test-like truncation.

A C-MAPSS test file stops each engine some time before failure and asks for the RUL at its last
cycle. To estimate that error without the withheld truth, the training engines are split into
K folds by engine; the model is fitted on K-1 folds and each held-out engine is cut at random
points (several "rounds", one cut per engine per round), exactly as a test file would present it.
Each round over all engines is one test-like set: RMSE and the NASA score are computed per round,
and their mean and spread across rounds are reported.

Cut protocol (an assumption, stated in docs/maintenance-rul.md): at least ``min_prefix`` cycles
are observed and the true RUL at the cut is at most ``max_rul`` (uniform over the admissible cuts).
The truth is the raw, uncapped RUL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


def nasa_score(predicted: np.ndarray, truth: np.ndarray) -> float:
    """PHM08 scoring function: sum of exp(-d/13)-1 for early (d<0) and exp(d/10)-1 for late predictions."""
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return float(np.sum(np.where(d < 0, np.exp(-d / 13.0) - 1.0, np.exp(d / 10.0) - 1.0)))


def rmse(predicted: np.ndarray, truth: np.ndarray) -> float:
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return float(np.sqrt(np.mean(d**2)))


@dataclass(frozen=True)
class Cut:
    round: int
    unit: int  # original engine
    observed: int  # cycles kept
    rul: int  # true remaining cycles after the last kept one


def draw_cuts(lengths: dict[int, int], rounds: int, rng: np.random.Generator, min_prefix: int = 31,
              max_rul: int = 150) -> list[Cut]:
    """``rounds`` cuts per engine, uniform over the admissible cut points (see the module doc)."""
    cuts = []
    for unit, length in sorted(lengths.items()):
        low = max(min(min_prefix, length - 1), length - max_rul, 1)
        high = length - 1  # at least one cycle of life left
        for r in range(rounds):
            observed = int(rng.integers(low, high + 1)) if high >= low else max(length - 1, 1)
            cuts.append(Cut(r, unit, observed, length - observed))
    return cuts


def truncated_frame(frame: pd.DataFrame, cuts: Sequence[Cut]) -> tuple[pd.DataFrame, dict[int, Cut]]:
    """A test-like frame: every cut becomes a pseudo unit holding the first ``observed`` cycles."""
    groups = {int(u): g for u, g in frame.groupby("unit", sort=False)}
    parts, index = [], {}
    for pseudo, cut in enumerate(cuts, start=1):
        part = groups[cut.unit].iloc[:cut.observed].copy()
        part["unit"] = pseudo
        parts.append(part)
        index[pseudo] = cut
    return pd.concat(parts, ignore_index=True), index


def engine_folds(units: Sequence[int], k: int, rng: np.random.Generator) -> list[np.ndarray]:
    shuffled = rng.permutation(np.asarray(sorted(units)))
    return [np.sort(fold) for fold in np.array_split(shuffled, k)]


def summarise(predictions: dict[str, dict[int, float]], index: dict[int, Cut], rounds: int) -> dict[str, dict]:
    """Per method: RMSE and NASA score per round (each round = one test-like set), mean and spread."""
    out = {}
    for method, pred in predictions.items():
        per_round_rmse, per_round_score = [], []
        for r in range(rounds):
            keys = [u for u, c in index.items() if c.round == r]
            p = np.array([pred[u] for u in keys])
            t = np.array([index[u].rul for u in keys])
            per_round_rmse.append(rmse(p, t))
            per_round_score.append(nasa_score(p, t))
        out[method] = {
            "rmse_mean": round(float(np.mean(per_round_rmse)), 3),
            "rmse_std": round(float(np.std(per_round_rmse)), 3),
            "rmse_min": round(float(np.min(per_round_rmse)), 3),
            "rmse_max": round(float(np.max(per_round_rmse)), 3),
            "score_mean": round(float(np.mean(per_round_score)), 1),
            "score_std": round(float(np.std(per_round_score)), 1),
            "score_median": round(float(np.median(per_round_score)), 1),
            "engines_per_round": len(index) // max(rounds, 1),
        }
    return out


FitPredict = Callable[[pd.DataFrame, pd.DataFrame], dict[str, dict[int, float]]]


def cross_validate(frame: pd.DataFrame, fit_predict: FitPredict, k: int = 5, rounds: int = 5, seed: int = 0,
                   min_prefix: int = 31, max_rul: int = 150, on_fold: Callable[[int, int], None] | None = None) -> dict:
    """Engine-wise K-fold CV. ``fit_predict(train_frame, test_like_frame)`` returns, per method name,
    the RUL of each pseudo unit of the test-like frame."""
    rng = np.random.default_rng(seed)
    lengths = {int(u): int(n) for u, n in frame.groupby("unit")["cycle"].count().items()}
    folds = engine_folds(list(lengths), k, rng)
    predictions: dict[str, dict[int, float]] = {}
    index: dict[int, Cut] = {}
    fold_metrics = []
    offset = 0
    for number, held in enumerate(folds, start=1):
        cuts = draw_cuts({u: lengths[u] for u in held}, rounds, rng, min_prefix, max_rul)
        test_like, fold_index = truncated_frame(frame[frame["unit"].isin(held)], cuts)
        test_like["unit"] += offset
        fold_index = {u + offset: c for u, c in fold_index.items()}
        fold_pred = fit_predict(frame[~frame["unit"].isin(held)], test_like)
        truth = np.array([c.rul for c in fold_index.values()])
        fold_metrics.append({"fold": number, "engines": len(held), **{
            method: round(rmse(np.array([p[u] for u in fold_index]), truth), 3) for method, p in fold_pred.items()}})
        for method, p in fold_pred.items():
            predictions.setdefault(method, {}).update(p)
        index.update(fold_index)
        offset += len(cuts)
        if on_fold:
            on_fold(number, k)
    return {"protocol": {"folds": k, "rounds": rounds, "seed": seed, "min_prefix": min_prefix, "max_rul": max_rul,
                         "engines": len(lengths), "truth": "raw RUL at the cut (not capped)"},
            "methods": summarise(predictions, index, rounds), "folds": fold_metrics}
