"""The energy service: energy, cost and carbon from the historian's meters, anomalies, load shifting.

Energy of a machine is the increase of its ``energy`` counter (kWh), read as the last value of
each 15-minute slot, so every slot's energy is priced in the tariff band of its local start time.
A counter that goes backwards (a meter replaced or reset) contributes nothing for that slot.
Equipment with only a ``power`` tag is integrated instead (average kW x slot length). Good units
come the same way from the ``good_count`` counter, so energy per good unit needs no other app.
Utility equipment (a line's main meter) counts towards the total; machines are shown one by one.

Anomalies compare the period with the week before it (or with the period itself when there is no
history): idle power, from slots a machine spent at least 90 % idle, above its usual band; and a
line's kWh per good unit per hour above its usual band. The band is the median + 4 robust sigmas
(1.4826 x MAD) and at least 20 % above the median, so ordinary variation never raises one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from bisect import bisect_right
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from zhizao.apps.energy import shifting
from zhizao.apps.energy.model import (
    Anomaly,
    BandSlot,
    ConsumptionResponse,
    EnergyConfig,
    EquipmentEnergy,
    PlanOut,
    ShiftProblemIn,
    ShiftResponse,
)
from zhizao.apps.energy.tariff import Tariff
from zhizao.core.context import Context
from zhizao.core.i18n import t

log = logging.getLogger(__name__)

SLOT_MS = 15 * 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
DEFAULT_SPAN_MS = DAY_MS
MAX_SPAN_MS = 92 * DAY_MS
BASELINE_MS = 7 * DAY_MS
NOT_MACHINES = frozenset({"buffer", "environment", "utility"})
IDLE_SHARE = 0.9
MIN_UNITS_PER_HOUR = 5
ROBUST_K, MIN_RATIO = 4.0, 1.2


class EnergyInputError(ValueError):
    """A request that cannot be served; ``key``/``params`` render it, the message names the field."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key, self.params = key, params
        super().__init__(t(key, "en", **params))

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


def _text(text: Any, fallback: str, lang: str) -> str:
    return (text.zh if lang == "zh-CN" else text.en) or text.en or text.zh or fallback


def counter_increments(buckets: list[tuple[int, Any]], start: int) -> dict[int, float]:
    """Increase of a counter per bucket from its last value per bucket (the bucket before ``start``
    gives the reference); a decrease (meter reset) counts as nothing."""
    out: dict[int, float] = {}
    prev: float | None = None
    for ts, v in buckets:
        if v is None:
            continue
        v = float(v)
        if prev is not None and ts >= start:
            out[ts] = max(v - prev, 0.0)
        prev = v
    return out


def band_limit(baseline: list[float]) -> tuple[float, float] | None:
    """(median, upper limit) of the usual band, or None with fewer than 4 baseline values."""
    if len(baseline) < 4:
        return None
    x = np.asarray(baseline, dtype=float)
    median = float(np.median(x))
    mad = float(np.median(np.abs(x - median))) * 1.4826
    return median, max(median + ROBUST_K * mad, median * MIN_RATIO)


