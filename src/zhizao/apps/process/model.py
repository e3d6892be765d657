"""Process-parameter optimisation: what a process is (parameters, outcome, constraints) and what comes out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Parameter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    low: float
    high: float
    unit: str = ""
    label: dict[str, str] = Field(default_factory=dict)  # {"en": ..., "zh": ...}

    @model_validator(mode="after")
    def _range(self) -> Parameter:
        if not self.low < self.high:
            raise ValueError(f"{self.name}: low ({self.low}) must be below high ({self.high})")
        return self


class LinearConstraint(BaseModel):
    """sum(coefficients[p] * p) <= max: e.g. energy per batch, cycle time, a pressure x temperature window."""

    model_config = ConfigDict(extra="forbid")

    name: str
    coefficients: dict[str, float]
    max: float

    def slack(self, values: dict[str, float]) -> float:
        """Negative or zero when the constraint holds."""
        return sum(c * values[p] for p, c in self.coefficients.items()) - self.max


class ProcessSpec(BaseModel):
    """The parameters people may set, the outcome to improve and the limits to respect."""

    model_config = ConfigDict(extra="forbid")

    name: str = "process"
    parameters: list[Parameter]
    outcome: str = "yield"
    direction: Literal["maximize", "minimize"] = "maximize"
    constraints: list[LinearConstraint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self) -> ProcessSpec:
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names) or not names:
            raise ValueError("parameters: names must be given and unique")
        for c in self.constraints:
            unknown = set(c.coefficients) - set(names)
            if unknown:
                raise ValueError(f"constraints.{c.name}: unknown parameters {sorted(unknown)}")
        return self

    def feasible(self, values: dict[str, float]) -> bool:
        return all(c.slack(values) <= 1e-9 for c in self.constraints)


class Importance(BaseModel):
    parameter: str
    importance: float  # drop in the surrogate's R² when the parameter is shuffled
    spread: float  # its standard deviation over the shuffles


class Recommendation(BaseModel):
    setpoints: dict[str, float]
    predicted: float  # the surrogate's expected outcome at the setpoints
    predicted_std: float  # and its uncertainty (one standard deviation)
    evaluations: int  # runs of the process spent to find it
    best_observed: float


class Analysis(BaseModel):
    spec: ProcessSpec
    batches: int
    surrogate_r2_cv: float  # cross-validated R² of the surrogate on the batches
    importance: list[Importance]  # most important first
    recommendation: Recommendation
