"""Forecasting many series at once: candidates, backtest, choice, intervals.

1. Clean each series (non-finite values inside are interpolated, at the ends trimmed) and
   put it in a group: ``intermittent`` (average demand interval above 1.32, the
   Syntetos-Boylan limit, so Croston-type methods apply) or ``regular``.
2. Rolling-origin backtest on the history only: at each origin (the last ``horizon``
   values held out, then the ``horizon`` before them, ...) every candidate forecasts the
   held-out part. Candidates are the baselines (naive, seasonal naive, Naive2), the
   statsforecast models, the global LightGBM model, and combinations (means of pairs,
   the mean of all, and the median of all with the seasonal naive) of the non-baseline ones.
3. Choice: per group (default) the candidate with the lowest OWA over the group's
   backtests; or per series (``selection="series"``) the one with the lowest ratio to Naive2
   on that series. Per group is the robust default: one window per series is a noisy judge.
   Intermittent series choose among Croston, SBA, TSB and ADIDA by MASE.
4. Refit every needed candidate on the full history and forecast.
5. Prediction intervals, split-conformal: the backtest errors of the chosen candidate,
   scaled by each series' level, give per-step quantiles pooled over the group's series;
   the interval is the forecast +/- that quantile times the series' level.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from zhizao.apps.forecasting import baselines, stat_models
from zhizao.apps.forecasting.global_gbm import GbmConfig, GlobalGbm
from zhizao.apps.forecasting.metrics import mase_scale, smape

BASELINES = ("naive", "snaive", "naive2")
KNOWN_MODELS = (*BASELINES, *stat_models.STAT_MODELS, "lgbm")
ADI_LIMIT = 1.32  # Syntetos-Boylan: average demand interval above this is intermittent

Progress = Callable[[str], None]


class ForecastInputError(ValueError):
    """Bad arguments (horizon, season, model names); the message names the field."""


@dataclass
class ForecastRun:
    """Forecasts and how they were made; lists are in input order."""

    horizon: int
    season: int
    level: float
    forecasts: list[np.ndarray]
    lower: list[np.ndarray]
    upper: list[np.ndarray]
    chosen: list[str]
    groups: list[str]
    # group -> candidate -> {"smape", "mase", "owa", "series"} over the group's backtests
    backtest: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    notes: list[tuple[int, str]] = field(default_factory=list)  # (series index, what happened)
    # per series, the chosen candidate's backtest accuracy: smape, mase, rmse (series units); None if not backtested
    accuracy: list[dict[str, float] | None] = field(default_factory=list)

    def summary(self) -> dict:
        chosen_by_group = {g: {m: sum(1 for gg, mm in zip(self.groups, self.chosen, strict=True) if gg == g and mm == m)
                               for m in sorted(set(self.chosen))} for g in sorted(set(self.groups))}
        return {"horizon": self.horizon, "season": self.season, "level": self.level, "series": len(self.forecasts),
                "chosen": {g: {m: c for m, c in counts.items() if c} for g, counts in chosen_by_group.items()},
                "backtest": self.backtest, "notes": len(self.notes)}


def clean(values: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Finite float series: trims non-finite ends, interpolates inner gaps; says what it did."""
    y = np.asarray(values, float)
    finite = np.isfinite(y)
    if not finite.any():
        return np.empty(0), "no finite values: forecast is 0"
    first, last = int(np.argmax(finite)), len(y) - int(np.argmax(finite[::-1]))
    y, finite = y[first:last], finite[first:last]
    note = None
    if not finite.all():
        positions = np.arange(len(y))
        y = y.copy()
        y[~finite] = np.interp(positions[~finite], positions[finite], y[finite])
        note = f"{int((~finite).sum())} missing values interpolated"
    if first or last < len(values):
        note = (note + "; " if note else "") + "missing values at the ends trimmed"
    return y, note


def is_intermittent(y: np.ndarray) -> bool:
    if len(y) < 4 or np.any(y < 0):
        return False
    nonzero = int(np.count_nonzero(y))
    return nonzero > 0 and len(y) / nonzero > ADI_LIMIT


