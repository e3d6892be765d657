"""The SPC service: watches measurement tags and defect events, keeps Phase I baselines, raises alarms.

Monitored tags are those named in a product's ``spec`` (the demo's ``bore_diameter``) plus any tag an
engineer configures. Each tag is first in Phase I: its values are collected until
``baseline_points`` are there, then the baseline (mean and within sigma) is estimated and frozen
(``frozen_by="auto"``); an engineer can re-baseline from a chosen period or drop the baseline. From
then on (Phase II) every completed subgroup (or value) is checked against the frozen limits with the
tag's rules; a violation at the newest point raises the tag's ``spc`` alarm, the next clean point
returns it to normal (ISA-18.2 keeps it listed until acknowledged).

Defect counts come from the bus: ``_events/part/<equipment>`` (``good`` false is a defective part)
for p charts, and ``_events/inspection/<...>`` (``{"station", "verdict", ...}``) for u charts; they
are counted per equipment/station and period in memory (kept 30 days, saved to
``<data_dir>/spc_counts.json`` on stop). Chart queries read the measurements from the historian.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zhizao.apps.spc.capability import capability
from zhizao.apps.spc.charts import (
    Baseline,
    Chart,
    cusum,
    estimate_individuals,
    estimate_xbar_r,
    ewma,
    imr,
    p_chart,
    u_chart,
    xbar_r,
)
from zhizao.apps.spc.model import (
    AttributeResponse,
    CapabilityResponse,
    ChartResponse,
    ChartSeries,
    FrozenBaseline,
    IndexOut,
    TagConfig,
    TagStatus,
    ViolationOut,
)
from zhizao.bus import Message
from zhizao.core.context import Context
from zhizao.core.i18n import t

log = logging.getLogger(__name__)

ALARM_KIND = "spc"
PART_EVENTS = "_events/part/"
INSPECTION_EVENTS = "_events/inspection/"
DEFECT_VERDICTS = frozenset({"defect", "ng", "reject", "fail", "bad"})
UNDECIDED_VERDICTS = frozenset({"review", "uncertain", "pending"})  # not counted until a person decides
LIVE_WINDOW = 60  # subgroups (or values) the live rule check looks back over
EWMA_CUSUM_MEMORY = 2000  # values EWMA/CUSUM carry their statistic over, live
COUNT_KEEP_MS = 30 * 86_400_000
DEFAULT_SPAN_MS = 8 * 3_600_000
MAX_POINTS = 200_000
HIST_BINS = 24


class SpcInputError(ValueError):
    """A request that cannot be served; ``key``/``params`` render it, the message names the field."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key, self.params = key, params
        super().__init__(t(key, "en", **params))

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


@dataclass
class _Live:
    """Live state of one monitored tag."""

    config: TagConfig
    values: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=EWMA_CUSUM_MEMORY))
    pending: list[tuple[int, float]] = field(default_factory=list)  # the open subgroup
    groups: deque[list[float]] = field(default_factory=lambda: deque(maxlen=LIVE_WINDOW))
    collected: int = 0
    violations: int = 0
    last_violation_ts: int | None = None
    last_violation_rules: list[int] = field(default_factory=list)
    alarm_id: int | None = None


def spec_limits(ctx: Context) -> dict[str, tuple[float, float]]:
    """Specification limits by tag id from the products' specs (the tightest when products differ)."""
    out: dict[str, tuple[float, float]] = {}
    for product in ctx.plant.products:
        for tag_id, (lo, hi) in product.spec.items():
            old = out.get(tag_id)
            out[tag_id] = (lo, hi) if old is None else (max(old[0], lo), min(old[1], hi))
    return out


def _text(text: Any, fallback: str, lang: str) -> str:
    return (text.zh if lang == "zh-CN" else text.en) or text.en or text.zh or fallback


