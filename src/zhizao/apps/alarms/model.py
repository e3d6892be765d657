"""Alarm domain types, the ISA-18.2 state machine and the alarm tables.

One alarm per limit (hihi, hi, lo, lolo) of a tag, as ISA-18.2 rationalisation
does: each limit has its own setpoint, consequence and response, so each is
acknowledged, shelved and counted on its own; a hi alarm whose hihi sibling is
active is marked ``superseded`` so displays and counts show only the hihi.
Discrete "machine down" alarms (limit ``down``) live on an equipment's
``state`` tag path.

An alarm row is the identity of an alarm point (tag path + limit kind) and keeps
its id for ever; each activation from Normal starts a new ``occurrence`` of it.
So the id an operator acknowledges is stable, and history groups by occurrence.

Everything here is pure: no I/O, times are passed in (epoch ms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhizao.assets.model import Plant, Text
from zhizao.core.i18n import DEFAULT_LANG, LANGS, catalogue, t
from zhizao.store.db import Base

Value = float | int | str


class AlarmState(StrEnum):
    NORMAL = "normal"
    UNACK_ACTIVE = "unack_active"
    ACK_ACTIVE = "ack_active"
    UNACK_RTN = "unack_rtn"
    SHELVED = "shelved"
    OUT_OF_SERVICE = "out_of_service"


ACTIVE_STATES = frozenset({AlarmState.UNACK_ACTIVE, AlarmState.ACK_ACTIVE})
UNACKED_STATES = frozenset({AlarmState.UNACK_ACTIVE, AlarmState.UNACK_RTN})
# States shown on the operator's alarm list.
ANNUNCIATED_STATES = ACTIVE_STATES | UNACKED_STATES
REMOVED_STATES = frozenset({AlarmState.SHELVED, AlarmState.OUT_OF_SERVICE})

LIMIT_KINDS = ("lolo", "lo", "hi", "hihi")
DOWN = "down"
PRIORITIES = ("urgent", "high", "medium", "low")  # most urgent first
# The more severe limit that supersedes a limit in display.
SUPERSEDED_BY = {"hi": "hihi", "lo": "lolo"}


class AlarmError(Exception):
    """A refused alarm operation; ``key``/``params`` render it through the catalogue."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(t(key, "en", **params))


class AlarmNotFound(AlarmError):
    pass


class AlarmConflict(AlarmError):
    """The alarm's state does not allow the operation (e.g. acknowledging a Normal alarm)."""


class AlarmInputError(AlarmError):
    """A request field is invalid; the message names the field."""


def evaluate_limit(kind: str, limit: float, deadband: float, active: bool, value: float) -> bool:
    """The condition of a limit alarm after ``value``, given whether it was ``active``.

    It activates beyond the limit and returns only once back inside by the deadband,
    so a value chattering around the limit does not toggle the alarm.
    """
    if kind in ("hi", "hihi"):
        return value >= limit - deadband if active else value > limit
    return value <= limit + deadband if active else value < limit


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def down_priority(reason: Any) -> str:
    """Priority of a machine-down occurrence: failures matter more than minor stops."""
    if isinstance(reason, str) and reason.startswith("failure"):
        return "high"
    return "low" if reason == "minor_stop" else "medium"


def _norm_lang(lang: str) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


def _text(text: Text, fallback: str, lang: str) -> str:
    return (text.zh if lang == "zh-CN" else text.en) or text.en or text.zh or fallback


def _lookup(key: str, lang: str, fallback: str) -> str:
    return catalogue(lang).get(key) or catalogue("en").get(key) or fallback


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "–" if value is None else str(value)


def reason_text(reason: Any, lang: str) -> str:
    """A state reason code (``failure.bearing``, ``minor_stop``...) in words."""
    if not isinstance(reason, str) or not reason:
        return t("alarms.reason.unknown", lang)
    kind, _, mode = reason.partition(".")
    if kind == "failure":
        return t("alarms.reason.failure", lang, mode=_lookup(f"alarms.mode.{mode}", lang, mode or "?"))
    return _lookup(f"alarms.reason.{reason}", lang, reason)


@dataclass(frozen=True, eq=False, slots=True)
class AlarmDefinition:
    """What an alarm watches, from the asset model."""

    tag: str  # tag path; for machine-down alarms the equipment's ``state`` tag
    equipment: str  # equipment path
    limit: str  # hihi | hi | lo | lolo | down
    limit_value: float | None
    deadband: float
    priority: str
    unit: str
    # Display names by language: the tag ("CNC lathe 1 Bearing temperature") and its equipment.
    tag_names: dict[str, str]
    equipment_names: dict[str, str]


