"""One machine's health monitor: windows in, scores, RUL and early warnings out.

Pure logic without the platform, so the service, the benchmark and the tests drive
it the same way: ``sample`` for each instrument reading, ``state`` for each state
change, ``failure`` for each reported failure. ``train`` (re)learns the health
model and the fault classifier from the windows and failures it has kept.

Warnings follow a small state machine per degradation episode: ``armed`` →
``warning`` (the health index stayed below ``warn_health`` for ``confirm_windows``
windows) → ``critical`` (below ``critical_health``); one event each. The monitor
re-arms when the health index has recovered above ``rearm_health`` (after a
repair or maintenance), so one worn component gives one warning, not a stream.

Drift: right after maintenance (the first ``fresh_h`` operating hours) a
machine should look healthy. The share of such windows whose
distance exceeds the training's healthy 95th percentile should stay near 5 %;
when it exceeds ``drift_share`` over ``drift_min_windows`` windows the model no
longer describes this machine (new tooling, sensor recalibrated...) and should be
retrained.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zhizao.apps.maintenance.diagnosis import FaultClassifier
from zhizao.apps.maintenance.features import Window, WindowBuilder
from zhizao.apps.maintenance.health import HealthModel, HealthParams, NotEnoughData, Score
from zhizao.apps.maintenance.prognosis import Rul, remaining_life

HOUR_MS = 3_600_000


@dataclass
class MonitorConfig:
    window_ms: int = 10 * 60_000
    warn_health: float = 75.0
    critical_health: float = 20.0
    rearm_health: float = 90.0
    confirm_windows: int = 2
    rul_lookback_h: float = 2.0  # operating hours of the path used for RUL
    max_rul_h: float = 72.0  # operating hours; a path that does not rise gives this
    signature_lookback_h: float = 1.0  # operating hours before a failure that label its signature
    fresh_h: float = 0.5
    drift_share: float = 0.25
    drift_min_windows: int = 12
    keep_windows: int = 30 * 144  # windows kept for training (30 days of 10-minute windows)
    keep_history: int = 7 * 144


@dataclass(slots=True)
class HealthPoint:
    ts: int
    running_h: float
    d: float
    health: float
    residuals: dict[str, float]
    contributions: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"ts": self.ts, "running_h": round(self.running_h, 3), "d": self.d, "health": self.health,
                "residuals": self.residuals, "contributions": self.contributions}


@dataclass
class MachineMonitor:
    machine: str  # equipment id
    path: str  # equipment UNS path
    sensors: tuple[str, ...]
    config: MonitorConfig = field(default_factory=MonitorConfig)
    health_params: HealthParams = field(default_factory=HealthParams)
    model: HealthModel | None = None
    classifier: FaultClassifier | None = None
    model_version: int | None = None
    phase: str = "armed"  # armed | warning | critical
    state_now: str | None = None
    reason_now: str | None = None

    def __post_init__(self) -> None:
        self.builder = WindowBuilder(self.sensors, self.config.window_ms)
        self.windows: deque[Window] = deque(maxlen=self.config.keep_windows)
        self.history: deque[HealthPoint] = deque(maxlen=self.config.keep_history)
        self.failures: list[tuple[int, float, str]] = []  # (ts, running_h, mode)
        self.renewals: list[float] = [0.0]  # operating hours at each renewal
        self.fresh: deque[bool] = deque(maxlen=200)  # exceedance of fresh windows
        self.warnings: deque[dict[str, Any]] = deque(maxlen=500)
        self.episode_h: float = 0.0  # operating hours at which the current episode was armed
        self._below = 0
        self._above = 0
        self._d95 = math.inf  # the deployed model's healthy 95th percentile

    # ---- inputs -------------------------------------------------------------
    def state(self, state: str, reason: str | None) -> None:
        """A state change; leaving maintenance (planned or corrective: worn parts replaced) renews the machine.
        Failure repairs do not count: a tool change or an electrical fix leaves the wear where it was."""
        if self.state_now == "maintenance" and state != "maintenance":
            self.renewals.append(self.operating_h)
        self.state_now, self.reason_now = state, reason

    @property
    def operating_h(self) -> float:
        """The machine's operating-hours counter now."""
        return max(self.builder.running_h, self.windows[-1].running_h if self.windows else 0.0)

    def failure(self, ts: int, mode: str) -> None:
        self.failures.append((ts, self.operating_h, mode))
        del self.failures[:-500]

    def sample(self, ts: int, values: dict[str, float], air: float | None = None) -> list[dict[str, Any]]:
        """One reading of the instruments; returns warning events when a window closes with one."""
        window = self.builder.add(ts, self.state_now, values, air)
        return self.on_window(window) if window is not None else []

    # ---- scoring ------------------------------------------------------------
    def on_window(self, window: Window) -> list[dict[str, Any]]:
        self.windows.append(window)
        if self.model is None:
            return []
        score = self.model.score(window)
        point = HealthPoint(window.end_ms, window.running_h, score.d, score.health, score.residuals,
                            score.contributions)
        self.history.append(point)
        if window.running_h - self.renewals[-1] <= self.config.fresh_h:
            self.fresh.append(score.d > self._d95)
        return self._policy(point, score)

    def _policy(self, point: HealthPoint, score: Score) -> list[dict[str, Any]]:
        c = self.config
        if point.health >= c.rearm_health:
            self._above += 1
            if self._above >= c.confirm_windows and self.phase != "armed":
                self.phase = "armed"
            if self.phase == "armed":
                self.episode_h = point.running_h
        else:
            self._above = 0
        self._below = self._below + 1 if point.health < c.warn_health else 0
        events = []
        if self.phase == "armed" and self._below >= c.confirm_windows:
            self.phase = "warning"
            events.append(self._warning("warning", point))
        if self.phase == "warning" and point.health < c.critical_health:
            self.phase = "critical"
            events.append(self._warning("critical", point))
        return events

    def utilisation(self, now_ms: int) -> float:
        """Operating hours per calendar hour over the last day of scored windows (at least 5 %)."""
        recent = [w for w in self.windows if w.end_ms >= now_ms - 24 * HOUR_MS]
        if len(recent) < 2:
            return 1.0
        span_h = (recent[-1].end_ms - recent[0].start_ms) / HOUR_MS
        return max((recent[-1].running_h - recent[0].running_h) / span_h, 0.05) if span_h > 0 else 1.0

    def rul(self) -> Rul | None:
        """Remaining operating hours until the health index reaches 0, from the current episode's path."""
        if self.model is None or not self.history:
            return None
        now_h = self.history[-1].running_h
        start_h = max(self.episode_h, now_h - self.config.rul_lookback_h)
        path = [p for p in self.history if p.running_h >= start_h]
        if len(path) < 4:
            return None
        d_ok = self.model.d_ok
        t = np.array([p.running_h for p in path])
        y = np.array([max(p.d - d_ok, 1e-3) for p in path])
        rul = remaining_life(t, y, self.model.d_fail - d_ok, max_life=self.config.max_rul_h)
        return rul if rul is not None and rul.median < self.config.max_rul_h else None  # no trend: no estimate

    def diagnose(self, point: HealthPoint) -> list[tuple[str, float]]:
        if self.classifier is None:
            return []
        return self.classifier.predict([point.residuals[s] for s in self.sensors])

    def _warning(self, level: str, point: HealthPoint) -> dict[str, Any]:
        rul = self.rul()
        util = self.utilisation(point.ts)
        lead_h = rul.median / util if rul is not None else None
        ranked = sorted(point.contributions.items(), key=lambda item: -item[1])
        event = {
            "ts": point.ts, "equipment": self.path, "machine": self.machine, "level": level,
            "health": point.health, "d": point.d,
            "rul_h": rul.to_json() if rul else None,
            "lead_time_h": round(lead_h, 2) if lead_h is not None else None,
            "rul_calendar_h": {k: round(getattr(rul, k) / util, 2) for k in ("median", "low", "high")}
            if rul else None,
            "sensors": [{"sensor": s, "share": share, "residual": point.residuals[s]} for s, share in ranked],
            "faults": [{"mode": m, "probability": round(p, 3)} for m, p in self.diagnose(point)[:3]],
            "model_version": self.model_version,
        }
        self.warnings.append(event)
        return event

    # ---- training -----------------------------------------------------------
    def drift(self) -> dict[str, Any]:
        n = len(self.fresh)
        share = sum(self.fresh) / n if n else None
        return {"fresh_windows": n, "exceedance_share": round(share, 4) if share is not None else None,
                "expected_share": 0.05,
                "drifted": bool(n >= self.config.drift_min_windows and share > self.config.drift_share)}

    def train(self, windows: list[Window] | None = None) -> tuple[HealthModel, FaultClassifier, dict[str, Any]]:
        """Learn a model from ``windows`` (default: those kept); does not deploy it (see ``deploy``)."""
        windows = list(self.windows) if windows is None else windows
        model = HealthModel(self.sensors, self.health_params).fit(windows)
        x, y = HealthModel.matrices(windows, self.sensors)
        d = model.distances(x, y)
        health = np.array([model.health_of(v) for v in d])
        signatures, labels = self._signatures(model, windows)
        classifier = FaultClassifier(self.sensors).fit(signatures, labels)
        metrics = {
            "windows": len(windows), "healthy_windows": model.healthy_windows,
            "d_ok": round(model.d_ok, 4), "d_fail": round(model.d_fail, 4),
            "share_below_warn": round(float((health < self.config.warn_health).mean()), 4),
            "failures_labelled": len(labels), "fault_modes": classifier.counts, "fault_cv": classifier.cv,
            "operating_h": round(windows[-1].running_h - windows[0].running_h, 2),
        }
        return model, classifier, metrics

    def _signatures(self, model: HealthModel, windows: list[Window]) -> tuple[list[list[float]], list[str]]:
        if not self.failures or not windows:
            return [], []
        running = np.array([w.running_h for w in windows])
        x, y = HealthModel.matrices(windows, self.sensors)
        resid = model._residuals(x, y)
        health = np.array([model.health_of(v) for v in model.distances(x, y)])
        signatures, labels = [], []
        for _, at_h, mode in self.failures:
            near = (running <= at_h) & (running >= at_h - self.config.signature_lookback_h) & (
                health < self.config.warn_health)
            if near.sum():
                signatures.append(resid[near].mean(axis=0).tolist())
                labels.append(mode)
        return signatures, labels

    def deploy(self, model: HealthModel, classifier: FaultClassifier | None, version: int | None) -> None:
        self.model, self.classifier, self.model_version = model, classifier, version
        self._d95 = model.d_q95
        self.fresh.clear()


__all__ = ["HealthPoint", "MachineMonitor", "MonitorConfig", "NotEnoughData"]