class SpcService:
    """``SpcService(ctx)``, then ``await start()``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.config_file: Path = ctx.settings.data_dir / "spc.json"
        self.counts_file: Path = ctx.settings.data_dir / "spc_counts.json"
        self.live: dict[str, _Live] = {}
        # (kind "p"|"u", equipment or station) -> period start (ms) -> [units, defective]
        self.counts: dict[tuple[str, str], dict[int, list[int]]] = {}
        self.period_ms = 3_600_000  # attribute samples: one per hour
        self._tags = ctx.plant.tag_index()
        self._equipment_names = {eq.path: eq.name for *_, eq in ctx.plant.iter_equipment()}
        self._offs: list[Callable[[], None]] = []

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        configs = self._load_configs()
        specs = spec_limits(self.ctx)
        for path, tag in self._tags.items():
            if tag.id in specs and path not in configs:
                configs[path] = TagConfig(tag=path)
        for path, cfg in configs.items():
            if path in self._tags:
                self.live[path] = _Live(cfg)
        self._load_counts()
        bus = self.ctx.bus
        self._offs = [bus.on(path, self._on_value) for path in self.live]
        self._offs += [bus.on(PART_EVENTS + "#", self._on_part), bus.on(INSPECTION_EVENTS + "#", self._on_inspection)]
        for live in self.live.values():
            await self._bind_alarm(live)

    async def stop(self) -> None:
        for off in self._offs:
            off()
        self._offs = []
        self._save_counts()

    async def _bind_alarm(self, live: _Live) -> None:
        alarms = self.ctx.services.get("alarms")
        if alarms is None or not live.config.alarm:
            live.alarm_id = None
            return
        try:
            live.alarm_id = (await alarms.external(live.config.tag, ALARM_KIND, "medium")).id
        except Exception:  # the alarm service's store failing must not stop SPC
            log.exception("could not register the SPC alarm of %s", live.config.tag)

    # ---- persistence ---------------------------------------------------------------------
    def _load_configs(self) -> dict[str, TagConfig]:
        if not self.config_file.is_file():
            return {}
        try:
            raw = json.loads(self.config_file.read_text(encoding="utf-8"))
            return {c["tag"]: TagConfig.model_validate(c) for c in raw.get("tags", [])}
        except (ValueError, KeyError, TypeError) as exc:
            log.error("%s: unreadable SPC configuration, starting from defaults: %s", self.config_file, exc)
            return {}

    def _save_configs(self) -> None:
        doc = {"tags": [live.config.model_dump(mode="json") for live in self.live.values()]}
        _write_atomic(self.config_file, doc)

    def _load_counts(self) -> None:
        if not self.counts_file.is_file():
            return
        with contextlib.suppress(ValueError, KeyError, TypeError):
            raw = json.loads(self.counts_file.read_text(encoding="utf-8"))
            self.counts = {(k, s): {int(p): list(v) for p, v in periods.items()} for k, s, periods in raw["counts"]}

    def _save_counts(self) -> None:
        with contextlib.suppress(OSError):
            _write_atomic(self.counts_file, {"counts": [[k, s, v] for (k, s), v in self.counts.items()]})

    # ---- live monitoring (runs in the publisher's call: memory only) -----------------------
    def _on_value(self, msg: Message) -> None:
        live = self.live.get(msg.topic)
        if live is None:
            return
        for point in msg.payload if isinstance(msg.payload, list) else (msg.payload,):
            if not isinstance(point, dict) or point.get("q") == "bad":
                continue
            v, ts = point.get("v"), point.get("ts")
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                continue
            self.add_value(msg.topic, int(ts) if isinstance(ts, int | float) else self.ctx.clock.now_ms(), float(v))

    def add_value(self, tag: str, ts: int, value: float) -> None:
        """One new measurement: Phase I collection or a Phase II rule check."""
        live = self.live[tag]
        cfg = live.config
        live.collected += 1
        live.values.append((ts, value))
        if cfg.chart == "xbar_r":
            closed = self._subgroup(live, ts, value)
            if closed is None:
                return
            live.groups.append(closed)
        if cfg.baseline is None:
            if len(live.values) >= cfg.baseline_points:
                self._freeze(live, list(live.values)[-cfg.baseline_points:], "auto")
            return
        charts = self._live_charts(live)
        rules = sorted({v.rule for c in charts for v in c.violations if v.index == len(c.values) - 1})
        if rules:
            live.violations += 1
            live.last_violation_ts, live.last_violation_rules = ts, rules
        alarms = self.ctx.services.get("alarms")
        if live.alarm_id is not None and alarms is not None:
            label = {"xbar_r": "X̄-R", "imr": "I-MR", "ewma": "EWMA", "cusum": "CUSUM"}[cfg.chart]
            alarms.set_external(live.alarm_id, bool(rules), f"{label} {','.join(map(str, rules))}".strip(), ts)

    def _subgroup(self, live: _Live, ts: int, value: float) -> list[float] | None:
        """Adds to the open subgroup; returns a subgroup that just closed."""
        cfg = live.config
        if cfg.subgroup_by == "count":
            live.pending.append((ts, value))
            if len(live.pending) < cfg.subgroup_size:
                return None
            closed, live.pending = live.pending, []
            return [v for _, v in closed]
        width = int(cfg.subgroup_minutes * 60_000)
        if live.pending and ts // width != live.pending[0][0] // width:
            closed, live.pending = live.pending, [(ts, value)]
            return [v for _, v in closed] if len(closed) >= 2 else None
        live.pending.append((ts, value))
        return None

    def _live_charts(self, live: _Live) -> list[Chart]:
        cfg = live.config
        base = _baseline(cfg.baseline)
        if cfg.chart == "xbar_r":
            return list(xbar_r(list(live.groups), base, cfg.rules.config()))
        values = [v for _, v in live.values]
        if cfg.chart == "imr":
            return list(imr(values[-LIVE_WINDOW:], base, cfg.rules.config()))
        if cfg.chart == "ewma":
            return [ewma(values, base.mean, base.sigma, cfg.ewma_lambda, cfg.ewma_width)]
        return [cusum(values, base.mean, base.sigma, cfg.cusum_k, cfg.cusum_h)]

    def _freeze(self, live: _Live, points: list[tuple[int, float]], by: str) -> FrozenBaseline:
        cfg = live.config
        values = [v for _, v in points]
        if cfg.chart == "xbar_r":
            groups = _group_points(points, cfg)
            if len(groups) < 2:
                raise SpcInputError("spc.error.too_few", field="start", count=len(groups), need=2)
            base = estimate_xbar_r([[v for _, v in g] for g in groups])
        else:
            if len(values) < 3:
                raise SpcInputError("spc.error.too_few", field="start", count=len(values), need=3)
            base = estimate_individuals(values)
        if not base.sigma > 0:
            raise SpcInputError("spc.error.no_variation", tag=cfg.tag)
        frozen = FrozenBaseline(mean=base.mean, sigma=base.sigma, spread=base.spread, n=base.n, count=base.count,
                                start=points[0][0], end=points[-1][0], frozen_at=self.ctx.clock.now_ms(),
                                frozen_by=by)
        live.config = cfg.model_copy(update={"baseline": frozen})
        live.groups.clear()
        live.values.clear()
        self._save_configs()
        return frozen

    # ---- attribute counts ------------------------------------------------------------------
    def _count(self, kind: str, source: str, ts: Any, defective: bool) -> None:
        ts = int(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else self.ctx.clock.now_ms()
        periods = self.counts.setdefault((kind, source), {})
        cell = periods.setdefault(ts - ts % self.period_ms, [0, 0])
        cell[0] += 1
        cell[1] += int(defective)
        if len(periods) > COUNT_KEEP_MS // self.period_ms:
            del periods[min(periods)]

    def _on_part(self, msg: Message) -> None:
        p = msg.payload
        if isinstance(p, dict) and isinstance(p.get("good"), bool):
            self._count("p", msg.topic[len(PART_EVENTS):], p.get("ts"), not p["good"])

    def _on_inspection(self, msg: Message) -> None:
        p = msg.payload
        if not isinstance(p, dict):
            return
        verdict = str(p.get("verdict", "")).lower()
        if verdict in UNDECIDED_VERDICTS or not verdict:
            return
        station = p.get("station") or msg.topic[len(INSPECTION_EVENTS):]
        self._count("u", str(station), p.get("ts"), verdict in DEFECT_VERDICTS)

    # ---- queries ---------------------------------------------------------------------------
    def _live_of(self, tag: str) -> _Live:
        live = self.live.get(tag)
        if live is None:
            raise SpcInputError("spc.error.unknown_tag", tag=tag)
        return live

    def config(self, tag: str) -> TagConfig:
        return self._live_of(tag).config

    def name(self, tag: str, lang: str) -> str:
        spec = self._tags.get(tag)
        eq_path = tag.rsplit("/", 1)[0]
        eq = self._equipment_names.get(eq_path)
        eq_name = _text(eq, eq_path.rsplit("/", 1)[-1], lang) if eq is not None else eq_path
        return f"{eq_name} {_text(spec.description, spec.id, lang)}" if spec is not None else tag

    def spec_of(self, cfg: TagConfig) -> tuple[float | None, float | None]:
        default = spec_limits(self.ctx).get(cfg.tag.rsplit("/", 1)[-1], (None, None))
        return (cfg.lsl if cfg.lsl is not None else default[0], cfg.usl if cfg.usl is not None else default[1])

    def status(self, lang: str) -> list[TagStatus]:
        out = []
        for tag, live in self.live.items():
            cfg = live.config
            lsl, usl = self.spec_of(cfg)
            out.append(TagStatus(
                tag=tag, name=self.name(tag, lang), unit=self._tags[tag].unit, chart=cfg.chart,
                phase="monitoring" if cfg.baseline else "collecting", collected=live.collected,
                baseline_points=cfg.baseline_points, lsl=lsl, usl=usl, last_violation_ts=live.last_violation_ts,
                last_violation_rules=live.last_violation_rules, violations=live.violations))
        return out

    def period(self, start: int | None, end: int | None) -> tuple[int, int]:
        end = self.ctx.clock.now_ms() if end is None else end
        start = end - DEFAULT_SPAN_MS if start is None else start
        if start >= end:
            raise SpcInputError("spc.error.period", field="end", start=start, end=end)
        return start, end

    def read_points(self, tag: str, start: int, end: int) -> list[tuple[int, float]]:
        points = self.ctx.historian.read_raw(tag, start, end, limit=MAX_POINTS)
        return [(p.ts, float(p.v)) for p in points if p.q != "bad" and isinstance(p.v, int | float)
                and not isinstance(p.v, bool) and math.isfinite(p.v)]

    def chart(self, tag: str, start: int | None, end: int | None, lang: str) -> ChartResponse:
        """The tag's chart(s) over the period: frozen limits (Phase II), or trial limits estimated from
        the data shown while the baseline is still being collected."""
        live = self._live_of(tag)
        cfg = live.config
        start, end = self.period(start, end)
        points = self.read_points(tag, start, end)
        lsl, usl = self.spec_of(cfg)
        head = {"tag": tag, "name": self.name(tag, lang), "unit": self._tags[tag].unit, "chart": cfg.chart,
                "start": start, "end": end, "points": len(points), "lsl": lsl, "usl": usl,
                "baseline": cfg.baseline}
        base = _baseline(cfg.baseline)
        need = 2 if cfg.chart == "xbar_r" else 3
        groups = _group_points(points, cfg) if cfg.chart == "xbar_r" else []
        if (len(groups) if cfg.chart == "xbar_r" else len(points)) < need:
            return ChartResponse(**head, phase="no_data", series=[])
        if base is None:
            base = estimate_xbar_r([[v for _, v in g] for g in groups]) if cfg.chart == "xbar_r" \
                else estimate_individuals([v for _, v in points])
            if not base.sigma > 0:
                return ChartResponse(**head, phase="no_data", series=[])
        rules = cfg.rules.config()
        if cfg.chart == "xbar_r":
            ts = [g[-1][0] for g in groups]
            sizes = [float(len(g)) for g in groups]
            charts = xbar_r([[v for _, v in g] for g in groups], base, rules)
            series = [_series(c, ts, sizes) for c in charts]
        else:
            ts = [p[0] for p in points]
            values = [v for _, v in points]
            if cfg.chart == "imr":
                charts = imr(values, base, rules)
            elif cfg.chart == "ewma":
                charts = (ewma(values, base.mean, base.sigma, cfg.ewma_lambda, cfg.ewma_width),)
            else:
                charts = (cusum(values, base.mean, base.sigma, cfg.cusum_k, cfg.cusum_h),)
            series = [_series(c, ts) for c in charts]
        return ChartResponse(**head, phase="monitoring" if cfg.baseline else "trial", series=series)

    def capability(self, tag: str, start: int | None, end: int | None, confidence: float = 0.95) -> CapabilityResponse:
        live = self._live_of(tag)
        cfg = live.config
        start, end = self.period(start, end)
        points = self.read_points(tag, start, end)
        lsl, usl = self.spec_of(cfg)
        if lsl is None and usl is None:
            raise SpcInputError("spc.error.no_spec", tag=tag)
        values = [v for _, v in points]
        if len(values) < 2:
            raise SpcInputError("spc.error.too_few", field="start", count=len(values), need=2)
        if cfg.baseline is not None:
            sigma_within: float | None = cfg.baseline.sigma
        elif cfg.chart == "xbar_r" and len(_group_points(points, cfg)) >= 2:
            sigma_within = estimate_xbar_r([[v for _, v in g] for g in _group_points(points, cfg)]).sigma
        else:
            sigma_within = estimate_individuals(values).sigma if len(values) >= 3 else None
        try:
            cap = capability(values, lsl, usl, sigma_within or None, confidence)
        except ValueError as exc:
            raise SpcInputError("spc.error.bad_input", detail=str(exc)) from None
        lo = min(min(values), lsl if lsl is not None else math.inf)
        hi = max(max(values), usl if usl is not None else -math.inf)
        pad = (hi - lo) * 0.05 or 1e-9
        counts, edges = np.histogram(values, bins=HIST_BINS, range=(lo - pad, hi + pad))

        def idx(i: Any) -> IndexOut | None:
            return None if i is None else IndexOut(value=i.value, low=i.low, high=i.high)

        return CapabilityResponse(
            tag=tag, start=start, end=end, n=cap.n, mean=cap.mean, sigma_within=cap.sigma_within,
            sigma_overall=cap.sigma_overall, lsl=lsl, usl=usl, cp=idx(cap.cp), cpk=idx(cap.cpk), pp=idx(cap.pp),
            ppk=idx(cap.ppk), out_of_spec=cap.out_of_spec, confidence=confidence,
            bin_edges=edges.tolist(), counts=counts.tolist())

    def attribute_sources(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"p": [], "u": []}
        for kind, source in self.counts:
            out[kind].append(source)
        return {k: sorted(v) for k, v in out.items()}

    def attributes(self, kind: str, source: str, start: int | None, end: int | None) -> AttributeResponse:
        """p chart (defective parts of an equipment) or u chart (defects per inspected unit of a
        station) per period; the limits follow each period's count and p̄/ū come from the samples shown."""
        start, end = self.period(start, end)
        periods = self.counts.get((kind, source))
        if periods is None:
            raise SpcInputError("spc.error.unknown_source", field="station", station=source)
        rows = sorted((p, c) for p, c in periods.items() if start <= p < end and c[0] > 0)
        if not rows:
            raise SpcInputError("spc.error.too_few", field="start", count=0, need=1)
        ts = [p for p, _ in rows]
        units = [c[0] for _, c in rows]
        bad = [c[1] for _, c in rows]
        chart = p_chart(bad, units) if kind == "p" else u_chart(bad, units)
        series = _series(chart, ts, [float(u) for u in units])
        return AttributeResponse(kind=kind, station=source, start=start, end=end,  # type: ignore[arg-type]
                                 period_min=self.period_ms // 60_000, series=series)

    # ---- configuration (engineers) ---------------------------------------------------------
    async def configure(self, cfg: TagConfig) -> TagConfig:
        """Sets a tag's configuration; the frozen baseline is kept unless the new one brings its own or
        the values it rests on change (other subgroups, or subgroups instead of individual values)."""
        if cfg.tag not in self._tags:
            raise SpcInputError("spc.error.unknown_tag", tag=cfg.tag)
        if self._tags[cfg.tag].data_type not in ("float", "int"):
            raise SpcInputError("spc.error.not_numeric", tag=cfg.tag)
        old = self.live.get(cfg.tag)
        if old is not None and cfg.baseline is None and _basis(old.config) == _basis(cfg):
            cfg = cfg.model_copy(update={"baseline": old.config.baseline})
        if old is None:
            self.live[cfg.tag] = live = _Live(cfg)
            self._offs.append(self.ctx.bus.on(cfg.tag, self._on_value))
        else:
            live = old
            live.config = cfg
            live.pending, live.groups = [], deque(maxlen=LIVE_WINDOW)
        await self._bind_alarm(live)
        self._save_configs()
        return live.config

    def rebaseline(self, tag: str, start: int | None, end: int | None, user: str) -> FrozenBaseline:
        """Phase I again on the tag's values in [start, end) (default: the last 8 h); freezes the limits."""
        live = self._live_of(tag)
        start, end = self.period(start, end)
        points = self.read_points(tag, start, end)
        return self._freeze(live, points, user)

    def reset_baseline(self, tag: str) -> TagConfig:
        """Back to Phase I: the limits are estimated again from the next ``baseline_points`` values."""
        live = self._live_of(tag)
        live.config = live.config.model_copy(update={"baseline": None})
        live.values.clear()
        live.groups.clear()
        live.pending = []
        self._save_configs()
        return live.config


def _baseline(frozen: FrozenBaseline | None) -> Baseline | None:
    if frozen is None:
        return None
    return Baseline(frozen.mean, frozen.sigma, frozen.spread, frozen.n, frozen.count)


def _basis(cfg: TagConfig) -> tuple[Any, ...]:
    """What a baseline was estimated on: the same subgroups, or individual values (I-MR, EWMA, CUSUM)."""
    if cfg.chart == "xbar_r":
        return ("subgroups", cfg.subgroup_by, cfg.subgroup_size if cfg.subgroup_by == "count" else cfg.subgroup_minutes)
    return ("individuals",)


def _group_points(points: list[tuple[int, float]], cfg: TagConfig) -> list[list[tuple[int, float]]]:
    """Subgroups of consecutive values (by count) or of the values in each time window (at least 2)."""
    if cfg.subgroup_by == "count":
        n = cfg.subgroup_size
        return [points[i:i + n] for i in range(0, len(points) - n + 1, n)]
    width = int(cfg.subgroup_minutes * 60_000)
    groups: dict[int, list[tuple[int, float]]] = {}
    for p in points:
        groups.setdefault(p[0] // width, []).append(p)
    # A window with more than 25 values (the constants' range) contributes its first 25.
    return [g[:25] for _, g in sorted(groups.items()) if len(g) >= 2]


def _series(chart: Chart, ts: list[int], sizes: list[float] | None = None) -> ChartSeries:
    def clean(xs: list[float]) -> list[float | None]:
        return [x if math.isfinite(x) else None for x in xs]

    return ChartSeries(kind=chart.kind, ts=ts, values=clean(chart.values), centre=chart.centre, lcl=chart.lcl,
                       ucl=chart.ucl, sigma=clean(chart.sigma), lower=chart.lower, sizes=sizes,
                       violations=[ViolationOut(index=v.index, rule=v.rule, start=v.start) for v in chart.violations])


def _write_atomic(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)
