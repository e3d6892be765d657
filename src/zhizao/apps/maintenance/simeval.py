"""Evaluate the early warnings on a long headless run of the simulated plant (fixed seed).

The plant publishes on a bus exactly as live, the same ``PlantFeed`` routes it to
the monitors. The first ``train_days`` only collect windows; each machine's model
is trained on them (never on later data) and deployed; the following
``eval_days`` are scored as they come. Warnings are then matched with what the
simulator reports:

- a failure is *warned* when a warning was raised on its machine after the last
  renewal (a wear-out repair or maintenance, which replace the worn part) and
  before the failure; the lead time is from that first warning to the failure;
- a warning is *true* when a wear-out failure of its machine follows within
  ``horizon_h`` with no renewal in between, *pre-empted* when planned maintenance
  renews the machine first (the warning was right, the plan was faster), and a
  *false alarm* otherwise, counted per machine-week of the evaluation.

Wear-out modes (bearing, spindle, pump, drive...) degrade first; sudden modes
(tool breakage, electrical) give no sign by design, so both figures are given.
Which modes wear out is the simulator's truth, used here for scoring only.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from zhizao.apps.maintenance.feed import PlantFeed, build_monitors
from zhizao.apps.maintenance.monitor import HOUR_MS, MonitorConfig
from zhizao.assets.model import Plant
from zhizao.bus import Bus, Message

START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def evaluate_warnings(plant: Plant, *, seed: int, train_days: float, eval_days: float,
                      sample_period_s: float = 10.0, horizon_h: float = 24.0, config: MonitorConfig | None = None,
                      progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    from zhizao.sim import WEAR_MODES, PlantSimulator

    bus = Bus()
    sim = PlantSimulator(bus=bus, plant=plant, seed=seed, start_ms=START_MS, sample_period_s=sample_period_s)
    monitors = build_monitors(plant, config)
    warnings: list[dict[str, Any]] = []
    PlantFeed(plant, monitors, warnings.append).attach(bus)
    failures: list[dict[str, Any]] = []
    renewals: dict[str, list[tuple[int, str]]] = defaultdict(list)

    def on_failure(msg: Message) -> None:
        failures.append(msg.payload)
        if msg.payload["mode"] in WEAR_MODES:
            renewals[msg.payload["equipment"]].append((msg.payload["ts"], "failure"))

    def on_state(msg: Message) -> None:
        p = msg.payload
        if p["state"] == "maintenance":
            renewals[p["equipment"]].append((p["ts"], p["reason"]))

    bus.on("_events/failure/#", on_failure)
    bus.on("_events/state/#", on_state)
    started = time.perf_counter()
    total_s = (train_days + eval_days) * 86_400
    step_s = 6 * 3600.0
    models: dict[str, Any] = {}
    while sim.model.env.now < total_s:
        if not models and sim.model.env.now >= train_days * 86_400:
            for machine, monitor in monitors.items():
                model, classifier, metrics = monitor.train()
                monitor.deploy(model, classifier, 1)
                models[machine] = metrics
        limit = train_days * 86_400 if not models else total_s
        sim.run_until(min(sim.model.env.now + step_s, limit))
        if progress is not None:
            progress(sim.model.env.now / total_s)
    eval_from = START_MS + round(train_days * 86_400_000)
    return {
        "seed": seed, "train_days": train_days, "eval_days": eval_days, "sample_period_s": sample_period_s,
        "window_min": (config or MonitorConfig()).window_ms / 60_000, "horizon_h": horizon_h,
        "machines": len(monitors), "sim_wall_s": round(time.perf_counter() - started, 1),
        **score(warnings, failures, renewals, eval_from, WEAR_MODES, horizon_h, eval_days * len(monitors) / 7),
        "models": models,
    }


def score(warnings: list[dict[str, Any]], failures: list[dict[str, Any]],
          renewals: dict[str, list[tuple[int, str]]], eval_from: int, wear_modes: frozenset[str],
          horizon_h: float, machine_weeks: float) -> dict[str, Any]:
    """Match warnings with failures (see the module docstring)."""
    first_warnings = defaultdict(list)
    for w in warnings:
        if w["level"] == "warning":
            first_warnings[w["equipment"]].append(w)
    leads: list[float] = []
    predicted_leads: list[tuple[float, float]] = []
    counts = {"wear_failures": 0, "wear_warned": 0, "all_failures": 0, "all_warned": 0}
    diagnosed: list[tuple[str, str, str]] = []  # (equipment, top fault of the first warning, actual mode)
    by_mode: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in failures:
        if f["ts"] < eval_from:
            continue
        eq = f["equipment"]
        last_renewal = max((ts for ts, _ in renewals[eq] if ts < f["ts"]), default=0)
        raised = [w for w in first_warnings[eq] if last_renewal < w["ts"] <= f["ts"]]
        wear = f["mode"] in wear_modes
        counts["all_failures"] += 1
        counts["all_warned"] += bool(raised)
        by_mode[f["mode"]][0] += 1
        by_mode[f["mode"]][1] += bool(raised)
        if wear:
            counts["wear_failures"] += 1
            if raised:
                counts["wear_warned"] += 1
                lead = (f["ts"] - raised[0]["ts"]) / HOUR_MS
                if raised[0].get("faults"):
                    diagnosed.append((eq, raised[0]["faults"][0]["mode"], f["mode"]))
                leads.append(lead)
                if raised[0].get("lead_time_h") is not None:
                    predicted_leads.append((raised[0]["lead_time_h"], lead))
    outcome = {"true": 0, "preempted": 0, "false": 0}
    for eq, ws in first_warnings.items():
        for w in ws:
            if w["ts"] < eval_from:
                continue
            later = sorted((ts, kind) for ts, kind in renewals[eq] if ts > w["ts"])
            if later and later[0][1] == "failure" and later[0][0] - w["ts"] <= horizon_h * HOUR_MS:
                outcome["true"] += 1
            elif later and later[0][1] == "planned":
                outcome["preempted"] += 1
            else:
                outcome["false"] += 1
    share = counts["wear_warned"] / counts["wear_failures"] if counts["wear_failures"] else None
    predicted = np.array(predicted_leads) if predicted_leads else None
    return {
        **counts,
        "share_wear_failures_warned": round(share, 4) if share is not None else None,
        "share_all_failures_warned": round(counts["all_warned"] / counts["all_failures"], 4)
        if counts["all_failures"] else None,
        "lead_time_h": {"median": round(float(np.median(leads)), 2), "p10": round(float(np.percentile(leads, 10)), 2),
                        "p90": round(float(np.percentile(leads, 90)), 2), "mean": round(float(np.mean(leads)), 2)}
        if leads else None,
        "predicted_lead_time_h": {
            "median_abs_error": round(float(np.median(np.abs(predicted[:, 0] - predicted[:, 1]))), 2),
            "median_predicted": round(float(np.median(predicted[:, 0])), 2)} if predicted is not None else None,
        "fault_diagnosis": _diagnosis(diagnosed, failures, eval_from, wear_modes),
        "warnings": outcome, "machine_weeks": round(machine_weeks, 2),
        "false_alarms_per_machine_week": round(outcome["false"] / machine_weeks, 3) if machine_weeks else None,
        "by_mode": {m: {"failures": n, "warned": k} for m, (n, k) in sorted(by_mode.items())},
    }


def _diagnosis(diagnosed: list[tuple[str, str, str]], failures: list[dict[str, Any]], eval_from: int,
               wear_modes: frozenset[str]) -> dict[str, Any] | None:
    """Top-1 accuracy of the fault named in the first warning, next to always naming the machine's
    most frequent wear-out mode of the training period (the baseline a classifier must beat),
    both on the same warned wear-out failures."""
    if not diagnosed:
        return None
    seen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in failures:
        if f["ts"] < eval_from and f["mode"] in wear_modes:
            seen[f["equipment"]][f["mode"]] += 1
    majority = {eq: max(modes, key=modes.get) for eq, modes in seen.items()}
    return {"warned_failures_diagnosed": len(diagnosed),
            "top1_accuracy": round(sum(p == a for _, p, a in diagnosed) / len(diagnosed), 4),
            "majority_mode_baseline_accuracy": round(
                sum(majority.get(eq) == a for eq, _, a in diagnosed) / len(diagnosed), 4)}
