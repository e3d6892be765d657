"""Time-of-use electricity tariffs (峰谷分时电价) and scope 2 emission factors.

A tariff names bands with a price (currency per kWh) and covers the local day with periods
``{"band", "start": "HH:MM", "end": "HH:MM"}`` (``"24:00"`` ends the day). The default is an
EXAMPLE modelled on Jiangsu's industrial time-of-use periods (peak 08:00-12:00 and 17:00-21:00,
flat 12:00-17:00 and 21:00-24:00, valley 00:00-08:00) with round prices of a 1-10 kV large-industry
tariff; provinces revise periods and prices, so a plant enters its own from its electricity bill.

The default emission factor is China's national average grid emission factor for 2022,
0.5703 kgCO2/kWh, published by the Ministry of Ecology and Environment and the National Bureau of
Statistics in 2024 (关于发布2022年电力二氧化碳排放因子的公告); use a newer or a provincial
factor where the reporting scheme asks for one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

MINUTES_PER_DAY = 1440


def _minute(hhmm: str, field: str) -> int:
    try:
        h, m = (int(x) for x in hhmm.split(":"))
    except ValueError:
        raise ValueError(f"{field}: {hhmm!r} is not HH:MM") from None
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > MINUTES_PER_DAY:
        raise ValueError(f"{field}: {hhmm!r} is not a time of day")
    return h * 60 + m


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid")
    band: str
    start: str = Field(description="HH:MM local time")
    end: str = Field(description="HH:MM local time, 24:00 for midnight")


class Tariff(BaseModel):
    """Prices by band and the periods that cover the local day."""

    model_config = ConfigDict(extra="forbid")
    name: str = "example"
    currency: str = "CNY"
    note: str = ""
    prices: dict[str, float]  # band -> price per kWh
    periods: list[Period]

    @model_validator(mode="after")
    def _covers_the_day(self) -> Tariff:
        for band, price in self.prices.items():
            if not price >= 0:
                raise ValueError(f"prices.{band}: {price} is not a price >= 0")
        covered = [0] * MINUTES_PER_DAY
        for i, p in enumerate(self.periods):
            if p.band not in self.prices:
                raise ValueError(f"periods[{i}].band: {p.band!r} has no price (bands: {', '.join(self.prices)})")
            a, b = _minute(p.start, f"periods[{i}].start"), _minute(p.end, f"periods[{i}].end")
            if a >= b:
                raise ValueError(f"periods[{i}]: start {p.start} is not before end {p.end}")
            for m in range(a, b):
                covered[m] += 1
        gaps = [m for m, c in enumerate(covered) if c != 1]
        if gaps:
            m = gaps[0]
            what = "is not covered" if covered[m] == 0 else "is covered twice"
            raise ValueError(f"periods: {m // 60:02d}:{m % 60:02d} {what}; the periods must cover the day once")
        return self

    def minute_bands(self) -> list[str]:
        """The band of each minute of the local day."""
        out = [""] * MINUTES_PER_DAY
        for p in self.periods:
            for m in range(_minute(p.start, "start"), _minute(p.end, "end")):
                out[m] = p.band
        return out

    def band_at(self, ts_ms: int, tz: str) -> str:
        local = datetime.fromtimestamp(ts_ms / 1000, ZoneInfo(tz))
        return self.minute_bands()[local.hour * 60 + local.minute]

    def slots(self, day_start_ms: int, slot_minutes: int, count: int, tz: str) -> tuple[list[str], list[float]]:
        """Band and price of ``count`` slots from ``day_start_ms`` (by each slot's start, local time)."""
        bands = self.minute_bands()
        zone = ZoneInfo(tz)
        start = datetime.fromtimestamp(day_start_ms / 1000, zone)
        out_bands = []
        for i in range(count):
            local = (start + timedelta(minutes=slot_minutes * i)).astimezone(zone)
            out_bands.append(bands[local.hour * 60 + local.minute])
        return out_bands, [self.prices[b] for b in out_bands]


class EmissionFactor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kg_co2_per_kwh: float = Field(ge=0)
    source: str = ""
    year: int | None = None


def example_tariff() -> Tariff:
    return Tariff(
        name="Jiangsu-like industrial TOU (example)",
        currency="CNY",
        note="EXAMPLE: periods after Jiangsu's industrial time-of-use tariff, round 1-10 kV prices; "
             "enter the periods and prices of your own electricity bill.",
        prices={"peak": 1.08, "flat": 0.64, "valley": 0.27},
        periods=[Period(band="valley", start="00:00", end="08:00"), Period(band="peak", start="08:00", end="12:00"),
                 Period(band="flat", start="12:00", end="17:00"), Period(band="peak", start="17:00", end="21:00"),
                 Period(band="flat", start="21:00", end="24:00")],
    )


def default_emission_factor() -> EmissionFactor:
    return EmissionFactor(kg_co2_per_kwh=0.5703, year=2022,
                          source="China national grid average, 2022 (MEE & NBS announcement, 2024); editable")


def cost_of(kwh_by_band: dict[str, float], tariff: Tariff) -> dict[str, float]:
    """Cost of the energy used in each band."""
    return {band: kwh * tariff.prices.get(band, 0.0) for band, kwh in kwh_by_band.items()}
