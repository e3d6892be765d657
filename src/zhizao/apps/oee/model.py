"""OEE tables and domain types.

``state_intervals`` holds one row per equipment state period (closed rows have
``end_ms``; the current one per machine is open). Downtime events are not a
table of their own: they are the intervals that ``DOWNTIME`` selects (down,
setup, maintenance, and idle with a reason). ``part_counts`` holds produced and
good parts per equipment and minute.

Which ISO 22400 time element each state/reason feeds is decided by ``category``
and explained in ``zhizao.apps.oee.calc``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, UniqueConstraint, and_, or_
from sqlalchemy.orm import Mapped, mapped_column

from zhizao.store.db import Base


class StateInterval(Base):
    __tablename__ = "state_intervals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment: Mapped[str] = mapped_column(String(512))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Last time the interval was known to still hold (== end_ms once closed);
    # an interval left open by a crash is closed here on the next start.
    seen_ms: Mapped[int] = mapped_column(BigInteger)
    shift: Mapped[str | None] = mapped_column(String(64), nullable=True)  # shift at start_ms
    closed_on_restart: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("equipment", "start_ms", name="uq_state_intervals_equipment_start"),
        Index("ix_state_intervals_equipment_end", "equipment", "end_ms"),
    )


class PartCount(Base):
    __tablename__ = "part_counts"
    equipment: Mapped[str] = mapped_column(String(512), primary_key=True)
    minute_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch ms of the minute's start
    produced: Mapped[int] = mapped_column(Integer, default=0)
    good: Mapped[int] = mapped_column(Integer, default=0)


DOWNTIME_STATES = ("down", "setup", "maintenance")
# The rows that are downtime events.
DOWNTIME = or_(
    StateInterval.state.in_(DOWNTIME_STATES),
    and_(StateInterval.state == "idle", StateInterval.reason.is_not(None)),
)

Category = Literal["apt", "pdt", "setup", "down", "delay", "off"]


def category(state: str, reason: str | None) -> Category:
    """The time element a state period counts towards (see ``zhizao.apps.oee.calc``)."""
    if state == "running":
        return "apt"
    if state == "off":
        return "off"
    if state == "setup":
        return "setup"
    if state == "idle":
        return "pdt" if reason == "break" else "delay"
    if state == "maintenance" and reason == "planned":
        return "pdt"
    return "down"


def is_downtime(state: str, reason: str | None) -> bool:
    return state in DOWNTIME_STATES or (state == "idle" and reason is not None)


# ---- domain types (also the API's response schemas) --------------------------

@dataclass(slots=True)
class OeeElements:
    """ISO 22400-2 elements of one machine or the sum over several (times in ms)."""

    period_ms: int = 0  # calendar length of the period
    pot_ms: int = 0  # planned operation time
    pdt_ms: int = 0  # planned downtime: breaks, planned maintenance
    pbt_ms: int = 0  # planned busy time = POT - PDT
    apt_ms: int = 0  # actual production time (running)
    adot_ms: int = 0  # actual unit down time = down + setup + delay (so PBT = APT + ADOT)
    down_ms: int = 0  # failures, minor stops, corrective maintenance
    setup_ms: int = 0  # changeovers (ISO AUST)
    delay_ms: int = 0  # unplanned idle: starved, blocked, no order (ISO ADET)
    off_ms: int = 0  # state off (not scheduled)
    unscheduled_ms: int = 0  # outside every shift and not running
    no_data_ms: int = 0  # inside shifts with no known state
    pq: int = 0  # produced quantity
    gq: int = 0  # good quantity
    sq: int = 0  # scrap quantity
    pri_s: float | None = None  # planned run time per item (ideal cycle); None when machines differ
    ideal_ms: float | None = None  # PRI x PQ summed over machines; None if a PRI is unknown
    equipment_count: int = 0


@dataclass(slots=True)
class OeeKpis:
    availability: float | None = None  # APT / PBT
    effectiveness: float | None = None  # PRI x PQ / APT (performance)
    quality: float | None = None  # GQ / PQ
    oee: float | None = None  # availability x effectiveness x quality


@dataclass(slots=True)
class OeeFigures:
    """Elements and KPIs of one scope, group, machine or line; KPIs are flat for charts."""

    availability: float | None
    effectiveness: float | None
    quality: float | None
    oee: float | None
    elements: OeeElements


@dataclass(slots=True)
class EquipmentOee(OeeFigures):
    path: str = ""
    kind: str = ""


@dataclass(slots=True)
class LineOee(OeeFigures):
    """A line: the sum over its machines, plus what left the line (its last machine)."""

    path: str = ""
    output_equipment: str | None = None
    output_produced: int = 0
    output_good: int = 0
    bottleneck: str | None = None  # machine with the longest ideal cycle
    bottleneck_cycle_s: float | None = None
    line_pbt_ms: int = 0  # longest PBT among the line's machines
    # Good output x bottleneck cycle / line PBT: share of the line's ideal output achieved.
    output_oee: float | None = None


@dataclass(slots=True)
class OeeGroup(OeeFigures):
    key: str = ""  # equipment path, "<local date> <shift id>", local hour (ISO) or local date
    start: int = 0
    end: int = 0
    shift: str | None = None  # the shift id when grouped by shift


@dataclass(slots=True)
class OeeResult(OeeFigures):
    scope: str = ""
    start: int = 0
    end: int = 0
    group_by: str | None = None
    equipment: list[EquipmentOee] = field(default_factory=list)
    lines: list[LineOee] = field(default_factory=list)
    groups: list[OeeGroup] = field(default_factory=list)


@dataclass(slots=True)
class DowntimeEvent:
    id: int
    equipment: str
    state: str
    reason: str | None
    start: int  # epoch ms
    end: int | None  # None while still going on
    duration_ms: int  # up to now when still going on
    in_period_ms: int  # the part inside the queried period
    planned: bool  # planned downtime (break, planned maintenance)
    shift: str | None
    closed_on_restart: bool
    label: str = ""


@dataclass(slots=True)
class DowntimeList:
    scope: str
    start: int
    end: int
    total: int  # matching events, before the limit
    events: list[DowntimeEvent]


@dataclass(slots=True)
class ParetoItem:
    key: str
    label: str
    count: int
    duration_ms: int
    share: float  # of the total duration
    cumulative_share: float
    reason: str | None = None  # set when grouped by reason
    equipment: str | None = None  # set when grouped by equipment


@dataclass(slots=True)
class Pareto:
    scope: str
    start: int
    end: int
    by: str
    planned: bool
    total_ms: int
    total_count: int
    items: list[ParetoItem]