def definitions_from_plant(plant: Plant) -> list[AlarmDefinition]:
    """One definition per alarm limit of every tag, and a machine-down alarm per equipment with a state."""
    out: list[AlarmDefinition] = []
    for *_, eq in plant.iter_equipment():
        eq_names = {lang: _text(eq.name, eq.id, lang) for lang in LANGS}
        for tag in eq.all_tags:
            names = {lang: f"{eq_names[lang]} {_text(tag.description, tag.id, lang)}" for lang in LANGS}
            if tag.alarms is not None:
                for kind in LIMIT_KINDS:
                    limit = getattr(tag.alarms, kind)
                    if limit is not None:
                        out.append(AlarmDefinition(tag.path, eq.path, kind, float(limit), tag.alarms.deadband,
                                                   tag.alarms.priority, tag.unit, names, eq_names))
            if tag.id == "state":
                out.append(AlarmDefinition(tag.path, eq.path, DOWN, None, 0.0, "high", "", names, eq_names))
    return out


def external_definition(plant: Plant, tag_path: str, kind: str, priority: str = "medium") -> AlarmDefinition:
    """An alarm of ``kind`` (not a limit: e.g. ``spc`` for control-chart rules) on a tag of the plant."""
    for *_, eq in plant.iter_equipment():
        for tag in eq.all_tags:
            if tag.path == tag_path:
                eq_names = {lang: _text(eq.name, eq.id, lang) for lang in LANGS}
                names = {lang: f"{eq_names[lang]} {_text(tag.description, tag.id, lang)}" for lang in LANGS}
                return AlarmDefinition(tag.path, eq.path, kind, None, 0.0, priority, tag.unit, names, eq_names)
    raise ValueError(f"tag: {tag_path!r} is not a tag of the plant")


@dataclass(frozen=True, slots=True)
class Transition:
    """One lifecycle step of an alarm, as stored in ``alarm_events``."""

    alarm_id: int
    ts: int
    occurrence: int
    from_state: AlarmState
    to_state: AlarmState
    value: Value | None
    username: str | None = None
    note: str | None = None