class EnergyService:
    """``EnergyService(ctx)``, then ``await start()``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.config_file: Path = ctx.settings.data_dir / "energy.json"
        self.config = EnergyConfig()
        plant = ctx.plant
        self.tz = next((s.timezone for s in plant.enterprise.sites), "Asia/Shanghai")
        self.equipment = [eq for *_, eq in plant.iter_equipment()
                          if eq.tag("energy") is not None or eq.tag("power") is not None]
        self.lines = []  # (line path, last machine of the flow)
        self.line_names = {}
        for site, area, line in plant.iter_lines():
            self.line_names[plant.line_path(site, area, line)] = line.name
            by_id = {eq.id: eq for cell in line.cells for eq in cell.equipment}
            last = next((by_id[i] for i in reversed(line.flow) if i in by_id and by_id[i].kind not in NOT_MACHINES),
                        None)
            if last is not None:
                self.lines.append((plant.line_path(site, area, line), last))

    async def start(self) -> None:
        self.config = await asyncio.to_thread(self._load)

    async def stop(self) -> None:
        return None

    def _load(self) -> EnergyConfig:
        if not self.config_file.is_file():
            return EnergyConfig()
        try:
            return EnergyConfig.model_validate_json(self.config_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            log.error("%s: unreadable energy configuration, using the defaults: %s", self.config_file, exc)
            return EnergyConfig()

    def save(self, config: EnergyConfig) -> EnergyConfig:
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.config_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(config.model_dump(mode="json"), ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.config_file)
        self.config = config
        return config

    # ---- periods -------------------------------------------------------------------------
    def period(self, start: int | None, end: int | None) -> tuple[int, int]:
        end = self.ctx.clock.now_ms() if end is None else end
        start = end - DEFAULT_SPAN_MS if start is None else start
        if start >= end:
            raise EnergyInputError("energy.error.period", field="end", start=start, end=end)
        if end - start > MAX_SPAN_MS:
            raise EnergyInputError("energy.error.too_long", field="start", days=MAX_SPAN_MS // DAY_MS)
        start -= start % SLOT_MS  # whole slots, so each is priced in one band
        return start, end

    def _bands(self, tariff: Tariff) -> list[str]:
        return tariff.minute_bands()

    def _band_of(self, ts: int, bands: list[str]) -> str:
        local = datetime.fromtimestamp(ts / 1000, ZoneInfo(self.tz))
        return bands[local.hour * 60 + local.minute]

    # ---- energy, cost, carbon ------------------------------------------------------------
    def _increments(self, tag_paths: list[str], start: int, end: int) -> dict[str, dict[int, float]]:
        if not tag_paths:
            return {}
        data = self.ctx.historian.read_agg(tag_paths, start - SLOT_MS, end, SLOT_MS, "last")
        return {tag: counter_increments(data.get(tag, []), start) for tag in tag_paths}

    def _integrated(self, tag_paths: list[str], start: int, end: int) -> dict[str, dict[int, float]]:
        if not tag_paths:
            return {}
        data = self.ctx.historian.read_agg(tag_paths, start, end, SLOT_MS, "avg")
        return {tag: {ts: float(v) * SLOT_MS / HOUR_MS for ts, v in data.get(tag, []) if v is not None}
                for tag in tag_paths}

    def slot_energy(self, start: int, end: int) -> dict[str, tuple[dict[int, float], str]]:
        """Per equipment path: (kWh per slot start, "energy" | "power")."""
        counters = [eq.tag("energy").path for eq in self.equipment if eq.tag("energy") is not None]
        powers = [eq.tag("power").path for eq in self.equipment if eq.tag("energy") is None]
        inc = self._increments(counters, start, end) | self._integrated(powers, start, end)
        out = {}
        for eq in self.equipment:
            tag = eq.tag("energy") or eq.tag("power")
            out[eq.path] = (inc.get(tag.path, {}), "energy" if eq.tag("energy") is not None else "power")
        return out

    def consumption(self, start: int | None, end: int | None, lang: str) -> ConsumptionResponse:
        """Energy, cost by tariff band and scope 2 carbon per machine and meter, and the total."""
        start, end = self.period(start, end)
        cfg = self.config
        bands = self._bands(cfg.tariff)
        factor = cfg.emission_factor.kg_co2_per_kwh
        per_eq = self.slot_energy(start, end)
        good_tags = [eq.tag("good_count").path for eq in self.equipment if eq.tag("good_count") is not None]
        good = {tag: sum(v.values()) for tag, v in self._increments(good_tags, start, end).items()}
        machines, meters = [], []
        total_slots: dict[int, float] = {}
        machine_slots: dict[int, float] = {}
        for eq in self.equipment:
            slots, source = per_eq[eq.path]
            by_band: dict[str, float] = {b: 0.0 for b in cfg.tariff.prices}
            for ts, kwh in slots.items():
                by_band[self._band_of(ts, bands)] += kwh
            kwh = sum(by_band.values())
            gtag = eq.tag("good_count")
            units = int(round(good[gtag.path])) if gtag is not None and gtag.path in good else None
            row = EquipmentEnergy(
                equipment=eq.path, name=_text(eq.name, eq.id, lang), kind=eq.kind, kwh=kwh, kwh_by_band=by_band,
                cost=sum(by_band[b] * p for b, p in cfg.tariff.prices.items()),
                cost_by_band={b: by_band[b] * p for b, p in cfg.tariff.prices.items()}, co2_kg=kwh * factor,
                good_units=units, kwh_per_unit=kwh / units if units else None, source=source)
            target = meters if eq.kind == "utility" else machines
            target.append(row)
            into = total_slots if eq.kind == "utility" else machine_slots
            for ts, v in slots.items():
                into[ts] = into.get(ts, 0.0) + v
        if not meters:
            total_slots = machine_slots
        kwh_by_band = {b: 0.0 for b in cfg.tariff.prices}
        hourly: dict[int, list[Any]] = {}
        for ts, kwh in sorted(total_slots.items()):
            band = self._band_of(ts, bands)
            kwh_by_band[band] += kwh
            hour = ts - ts % HOUR_MS
            cell = hourly.setdefault(hour, [band, 0.0])
            cell[1] += kwh
        total = sum(kwh_by_band.values())
        line_units = [good.get(last.tag("good_count").path) for _, last in self.lines if last.tag("good_count")]
        units = int(round(sum(u for u in line_units if u is not None))) if line_units else None
        return ConsumptionResponse(
            start=start, end=end, currency=cfg.tariff.currency, tariff=cfg.tariff.name, emission_factor=factor,
            total_kwh=total, total_cost=sum(kwh_by_band[b] * p for b, p in cfg.tariff.prices.items()),
            total_co2_kg=total * factor, kwh_by_band=kwh_by_band,
            cost_by_band={b: kwh_by_band[b] * p for b, p in cfg.tariff.prices.items()},
            good_units=units, kwh_per_unit=total / units if units else None, machines=machines, meters=meters,
            hourly=[BandSlot(start=h, band=b, kwh=v) for h, (b, v) in sorted(hourly.items())])

    # ---- anomalies -------------------------------------------------------------------------
    def anomalies(self, start: int | None, end: int | None, lang: str) -> list[Anomaly]:
        start, end = self.period(start, end)
        found = self._idle_power(start, end, lang) + self._energy_per_unit(start, end, lang)
        return sorted(found, key=lambda a: -a.start)

    def _idle_shares(self, state_tag: str, start: int, end: int) -> dict[int, float]:
        """Share of each slot the machine spent idle, from its state changes."""
        before = self.ctx.historian.read_raw(state_tag, start - DAY_MS, start, limit=100_000)
        points = ([before[-1]] if before else []) + self.ctx.historian.read_raw(state_tag, start, end, limit=500_000)
        times = [p.ts for p in points]
        shares = {}
        for slot in range(start, end, SLOT_MS):
            idle = 0
            i = bisect_right(times, slot) - 1
            cursor, state = slot, points[i].v if i >= 0 else None
            for p in points[max(i + 1, 0):]:
                if p.ts >= slot + SLOT_MS:
                    break
                if state == "idle":
                    idle += p.ts - cursor
                cursor, state = p.ts, p.v
            if state == "idle":
                idle += slot + SLOT_MS - cursor
            shares[slot] = idle / SLOT_MS
        return shares

    def _idle_power(self, start: int, end: int, lang: str) -> list[Anomaly]:
        out = []
        since = start - BASELINE_MS
        for eq in self.equipment:
            power, state = eq.tag("power"), eq.tag("state")
            if power is None or state is None or eq.kind in NOT_MACHINES:
                continue
            avg = dict((ts, v) for ts, v in self.ctx.historian.read_agg([power.path], since, end, SLOT_MS, "avg")
                       .get(power.path, []) if v is not None)
            shares = self._idle_shares(state.path, since, end)
            idle = {ts: float(avg[ts]) for ts, share in shares.items() if share >= IDLE_SHARE and ts in avg}
            baseline = [v for ts, v in idle.items() if ts < start]
            band = band_limit(baseline) or band_limit([v for ts, v in idle.items() if ts >= start])
            if band is None:
                continue
            median, limit = band
            flagged = sorted((ts, v) for ts, v in idle.items() if ts >= start and v > limit)
            for first, last, peak in _runs(flagged, SLOT_MS):
                out.append(Anomaly(
                    kind="idle_power", equipment=eq.path, name=_text(eq.name, eq.id, lang), start=first,
                    end=last + SLOT_MS, value=peak, expected=median, limit=limit, unit="kW",
                    message=t("energy.anomaly.idle_power", lang, name=_text(eq.name, eq.id, lang),
                              value=f"{peak:.2f}", expected=f"{median:.2f}")))
        return out

    def _energy_per_unit(self, start: int, end: int, lang: str) -> list[Anomaly]:
        out = []
        since = start - BASELINE_MS
        per_eq = self.slot_energy(since, end)
        for line_path, last in self.lines:
            gtag = last.tag("good_count")
            if gtag is None:
                continue
            units = self._increments([gtag.path], since, end)[gtag.path]
            meters = [eq for eq in self.equipment if eq.kind == "utility" and eq.path.startswith(line_path + "/")]
            sources = meters or [eq for eq in self.equipment if eq.path.startswith(line_path + "/")]
            kwh: dict[int, float] = {}
            hour_units: dict[int, float] = {}
            for eq in sources:
                for ts, v in per_eq[eq.path][0].items():
                    kwh[ts - ts % HOUR_MS] = kwh.get(ts - ts % HOUR_MS, 0.0) + v
            for ts, v in units.items():
                hour_units[ts - ts % HOUR_MS] = hour_units.get(ts - ts % HOUR_MS, 0.0) + v
            ratio = {h: kwh[h] / u for h, u in hour_units.items() if u >= MIN_UNITS_PER_HOUR and h in kwh}
            band = band_limit([v for h, v in ratio.items() if h < start]) or band_limit(
                [v for h, v in ratio.items() if h >= start])
            if band is None:
                continue
            median, limit = band
            name = _text(self.line_names[line_path], line_path.rsplit("/", 1)[-1], lang)
            for first, last_h, peak in _runs(sorted((h, v) for h, v in ratio.items() if h >= start and v > limit),
                                             HOUR_MS):
                out.append(Anomaly(
                    kind="energy_per_unit", equipment=line_path, name=name, start=first, end=last_h + HOUR_MS,
                    value=peak, expected=median, limit=limit, unit="kWh/pc",
                    message=t("energy.anomaly.energy_per_unit", lang, name=name, value=f"{peak:.3f}",
                              expected=f"{median:.3f}")))
        return out

    # ---- load shifting ---------------------------------------------------------------------
    def day_start(self, day: str | None) -> int:
        """Local midnight of ``day`` (YYYY-MM-DD), by default of the platform clock's next day."""
        zone = ZoneInfo(self.tz)
        if day:
            try:
                date = datetime.strptime(day, "%Y-%m-%d").date()
            except ValueError:
                raise EnergyInputError("energy.error.day", field="day", value=day) from None
        else:
            date = (datetime.fromtimestamp(self.ctx.clock.now_ms() / 1000, zone) + timedelta(days=1)).date()
        return int(datetime.combine(date, time(0), zone).timestamp() * 1000)

    def plan(self, problem_in: ShiftProblemIn | None, day: str | None, time_limit_s: float) -> ShiftResponse:
        """ASAP and the least-cost plan of the flexible loads for one day, priced by the tariff."""
        spec = problem_in or self.config.flexible
        if spec.slot_minutes not in (15, 30, 60):
            raise EnergyInputError("energy.error.slot", field="slot_minutes", value=spec.slot_minutes)
        count = 1440 // spec.slot_minutes
        start = self.day_start(day)
        bands, prices = self.config.tariff.slots(start, spec.slot_minutes, count, self.tz)
        problem = spec.problem(prices)
        try:
            problem.validate()
        except ValueError as exc:
            raise EnergyInputError("energy.error.problem", detail=str(exc)) from None
        asap = shifting.asap(problem)
        target = shifting.same_end_levels(problem, asap) if asap.feasible else problem
        best = shifting.solve(target, time_limit_s=time_limit_s, workers=2, hint=asap)
        best.violations = shifting.check(problem, best.on) if best.status not in ("infeasible", "unknown") \
            else best.violations
        both = asap.feasible and best.feasible
        saving = asap.cost - best.cost if both else None
        return ShiftResponse(
            slot_minutes=spec.slot_minutes, day_start=start,
            slots=[start + i * spec.slot_minutes * 60_000 for i in range(count)], bands=bands, prices=prices,
            currency=self.config.tariff.currency, asap=_plan_out(asap), optimised=_plan_out(best), saving=saving,
            saving_pct=(saving / asap.cost * 100 if saving is not None and asap.cost > 0 else None),
            buffers=spec.buffers)


def _plan_out(plan: shifting.Plan) -> PlanOut:
    levels = {k: [round(v, 4) for v in vs] for k, vs in plan.levels.items()}
    return PlanOut(policy=plan.policy, on=plan.on, levels=levels, cost=plan.cost, energy_kwh=plan.energy_kwh,
                   starts=plan.starts, status=plan.status, violations=plan.violations, bound=plan.bound,
                   solve_s=plan.solve_s)


def _runs(flagged: list[tuple[int, float]], step: int) -> list[tuple[int, int, float]]:
    """Consecutive flagged buckets merged: (first start, last start, highest value)."""
    out: list[tuple[int, int, float]] = []
    for ts, v in flagged:
        if out and ts - out[-1][1] <= step:
            first, _, peak = out[-1]
            out[-1] = (first, ts, max(peak, v))
        else:
            out.append((ts, ts, v))
    return out

