"""Energy & carbon domain types: the configuration document and the API's requests and results.

Configuration (tariff, emission factor, the flexible loads for load shifting) lives in
``<data_dir>/energy.json``, written atomically; no relational table is needed, the energy
figures are computed from the historian's counters.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from zhizao.apps.energy.scenarios import stock_preparation
from zhizao.apps.energy.shifting import Buffer, Load, Problem
from zhizao.apps.energy.tariff import EmissionFactor, Tariff, default_emission_factor, example_tariff


class LoadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    power_kw: float = Field(ge=0)
    outputs: dict[str, float] = Field(default_factory=dict, description="buffer -> amount added per slot while on")
    inputs: dict[str, float] = Field(default_factory=dict, description="buffer -> amount taken per slot while on")
    min_on: int = Field(1, ge=1, le=96, description="slots")
    min_off: int = Field(1, ge=1, le=96, description="slots")
    max_starts: int | None = Field(None, ge=0, le=96)
    initially_on: bool = False


class BufferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    low: float
    high: float
    initial: float
    demand: list[float] = Field(default_factory=list, description="amount taken per slot by the consumer")
    final_min: float | None = None


class ShiftProblemIn(BaseModel):
    """Flexible loads and buffers for one day; prices per slot come from the configured tariff."""

    model_config = ConfigDict(extra="forbid")
    slot_minutes: int = Field(15, description="15, 30 or 60")
    loads: list[LoadIn] = Field(min_length=1, max_length=20)
    buffers: list[BufferIn] = Field(min_length=1, max_length=20)

    def problem(self, prices: list[float]) -> Problem:
        return Problem(prices=tuple(prices), slot_minutes=self.slot_minutes,
                       loads=tuple(Load(**ld.model_dump()) for ld in self.loads),
                       buffers=tuple(Buffer(**{**b.model_dump(), "demand": tuple(b.demand)}) for b in self.buffers))


def example_problem() -> ShiftProblemIn:
    p = stock_preparation([0.0] * 96)
    return ShiftProblemIn(
        slot_minutes=p.slot_minutes,
        loads=[LoadIn(name=ld.name, power_kw=ld.power_kw, outputs=ld.outputs, inputs=ld.inputs, min_on=ld.min_on,
                      min_off=ld.min_off, max_starts=ld.max_starts) for ld in p.loads],
        buffers=[BufferIn(name=b.name, low=b.low, high=b.high, initial=b.initial, demand=list(b.demand))
                 for b in p.buffers])


class EnergyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tariff: Tariff = Field(default_factory=example_tariff)
    emission_factor: EmissionFactor = Field(default_factory=default_emission_factor)
    flexible: ShiftProblemIn = Field(default_factory=example_problem)


class EquipmentEnergy(BaseModel):
    equipment: str
    name: str
    kind: str
    kwh: float
    kwh_by_band: dict[str, float]
    cost: float
    cost_by_band: dict[str, float]
    co2_kg: float
    good_units: int | None  # from the good_count counter; None without one
    kwh_per_unit: float | None
    source: str  # "energy" (meter counter) or "power" (integrated samples)


class BandSlot(BaseModel):
    start: int
    band: str
    kwh: float


class ConsumptionResponse(BaseModel):
    start: int
    end: int
    currency: str
    tariff: str
    emission_factor: float
    total_kwh: float  # line meters when there are any, else the machines' sum
    total_cost: float
    total_co2_kg: float
    kwh_by_band: dict[str, float]
    cost_by_band: dict[str, float]
    good_units: int | None  # the lines' output (good parts of each line's last machine)
    kwh_per_unit: float | None
    machines: list[EquipmentEnergy]
    meters: list[EquipmentEnergy]
    hourly: list[BandSlot]  # the total per hour, with its tariff band


class Anomaly(BaseModel):
    kind: str  # idle_power | energy_per_unit
    equipment: str
    name: str
    start: int
    end: int
    value: float
    expected: float
    limit: float
    unit: str
    message: str


class PlanOut(BaseModel):
    policy: str
    on: dict[str, list[int]]
    levels: dict[str, list[float]]
    cost: float
    energy_kwh: float
    starts: dict[str, int]
    status: str
    violations: list[str]
    bound: float | None
    solve_s: float


class ShiftResponse(BaseModel):
    slot_minutes: int
    day_start: int
    slots: list[int]
    bands: list[str]
    prices: list[float]
    currency: str
    asap: PlanOut
    optimised: PlanOut
    saving: float | None  # asap cost - optimised cost (None when a plan breaks a limit)
    saving_pct: float | None
    buffers: list[BufferIn]
