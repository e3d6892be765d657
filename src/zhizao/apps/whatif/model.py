"""Scenario and result types of what-if runs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from zhizao.assets.model import Shift

KPIS = ("throughput_per_day", "wip", "lead_time_h", "on_time_rate", "oee", "energy_kwh_per_unit")
# Which way is better for each KPI (for the verdict shown to people).
BETTER: dict[str, Literal["higher", "lower"]] = {
    "throughput_per_day": "higher", "wip": "lower", "lead_time_h": "lower", "on_time_rate": "higher",
    "oee": "higher", "energy_kwh_per_unit": "lower"}


class Scenario(BaseModel):
    """Changes to the plant as modelled; fields left out change nothing."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("scenario", max_length=80)
    extra_machines: dict[str, int] = Field(default_factory=dict,
                                           description="machine id -> identical machines added beside it")
    buffer_capacity: dict[str, int] = Field(default_factory=dict, description="buffer id -> places")
    cycle_factor: dict[str, float] = Field(default_factory=dict,
                                           description="machine id -> factor on its cycle times (0.9 = 10 % faster)")
    shifts: list[Shift] | None = Field(None, description="the shift pattern (None: as modelled)")
    pm_interval_h: float | None = Field(None, gt=0, description="hours between planned maintenance")
    run_to_failure: bool = Field(False, description="no planned maintenance at all")
    pm_duration_min: float | None = Field(None, gt=0)
    order_load: float | None = Field(None, gt=0, le=1.5,
                                     description="demand as a share of the modelled bottleneck's capacity")

    def is_baseline(self) -> bool:
        return self == Scenario(name=self.name)


class RunSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: float = Field(7.0, gt=0, le=90, description="simulated days measured per replication")
    warmup_h: float = Field(24.0, ge=0, le=24 * 14, description="simulated hours discarded at the start")
    replications: int = Field(5, ge=2, le=50)
    seed: int = Field(1, ge=0)


class Estimate(BaseModel):
    """A mean over replications with its 95 % confidence interval (Student t)."""

    mean: float | None
    half_width: float | None
    values: list[float | None]


class KpiComparison(BaseModel):
    kpi: str
    better: Literal["higher", "lower"]
    baseline: Estimate
    scenario: Estimate
    difference: Estimate  # scenario - baseline, paired by replication (common random numbers)
    significant: bool  # the difference's interval excludes 0
    verdict: Literal["better", "worse", "no_difference"]


class Comparison(BaseModel):
    scenario: Scenario
    settings: RunSettings
    kpis: list[KpiComparison]
    wall_s: float
