"""SPC domain types: per-tag configuration (with the frozen Phase I baseline) and the API's results.

Configuration lives in ``<data_dir>/spc.json`` (one small document, written atomically), so no
relational table is needed; the measurements themselves are read from the historian.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from zhizao.apps.spc.constants import MAX_N, MIN_N
from zhizao.apps.spc.rules import RULE_NUMBERS, RuleConfig

ChartKind = Literal["xbar_r", "imr", "ewma", "cusum"]


class RuleSettings(BaseModel):
    """Nelson rules that are on, and their counts (defaults: Nelson 1984)."""

    model_config = ConfigDict(extra="forbid")
    enabled: list[int] = Field(default_factory=lambda: list(RULE_NUMBERS))
    same_side: int = Field(9, ge=2, le=50, description="rule 2: points in a row on one side")
    trend: int = Field(6, ge=3, le=50, description="rule 3: points steadily rising or falling")
    alternating: int = Field(14, ge=4, le=50, description="rule 4: points alternating up and down")
    zone_a: tuple[int, int] = Field((2, 3), description="rule 5: m of n beyond 2 sigma, same side")
    zone_b: tuple[int, int] = Field((4, 5), description="rule 6: m of n beyond 1 sigma, same side")
    stratification: int = Field(15, ge=2, le=100, description="rule 7: points in a row within 1 sigma")
    mixture: int = Field(8, ge=2, le=50, description="rule 8: points in a row beyond 1 sigma, either side")

    def config(self) -> RuleConfig:
        try:
            return RuleConfig(enabled=tuple(sorted(set(self.enabled))), same_side=self.same_side, trend=self.trend,
                              alternating=self.alternating, zone_a=self.zone_a, zone_b=self.zone_b,
                              stratification=self.stratification, mixture=self.mixture)
        except ValueError as exc:
            raise ValueError(f"rules.{exc}") from None

    @model_validator(mode="after")
    def _valid(self) -> RuleSettings:
        self.config()
        return self


class FrozenBaseline(BaseModel):
    """Phase I estimates frozen for monitoring (see ``charts.Baseline``) and where they came from."""

    mean: float
    sigma: float = Field(gt=0)
    spread: float
    n: int
    count: int
    start: int  # epoch ms of the first and last Phase I value
    end: int
    frozen_at: int
    frozen_by: str


class TagConfig(BaseModel):
    """How one measurement tag is charted; engineers change it through the API."""

    model_config = ConfigDict(extra="forbid")
    tag: str
    chart: ChartKind = "xbar_r"
    subgroup_by: Literal["count", "time"] = "count"
    subgroup_size: int = Field(5, ge=MIN_N, le=MAX_N, description="X̄-R: consecutive values per subgroup")
    subgroup_minutes: float = Field(60, gt=0, le=1440, description="X̄-R by time: length of a subgroup")
    rules: RuleSettings = Field(default_factory=RuleSettings)
    ewma_lambda: float = Field(0.2, gt=0, le=1)
    ewma_width: float = Field(3.0, gt=0, le=6, description="EWMA: L, the limits' width in sigmas")
    cusum_k: float = Field(0.5, gt=0, le=3, description="CUSUM: reference value k in sigmas")
    cusum_h: float = Field(5.0, gt=0, le=20, description="CUSUM: decision interval h in sigmas")
    baseline_points: int = Field(125, ge=20, le=10_000, description="values Phase I needs before limits freeze")
    lsl: float | None = None  # specification limits; default from the products' spec
    usl: float | None = None
    alarm: bool = True  # rule violations raise an alarm on the tag
    baseline: FrozenBaseline | None = None


class ViolationOut(BaseModel):
    index: int
    rule: int
    start: int


class ChartSeries(BaseModel):
    kind: str  # xbar | r | i | mr | ewma | cusum | p | u
    ts: list[int]
    values: list[float | None]
    centre: list[float]
    lcl: list[float]
    ucl: list[float]
    sigma: list[float | None]
    lower: list[float] | None = None  # CUSUM: -C⁻
    sizes: list[float] | None = None  # subgroup or sample sizes
    violations: list[ViolationOut]


class ChartResponse(BaseModel):
    tag: str
    name: str
    unit: str
    chart: ChartKind
    phase: Literal["monitoring", "trial", "no_data"]  # frozen limits, or trial limits from the data shown
    start: int
    end: int
    points: int
    lsl: float | None
    usl: float | None
    baseline: FrozenBaseline | None
    series: list[ChartSeries]


class IndexOut(BaseModel):
    value: float
    low: float
    high: float


class CapabilityResponse(BaseModel):
    tag: str
    start: int
    end: int
    n: int
    mean: float
    sigma_within: float | None
    sigma_overall: float
    lsl: float | None
    usl: float | None
    cp: IndexOut | None
    cpk: IndexOut | None
    pp: IndexOut | None
    ppk: IndexOut | None
    out_of_spec: int
    confidence: float
    bin_edges: list[float]
    counts: list[int]


class TagStatus(BaseModel):
    tag: str
    name: str
    unit: str
    chart: ChartKind
    phase: Literal["monitoring", "collecting"]
    collected: int  # values seen since the platform started (Phase I progress while collecting)
    baseline_points: int
    lsl: float | None
    usl: float | None
    last_violation_ts: int | None
    last_violation_rules: list[int]
    violations: int  # points with a violation since the platform started


class AttributeResponse(BaseModel):
    kind: Literal["p", "u"]
    station: str
    start: int
    end: int
    period_min: int
    series: ChartSeries


class RuleInfo(BaseModel):
    rule: int
    title: str
    text: str
