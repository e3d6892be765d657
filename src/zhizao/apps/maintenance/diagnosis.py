"""Fault classification: which failure mode an anomaly points to, learned from the machine's own past.

Every failure the plant reports (``_events/failure``, with its mode) labels the
anomaly signature seen just before it: the mean standardised residual per sensor
over the scored windows of the last ``lookback`` before the failure that were
anomalous. A Gaussian naive Bayes classifier on the unit-length signatures (so
the direction of the anomaly, not its size, decides) gives each mode a
probability, if its cross-validated accuracy clearly beats always naming the
commonest mode (by two binomial standard errors); otherwise (signatures that do
not tell the modes apart, or fewer than two modes seen) it says how often each
mode occurred on this machine. The explanation is always the ranked sensors of
the signature.
Modes that strike without warning (tool breakage, electrical faults) leave no
anomalous signature before them and so never become labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MIN_PER_CLASS = 2


@dataclass
class FaultClassifier:
    sensors: tuple[str, ...]
    modes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    theta: list[list[float]] | None = None  # per mode: mean signature
    var: list[list[float]] | None = None
    prior: list[float] | None = None
    cv: dict[str, float] = field(default_factory=dict)  # cross-validated accuracy vs always the commonest mode

    def fit(self, signatures: Sequence[Sequence[float]], labels: Sequence[str]) -> FaultClassifier:
        self.counts = dict(Counter(labels))
        usable = [m for m, n in sorted(self.counts.items()) if n >= MIN_PER_CLASS]
        self.modes, self.theta, self.cv = usable, None, {}
        if len(usable) >= 2:
            from sklearn.model_selection import StratifiedKFold, cross_val_score
            from sklearn.naive_bayes import GaussianNB

            x = np.array([_unit(s) for s, m in zip(signatures, labels, strict=True) if m in usable])
            y = [m for m in labels if m in usable]
            folds = StratifiedKFold(n_splits=min(5, min(self.counts[m] for m in usable)), shuffle=True, random_state=0)
            accuracy = float(cross_val_score(GaussianNB(var_smoothing=1e-2), x, y, cv=folds).mean())
            majority = max(self.counts[m] for m in usable) / len(y)
            self.cv = {"accuracy": round(accuracy, 4), "majority": round(majority, 4)}
            # Better than the commonest mode by two binomial standard errors, or the signatures do not tell
            # the modes apart (a lucky split is not knowledge): then say how often each mode occurs.
            if accuracy <= majority + 2 * (majority * (1 - majority) / len(y)) ** 0.5:
                return self
            nb = GaussianNB(var_smoothing=1e-2).fit(x, y)
            self.modes = [str(c) for c in nb.classes_]
            self.theta, self.var, self.prior = nb.theta_.tolist(), nb.var_.tolist(), nb.class_prior_.tolist()
        return self

    def predict(self, signature: Sequence[float]) -> list[tuple[str, float]]:
        """(mode, probability), most likely first; empty when no failure has been seen."""
        if self.theta is None:
            total = sum(self.counts.values())
            return sorted(((m, n / total) for m, n in self.counts.items()), key=lambda item: -item[1])
        x = _unit(signature)
        theta, var = np.array(self.theta), np.array(self.var)
        log_like = -0.5 * (np.log(2 * np.pi * var) + (x - theta) ** 2 / var).sum(axis=1) + np.log(self.prior)
        prob = np.exp(log_like - log_like.max())
        prob /= prob.sum()
        return sorted(((m, float(p)) for m, p in zip(self.modes, prob, strict=True)), key=lambda item: -item[1])

    def to_json(self) -> dict:
        return {"sensors": list(self.sensors), "modes": self.modes, "counts": self.counts, "theta": self.theta,
                "var": self.var, "prior": self.prior, "cv": self.cv}

    @classmethod
    def from_json(cls, data: dict) -> FaultClassifier:
        return cls(tuple(data["sensors"]), data["modes"], data["counts"], data["theta"], data["var"], data["prior"],
                   data.get("cv", {}))


def _unit(signature: Sequence[float]) -> np.ndarray:
    v = np.asarray(signature, dtype=float)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v
