"""Replications of the simulated plant, with and without a scenario's changes, and their statistics.

Baseline and scenario run with the same seeds (common random numbers), so each pair of
replications meets the same orders and the same luck, and the paired differences have
much tighter confidence intervals than the two means on their own.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np
from scipy import stats

from zhizao.apps.whatif.model import BETTER, KPIS, Comparison, Estimate, KpiComparison, RunSettings, Scenario
from zhizao.assets.model import Plant
from zhizao.bus import Bus, Message
from zhizao.core.i18n import t
from zhizao.sim.plant import ORDER_LOAD, PM_DURATION_MIN, PM_INTERVAL_H, SimOptions, SimPlant

# Replications start on a Monday at midnight UTC, so shift patterns line up the same way every run.
START_MS = 1_767_571_200_000  # 2026-01-05T00:00:00Z


class ScenarioError(ValueError):
    """A scenario that does not fit the plant; ``field`` names the setting."""

    def __init__(self, field: str, key: str, **params: object) -> None:
        self.field, self.key, self.params = field, key, params
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return f"{self.field}: {t(self.key, lang, **self.params)}"


def apply(plant: Plant, scenario: Scenario) -> tuple[Plant, SimOptions]:
    """The plant and simulator options a scenario describes (the plant given is not changed)."""
    machines = {eq_id for *_, line in plant.iter_lines() for eq_id in line.flow}
    equipment = plant.equipment_by_id()
    buffers = {eq_id for eq_id in machines if equipment[eq_id].kind == "buffer"}
    machines -= buffers
    for field, ids, known in (("extra_machines", scenario.extra_machines, machines),
                              ("cycle_factor", scenario.cycle_factor, machines),
                              ("buffer_capacity", scenario.buffer_capacity, buffers)):
        for eq_id in ids:
            if eq_id not in known:
                kind = "buffer" if field == "buffer_capacity" else "machine"
                raise ScenarioError(f"{field}.{eq_id}", f"whatif.error.unknown_{kind}", known=", ".join(sorted(known)))
    for eq_id, n in scenario.extra_machines.items():
        if not 0 <= n <= 5:
            raise ScenarioError(f"extra_machines.{eq_id}", "whatif.error.range", value=n, low=0, high=5)
    for eq_id, factor in scenario.cycle_factor.items():
        if not (math.isfinite(factor) and 0.2 <= factor <= 5):
            raise ScenarioError(f"cycle_factor.{eq_id}", "whatif.error.range", value=factor, low=0.2, high=5)
    for eq_id, places in scenario.buffer_capacity.items():
        if not 1 <= places <= 10_000:
            raise ScenarioError(f"buffer_capacity.{eq_id}", "whatif.error.range", value=places, low=1, high=10000)
    changed = plant.model_copy(deep=True)
    changed_equipment = changed.equipment_by_id()
    for eq_id, places in scenario.buffer_capacity.items():
        changed_equipment[eq_id].capacity = places
    if scenario.shifts is not None:
        if not scenario.shifts:
            raise ScenarioError("shifts", "whatif.error.no_shift")
        changed.shifts = list(scenario.shifts)
    options = SimOptions(
        parallel={eq_id: 1 + n for eq_id, n in scenario.extra_machines.items()},
        cycle_factor=dict(scenario.cycle_factor),
        order_load=scenario.order_load or ORDER_LOAD,
        pm_interval_h=None if scenario.run_to_failure else (scenario.pm_interval_h or PM_INTERVAL_H),
        pm_duration_min=scenario.pm_duration_min or PM_DURATION_MIN,
    )
    return changed, options


def _snapshot(sim: SimPlant) -> dict[str, Any]:
    machines = {}
    for machine in sim.machines.values():
        machine._account()  # bring the state clock up to now
        machines[machine.id] = {"times": dict(machine.times.total), "energy": machine.sensors.energy_kwh,
                                "scrap": machine.scrap, "good": machine.good}
    return {"now": sim.env.now, "machines": machines, "started": sum(line.orders.started for line in sim.lines)}


def run_replication(plant: Plant, scenario: Scenario, seed: int, days: float,
                    warmup_h: float) -> dict[str, float | None]:
    """Simulate one replication; the KPIs of the measured period (after the warm-up)."""
    changed, options = apply(plant, scenario)
    bus = Bus()
    sim = SimPlant(changed, bus, seed=seed, start_ms=START_MS, sample_period_s=60.0, options=options)
    warm_ms = START_MS + int(warmup_h * 3_600_000)
    lead_h: list[float] = []
    on_time: list[bool] = []

    def order_done(msg: Message) -> None:
        p = msg.payload
        if p.get("status") == "completed" and p["ts"] >= warm_ms:
            lead_h.append((p["ts"] - p["released"]) / 3_600_000)
            on_time.append(p["ts"] <= p["due"])

    bus.on("_events/order/#", order_done)
    wip_samples: list[int] = []
    last_station = {line.machines[-1].eq.id for line in sim.lines if line.machines}

    def parts_out() -> int:
        return sum(m.scrap for m in sim.machines.values()) + sum(
            m.good for m in sim.machines.values() if m.eq.id in last_station)

    def sample_wip():
        while True:
            yield sim.env.timeout(300)
            wip_samples.append(sum(line.orders.started for line in sim.lines) - parts_out())

    sim.run_until(warmup_h * 3600)
    before = _snapshot(sim)
    wip_samples.clear()
    sim.env.process(sample_wip())
    sim.run_until(warmup_h * 3600 + days * 86_400)
    after = _snapshot(sim)

    seconds = after["now"] - before["now"]
    good_out = sum(after["machines"][mid]["good"] - before["machines"][mid]["good"]
                   for mid, m in sim.machines.items() if m.eq.id in last_station)
    energy = sum(after["machines"][mid]["energy"] - before["machines"][mid]["energy"] for mid in sim.machines)
    energy += sum(line.base_load_kw for line in sim.lines) * seconds / 3600
    # Line OEE = good units x the bottleneck station's ideal cycle / planned time (time inside shifts).
    planned_s = 0.0
    ideal_s = 0.0
    for line in sim.lines:
        if not line.machines or not line.products:
            continue
        last = line.machines[-1]
        off = after["machines"][last.id]["times"].get("off", 0.0) - before["machines"][last.id]["times"].get("off", 0.0)
        planned_s += seconds - off
        copies: dict[str, int] = {}
        for m in line.machines:
            copies[m.eq.id] = copies.get(m.eq.id, 0) + 1
        ideal_s = max(ideal_s, max(
            float(np.mean([line.step(eq_id, p)[0] for p in line.products])) / n for eq_id, n in copies.items()))
    return {
        "throughput_per_day": good_out / (seconds / 86_400),
        "wip": float(np.mean(wip_samples)) if wip_samples else None,
        "lead_time_h": float(np.mean(lead_h)) if lead_h else None,
        "on_time_rate": float(np.mean(on_time)) if on_time else None,
        "oee": good_out * ideal_s / planned_s if planned_s > 0 else None,
        "energy_kwh_per_unit": energy / good_out if good_out else None,
    }


def estimate(values: list[float | None]) -> Estimate:
    """Mean and 95 % t-interval half-width of the values that exist."""
    xs = np.array([v for v in values if v is not None], dtype=float)
    if len(xs) == 0:
        return Estimate(mean=None, half_width=None, values=values)
    half = float(stats.t.ppf(0.975, len(xs) - 1) * xs.std(ddof=1) / math.sqrt(len(xs))) if len(xs) > 1 else None
    return Estimate(mean=float(xs.mean()), half_width=half, values=values)


def compare_kpis(baseline: list[dict[str, float | None]],
                 scenario: list[dict[str, float | None]]) -> list[KpiComparison]:
    out = []
    for kpi in KPIS:
        b = [r[kpi] for r in baseline]
        s = [r[kpi] for r in scenario]
        d = [None if x is None or y is None else y - x for x, y in zip(b, s, strict=True)]
        diff = estimate(d)
        significant = (diff.mean is not None and diff.half_width is not None
                       and abs(diff.mean) > diff.half_width)
        verdict = "no_difference"
        if significant:
            up = diff.mean > 0
            verdict = "better" if up == (BETTER[kpi] == "higher") else "worse"
        out.append(KpiComparison(kpi=kpi, better=BETTER[kpi], baseline=estimate(b), scenario=estimate(s),
                                 difference=diff, significant=significant, verdict=verdict))
    return out


def compare(plant: Plant, scenario: Scenario, settings: RunSettings, *, workers: int | None = None,
            progress: Callable[[int, int], None] | None = None) -> Comparison:
    """Run baseline and scenario ``settings.replications`` times each and compare them.

    Replications run in parallel processes (``workers``, default: the CPU count, at most 4).
    ``progress(done, total)`` is called as replications finish.
    """
    apply(plant, scenario)  # fail fast on a bad scenario, before starting processes
    started = time.perf_counter()
    seeds = [settings.seed + k for k in range(settings.replications)]
    jobs = [(which, k) for which in ("baseline", "scenario") for k in range(len(seeds))]
    results: dict[str, list[dict[str, float | None] | None]] = {
        "baseline": [None] * len(seeds), "scenario": [None] * len(seeds)}
    baseline = Scenario(name="baseline")
    workers = workers or min(4, os.cpu_count() or 1)
    done = 0
    # "spawn": forking the platform (threads of the server, DuckDB, torch) could copy a held lock and hang.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_replication, plant, scenario if which == "scenario" else baseline,
                               seeds[k], settings.days, settings.warmup_h): (which, k) for which, k in jobs}
        for future in as_completed(futures):
            which, k = futures[future]
            results[which][k] = future.result()
            done += 1
            if progress is not None:
                progress(done, len(jobs))
    return Comparison(scenario=scenario, settings=settings,
                      kpis=compare_kpis(results["baseline"], results["scenario"]),  # type: ignore[arg-type]
                      wall_s=round(time.perf_counter() - started, 2))