def default_models(season: int) -> tuple[str, ...]:
    """Candidates of ``models="auto"``: AutoETS only for short seasons, where it is fast and competitive."""
    models = ["naive", "snaive", "naive2", "theta", "lgbm"]
    if season <= 12:
        models.append("ets")
    return tuple(models)


class Forecaster:
    """Forecast a batch of series ``horizon`` steps ahead (see the module docstring)."""

    def __init__(self, horizon: int, season: int, *, models: tuple[str, ...] | str = "auto", level: float = 90.0,
                 selection: str = "group", origins: int = 1, jobs: int = 2, gbm: GbmConfig | None = None,
                 progress: Progress | None = None) -> None:
        if horizon < 1:
            raise ForecastInputError(f"horizon must be >= 1, got {horizon}")
        if season < 1:
            raise ForecastInputError(f"season must be >= 1, got {season}")
        if not 0 < level < 100:
            raise ForecastInputError(f"level must be between 0 and 100 (percent), got {level}")
        if selection not in ("group", "series"):
            raise ForecastInputError(f"selection must be 'group' or 'series', got {selection!r}")
        if origins < 1:
            raise ForecastInputError(f"origins must be >= 1, got {origins}")
        names = default_models(season) if models == "auto" else tuple(models)
        unknown = [m for m in names if m not in KNOWN_MODELS]
        if unknown or not names:
            raise ForecastInputError(f"models: unknown {', '.join(unknown) or '(none given)'}; "
                                     f"known: {', '.join(KNOWN_MODELS)}")
        self.horizon, self.season, self.level = horizon, season, level
        self.models = tuple(dict.fromkeys((*names, "naive", "naive2")))  # baselines are always there
        self.selection, self.origins, self.jobs = selection, origins, jobs
        self.gbm = gbm or GbmConfig(horizon=horizon, season=season)
        self.progress = progress or (lambda _: None)

    # ---- candidates -----------------------------------------------------------------------
    def stages(self) -> int:
        """Progress steps of one ``forecast`` call (stat models and LightGBM per origin and final fit)."""
        heavy = [m for m in self.models if m not in BASELINES] + list(stat_models.INTERMITTENT_MODELS)
        return (self.origins + 1) * len(heavy)

    def _candidates(self, series: list[np.ndarray], groups: list[str]) -> dict[str, list[np.ndarray | None]]:
        h, s = self.horizon, self.season
        out: dict[str, list[np.ndarray | None]] = {
            "naive": [baselines.naive(y, h) if len(y) else None for y in series],
            "snaive": [baselines.seasonal_naive(y, h, s) if len(y) else None for y in series],
            "naive2": [baselines.naive2(y, h, s) if len(y) else None for y in series],
        }
        regular = [i for i, g in enumerate(groups) if g == "regular" and len(series[i])]
        intermittent = [i for i, g in enumerate(groups) if g == "intermittent"]
        for name in self.models:
            if name in BASELINES:
                continue
            self.progress(name)
            if name == "lgbm":
                out[name] = self._gbm([series[i] for i in regular], regular, len(series))
            else:
                out[name] = self._scatter(stat_models.run(name, [series[i] for i in regular], h, s, self.jobs),
                                          regular, len(series))
        for name in stat_models.INTERMITTENT_MODELS:
            self.progress(name)
            forecasts = stat_models.run(name, [series[i] for i in intermittent], h, s, self.jobs) if intermittent \
                else []
            out[name] = self._scatter(forecasts, intermittent, len(series))
        members = [m for m in self.models if m not in BASELINES]
        for a, b in combinations(members, 2):
            out[f"{a}+{b}"] = _combine([out[a], out[b]], np.mean)
        if len(members) >= 3:
            out["mean(" + "+".join(members) + ")"] = _combine([out[m] for m in members], np.mean)
        if members:
            out["median(" + "+".join([*members, "snaive"]) + ")"] = _combine(
                [out[m] for m in [*members, "snaive"]], np.median)
        return out

    def _gbm(self, series: list[np.ndarray], positions: list[int], total: int) -> list[np.ndarray | None]:
        trainable = [y for y in series if len(y) > 2]
        if not trainable:
            return [None] * total
        model = GlobalGbm(self.gbm).fit(trainable)
        return self._scatter(model.predict(series), positions, total)

    @staticmethod
    def _scatter(values: list, positions: list[int], total: int) -> list[np.ndarray | None]:
        out: list[np.ndarray | None] = [None] * total
        for position, value in zip(positions, values, strict=True):
            out[position] = value
        return out

    # ---- the whole run --------------------------------------------------------------------
    def forecast(self, raw: list[np.ndarray]) -> ForecastRun:
        h = self.horizon
        series, notes = [], []
        for i, values in enumerate(raw):
            y, note = clean(values)
            series.append(y)
            if note:
                notes.append((i, note))
        groups = ["intermittent" if is_intermittent(y) else "regular" for y in series]
        nonnegative = [bool(len(y)) and bool(np.all(y >= 0)) for y in series]

        # Backtests: per origin, the series long enough to hold out ``h`` values and keep a history.
        errors: dict[str, list[list[tuple[float, float, np.ndarray, np.ndarray]]]] = {}
        min_history = max(3, min(self.season, h) + 1)
        for k in range(1, self.origins + 1):
            cut = k * h
            index = [i for i, y in enumerate(series) if len(y) - cut >= min_history]
            if not index:
                break
            histories = [series[i][:len(series[i]) - cut] for i in index]
            actuals = [series[i][len(series[i]) - cut:len(series[i]) - cut + h] for i in index]
            candidates = self._candidates(histories, [groups[i] for i in index])
            for j, i in enumerate(index):
                scale = mase_scale(histories[j], self.season)
                level = _series_level(histories[j], self.season)
                for name, forecasts in candidates.items():
                    f = forecasts[j]
                    if f is None:
                        continue
                    if nonnegative[i]:
                        f = np.maximum(f, 0)
                    err = actuals[j] - f
                    errors.setdefault(name, [[] for _ in series])[i].append(
                        (smape(actuals[j], f), float(np.mean(np.abs(err))) / scale, err / level, err))
        reference = errors.get("naive2", [[] for _ in series])
        backtest, chosen = self._choose(errors, reference, groups)

        final = self._candidates(series, groups)
        forecasts, lower, upper = [], [], []
        quantiles = self._interval_quantiles(errors, chosen, groups, series)
        for i, y in enumerate(series):
            if not len(y):
                zeros = np.zeros(h)
                forecasts.append(zeros), lower.append(zeros), upper.append(zeros)
                chosen[i] = "zero"
                continue
            name = chosen[i]
            f = final.get(name, [None] * len(series))[i]
            if f is None:
                notes.append((i, f"{name} could not forecast this series; naive2 used"))
                name = chosen[i] = "naive2"
                f = final["naive2"][i]
            width = quantiles[i] * _series_level(y, self.season)
            lo, hi = f - width, f + width
            if nonnegative[i]:
                f, lo, hi = np.maximum(f, 0), np.maximum(lo, 0), np.maximum(hi, 0)
            forecasts.append(f), lower.append(lo), upper.append(hi)
        accuracy = []
        for i, name in enumerate(chosen):
            done = errors.get(name, [[]] * len(series))[i]
            accuracy.append({"smape": float(np.mean([e[0] for e in done])),
                             "mase": float(np.mean([e[1] for e in done])),
                             "rmse": float(np.sqrt(np.mean(np.concatenate([e[3] for e in done]) ** 2)))}
                            if done else None)
        return ForecastRun(h, self.season, self.level, forecasts, lower, upper, chosen, groups, backtest, notes,
                           accuracy)

    def _choose(self, errors, reference, groups) -> tuple[dict, list[str]]:
        """Backtest table per group and the chosen candidate per series."""
        table: dict[str, dict[str, dict[str, float]]] = {}
        best: dict[str, str] = {}
        for group in sorted(set(groups)):
            members = [i for i, g in enumerate(groups) if g == group and reference[i]]
            n2 = [e for i in members for e in reference[i]]
            rows = {}
            for name, per_series in errors.items():
                got = [e for i in members for e in per_series[i]]
                if not n2 or len(got) != len(n2):
                    continue  # a candidate must cover every backtest of the group to be compared fairly
                s_model, m_model = np.mean([e[0] for e in got]), np.mean([e[1] for e in got])
                s_ref, m_ref = np.mean([e[0] for e in n2]), np.mean([e[1] for e in n2])
                rows[name] = {"smape": float(s_model), "mase": float(m_model), "series": len(members),
                              "owa": float(0.5 * (_ratio(s_model, s_ref) + _ratio(m_model, m_ref)))}
            table[group] = rows
            # Intermittent demand is judged by MASE among the methods made for it: sMAPE rewards forecasting 0
            # (a zero actual and a zero forecast count as perfect), which would leave spare parts unstocked.
            eligible = [n for n in rows if group != "intermittent" or n in stat_models.INTERMITTENT_MODELS]
            if eligible:
                best[group] = min(eligible, key=lambda n: rows[n]["mase" if group == "intermittent" else "owa"])
        fallback = {"regular": "theta" if "theta" in self.models else "naive2", "intermittent": "sba"}
        chosen = [best.get(g, fallback[g]) for g in groups]
        if self.selection == "series":
            for i, g in enumerate(groups):
                if not reference[i]:
                    continue
                s_ref = np.mean([e[0] for e in reference[i]])
                m_ref = np.mean([e[1] for e in reference[i]])
                scores = {name: 0.5 * (_ratio(np.mean([e[0] for e in per[i]]), s_ref)
                                       + _ratio(np.mean([e[1] for e in per[i]]), m_ref))
                          if g == "regular" else float(np.mean([e[1] for e in per[i]]))
                          for name, per in errors.items() if name in table.get(g, {}) and per[i]
                          and (g == "regular" or name in stat_models.INTERMITTENT_MODELS)}
                if scores:
                    chosen[i] = min(scores, key=scores.get)
        return table, chosen

    def _interval_quantiles(self, errors, chosen, groups, series) -> list[np.ndarray]:
        """Per series, the scaled half-width of the interval at each step (split conformal, pooled per group)."""
        h, q = self.horizon, self.level / 100
        pooled: dict[tuple[str, str], list[np.ndarray]] = {}
        for i, name in enumerate(chosen):
            for e in errors.get(name, [[]] * len(series))[i]:
                pooled.setdefault((groups[i], name), []).append(np.abs(e[2]))
        out = []
        cache: dict[tuple[str, str], np.ndarray] = {}
        for i, name in enumerate(chosen):
            key = (groups[i], name)
            if key not in cache:
                residuals = pooled.get(key)
                if residuals:
                    matrix = np.stack(residuals)
                    window = 0 if len(matrix) >= 30 else max(1, h // 8)
                    per_step = np.array([np.quantile(matrix[:, max(0, j - window):j + window + 1], q)
                                         for j in range(h)])
                    cache[key] = np.maximum.accumulate(per_step)
                else:
                    cache[key] = None
            width = cache[key]
            if width is None:  # no backtest: the seasonal-naive error spread of the series itself
                y = series[i]
                lag = self.season if len(y) > self.season else 1
                diffs = np.abs(y[lag:] - y[:-lag]) / _series_level(y, self.season) if len(y) > lag else np.zeros(1)
                width = np.full(h, float(np.quantile(diffs, q))) * np.sqrt(np.ceil(np.arange(1, h + 1) / lag))
            out.append(width)
        return out


def _series_level(y: np.ndarray, season: int) -> float:
    window = y[-max(season, 1):]
    level = float(np.mean(np.abs(window))) if len(window) else 0.0
    return level if level > 1e-9 else 1.0


def _ratio(value: float, reference: float) -> float:
    if reference > 0:
        return float(value / reference)
    return 1.0 if value == 0 else math.inf


def _combine(parts: list[list[np.ndarray | None]], how) -> list[np.ndarray | None]:
    out = []
    for values in zip(*parts, strict=True):
        out.append(None if any(v is None for v in values) else how(np.stack(values), axis=0))
    return out