@dataclass(eq=False, slots=True)
class Alarm:
    """The live state of one alarm point and its ISA-18.2 state machine.

    ``active`` is the process condition, tracked even while the alarm is shelved
    or out of service; ``state`` is the lifecycle state operators see.
    """

    id: int
    definition: AlarmDefinition
    state: AlarmState = AlarmState.NORMAL
    active: bool = False
    priority: str = "medium"
    occurrence: int = 0
    value: Value | None = None  # at activation (machine down: the reason code)
    last_value: Value | None = None
    active_since: int | None = None
    cleared_at: int | None = None
    acked_by: str | None = None
    acked_at: int | None = None
    shelved_by: str | None = None
    shelved_at: int | None = None
    shelved_until: int | None = None
    shelve_reason: str | None = None
    updated_at: int | None = None
    # The more severe sibling (hihi for hi, lolo for lo) that supersedes this alarm.
    parent: Alarm | None = field(default=None, repr=False)

    @property
    def superseded(self) -> bool:
        return self.parent is not None and self.parent.state in ACTIVE_STATES

    def _go(self, to: AlarmState, ts: int, user: str | None = None, note: str | None = None,
            value: Value | None = None) -> Transition:
        tr = Transition(self.id, ts, self.occurrence, self.state, to,
                        self.value if value is None else value, user, note)
        self.state = to
        self.updated_at = ts
        return tr

    def _annunciate(self, ts: int, value: Value | None, user: str | None = None) -> Transition:
        """Enter Unacknowledged-Active as a new occurrence."""
        self.occurrence += 1
        self.value = value
        self.active_since = ts
        self.cleared_at = self.acked_by = self.acked_at = None
        return self._go(AlarmState.UNACK_ACTIVE, ts, user)

    def set_condition(self, active: bool, value: Value | None, ts: int) -> Transition | None:
        """Apply a change of the process condition; None when the lifecycle state does not move."""
        if active == self.active:
            return None
        self.active = active
        self.last_value = value
        if self.state in REMOVED_STATES:
            return None
        if active:
            if self.state is AlarmState.NORMAL:
                return self._annunciate(ts, value)
            if self.state is AlarmState.UNACK_RTN:
                self.value, self.active_since, self.cleared_at = value, ts, None
                return self._go(AlarmState.UNACK_ACTIVE, ts)
            return None
        if self.state not in ACTIVE_STATES:
            return None
        self.cleared_at = ts
        to = AlarmState.UNACK_RTN if self.state is AlarmState.UNACK_ACTIVE else AlarmState.NORMAL
        return self._go(to, ts, value=value)

    def acknowledge(self, user: str, ts: int, note: str | None = None) -> Transition:
        if self.state not in UNACKED_STATES:
            raise AlarmConflict("alarms.error.not_unacked", id=self.id, state=self.state.value)
        to = AlarmState.ACK_ACTIVE if self.state is AlarmState.UNACK_ACTIVE else AlarmState.NORMAL
        self.acked_by, self.acked_at = user, ts
        return self._go(to, ts, user, note)

    def remove(self, to: AlarmState, user: str, ts: int, until: int | None, reason: str) -> Transition:
        """Shelve (``to`` SHELVED; again to change the expiry) or take out of service."""
        if self.state is AlarmState.OUT_OF_SERVICE:
            raise AlarmConflict("alarms.error.out_of_service", id=self.id)
        self.shelved_by, self.shelved_at, self.shelved_until, self.shelve_reason = user, ts, until, reason
        return self._go(to, ts, user, reason)

    def restore(self, from_state: AlarmState, user: str | None, ts: int) -> Transition:
        """Unshelve / return to service (``user`` None: the shelve expired).

        An alarm whose condition is still active is annunciated again as a new occurrence.
        """
        if self.state is not from_state:
            shelved = from_state is AlarmState.SHELVED
            key = "alarms.error.not_shelved" if shelved else "alarms.error.in_service"
            raise AlarmConflict(key, id=self.id, state=self.state.value)
        self.shelved_by = self.shelved_at = self.shelved_until = self.shelve_reason = None
        if self.active:
            return self._annunciate(ts, self.last_value, user)
        return self._go(AlarmState.NORMAL, ts, user)

    def shelve_expired(self, now: int) -> bool:
        return (self.state is AlarmState.SHELVED and self.shelved_until is not None
                and now >= self.shelved_until)

    # ---- display -----------------------------------------------------------------
    def title(self, lang: str) -> str:
        lang = _norm_lang(lang)
        d = self.definition
        if d.limit == DOWN:
            return t("alarms.title.down", lang, equipment=d.equipment_names[lang])
        return f"{d.tag_names[lang]} {t(f'alarms.limit.{d.limit}', lang)}"

    def message(self, lang: str) -> str:
        """What happened, e.g. "CNC lathe 1 Bearing temperature high: 77.2 °C > 75"."""
        lang = _norm_lang(lang)
        d = self.definition
        if self.occurrence == 0:
            return self.title(lang)
        if d.limit == DOWN:
            return t("alarms.msg.down", lang, equipment=d.equipment_names[lang],
                     reason=reason_text(self.value, lang))
        text = t(f"alarms.msg.{d.limit}", lang, tag=d.tag_names[lang], value=fmt_value(self.value),
                 unit=d.unit, limit=fmt_value(d.limit_value))
        return " ".join(text.split())  # tags without a unit leave a double space

    def snapshot(self, lang: str) -> dict[str, Any]:
        """The ``alarms`` row values (``message`` in the platform language, for SQL readers)."""
        return {
            "id": self.id, "priority": self.priority, "state": self.state.value, "active": self.active,
            "occurrence": self.occurrence, "value": self.value, "message": self.message(lang)[:512],
            "active_since": self.active_since, "cleared_at": self.cleared_at,
            "acked_by": self.acked_by, "acked_at": self.acked_at,
            "shelved_by": self.shelved_by, "shelved_at": self.shelved_at,
            "shelved_until": self.shelved_until, "shelve_reason": self.shelve_reason,
            "updated_at": self.updated_at,
        }


# ---- tables ------------------------------------------------------------------------

class AlarmRow(Base):
    """Current state of each alarm point (tag path + limit kind)."""

    __tablename__ = "alarms"
    __table_args__ = (UniqueConstraint("tag", "limit_kind", name="uq_alarms_tag_limit"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag: Mapped[str] = mapped_column(String(512), index=True)
    limit_kind: Mapped[str] = mapped_column(String(8))
    limit_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    priority: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), default=AlarmState.NORMAL.value)
    active: Mapped[bool] = mapped_column(Boolean, default=False)  # the process condition
    occurrence: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)  # at activation
    message: Mapped[str] = mapped_column(String(512), default="")
    active_since: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    cleared_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Who shelved it or took it out of service, when, until when and why.
    shelved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    shelved_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    shelved_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    shelve_reason: Mapped[str | None] = mapped_column(String(512), nullable=True)
    updated_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AlarmEventRow(Base):
    """Every lifecycle transition of every alarm."""

    __tablename__ = "alarm_events"
    __table_args__ = (Index("ix_alarm_events_alarm_ts", "alarm_id", "ts"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"))
    ts: Mapped[int] = mapped_column(BigInteger, index=True)
    occurrence: Mapped[int] = mapped_column(Integer)
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(String(512), nullable=True)
