"""Domain types of the simulated plant: orders, parts, stoppages, the clock and
the failure and defect figures of each kind of equipment.

The figures are typical of a small machining shop and deliberately on the
unreliable side, so that a demo shows failures, alarms and scrap within minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from zhizao.core.i18n import t

if TYPE_CHECKING:
    import simpy

    from zhizao.assets.model import Product

# Reason codes (docs/CONTRACTS.md) per state.
REASONS: dict[str, tuple[str, ...]] = {
    "running": ("producing",),
    "idle": ("starved", "blocked", "no_order", "break"),
    "setup": ("changeover",),
    "down": ("minor_stop",),  # plus failure.<mode>
    "maintenance": ("planned", "corrective"),
    "off": ("not_scheduled",),
}
BORE_TAG = "bore_diameter"


class SimError(ValueError):
    """A request the simulator cannot carry out; ``field`` names the culprit.

    ``kind`` is ``not_found`` (unknown equipment), ``conflict`` (the machine is
    already stopped) or ``invalid`` (a bad value). The message is catalogued
    (``sim.error.*``): ``message(lang)`` gives it in the user's language.
    """

    def __init__(self, field: str, key: str, kind: Literal["not_found", "conflict", "invalid"] = "invalid",
                 **params: object) -> None:
        self.field, self.key, self.kind = field, key, kind
        self.params = {"field": field, **params}
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


class SimClock:
    """The plant's clock: ``start_ms`` plus the simulated seconds elapsed."""

    def __init__(self, env: simpy.Environment, start_ms: int) -> None:
        self.env = env
        self.start_ms = start_ms

    def now_ms(self) -> int:
        return self.start_ms + round(self.env.now * 1000)


@dataclass(frozen=True, slots=True)
class FailureProfile:
    """How one kind of machine breaks down (times are running hours unless noted).

    Wear-out modes build up slowly and show in vibration and temperature before
    the failure; sudden modes (electrical faults, tool breakage...) give no warning.
    """

    wear_modes: tuple[tuple[str, float], ...]  # (mode, share of wear-out failures)
    sudden_modes: tuple[str, ...]
    life_h: float  # mean running time from a repair to the next wear-out failure
    sudden_mtbf_h: float
    wear_repair_min: float  # mean time to repair
    sudden_repair_min: float
    minor_stops_per_h: float
    minor_stop_s: float  # mean length of a minor stop (jam, door open, chip clearing)


_CUTTING = FailureProfile((("bearing", 0.6), ("spindle", 0.4)), ("tool", "electrical"),
                          life_h=4.5, sudden_mtbf_h=16.0, wear_repair_min=25.0, sudden_repair_min=10.0,
                          minor_stops_per_h=1.0, minor_stop_s=75.0)
FAILURE_PROFILES: dict[str, FailureProfile] = {
    "cnc": _CUTTING,
    "lathe": _CUTTING,
    "machining_centre": _CUTTING,
    "press": FailureProfile((("hydraulic", 0.7), ("bearing", 0.3)), ("electrical",), 8.0, 24.0, 30.0, 12.0,
                            1.0, 60.0),
    "welding": FailureProfile((("wire_feed", 1.0),), ("electrical",), 8.0, 24.0, 20.0, 10.0, 1.5, 60.0),
    "assembly": FailureProfile((("drive", 0.6), ("bearing", 0.4)), ("pneumatic", "electrical"),
                               8.0, 24.0, 20.0, 8.0, 1.2, 60.0),
    "inspection": FailureProfile((("drive", 1.0),), ("sensor", "electrical"), 10.0, 30.0, 20.0, 8.0,
                                 0.5, 60.0),
    "packaging": FailureProfile((("drive", 0.7), ("bearing", 0.3)), ("jam", "electrical"), 8.0, 24.0,
                                20.0, 8.0, 1.5, 45.0),
}
# Washers, conveyors, robots and anything else: a pump or drive wears out.
DEFAULT_PROFILE = FailureProfile((("pump", 0.6), ("bearing", 0.4)), ("electrical",), 8.0, 30.0, 20.0, 8.0,
                                 0.6, 60.0)
WEAR_MODES: frozenset[str] = frozenset(
    mode for p in (*FAILURE_PROFILES.values(), DEFAULT_PROFILE) for mode, _ in p.wear_modes
)

# Defects a machine makes and finds itself (probability per part on a machine in
# good health; wear raises it, see ``Machine``).
OWN_DEFECTS: dict[str, tuple[str, float]] = {
    "cnc": ("surface", 0.002),
    "lathe": ("surface", 0.002),
    "machining_centre": ("surface", 0.002),
    "press": ("crack", 0.002),
    "welding": ("porosity", 0.004),
}
# Defects a machine makes that only a downstream inspection finds.
LATENT_DEFECTS: dict[str, tuple[str, float]] = {
    "assembly": ("leak", 0.006),
}


@dataclass(eq=False, slots=True)
class Order:
    """A production order released to a line. Scrap is not replaced: the order
    completes when every unit has left the line, ``good`` of them good."""

    id: str
    product: Product
    qty: int
    seq: int  # release sequence, the FIFO tie-break among equal due dates
    released_ms: int
    due_ms: int
    started: int = 0
    good: int = 0
    scrapped: int = 0
    completed_ms: int | None = None

    @property
    def done(self) -> bool:
        return self.good + self.scrapped >= self.qty

    @property
    def status(self) -> str:
        if self.done:
            return "completed"
        return "in_progress" if self.started else "released"

    def event(self, ts: int) -> dict:
        return {"ts": ts, "order": self.id, "product": self.product.id, "qty": self.qty, "due": self.due_ms,
                "released": self.released_ms, "status": self.status, "completed_qty": self.good}


@dataclass(eq=False, slots=True)
class Part:
    order: Order
    serial: int
    bore: float | None = None  # true bore diameter, set where the bore is machined
    latent_defect: str | None = None  # made upstream, found by an inspection


@dataclass(frozen=True, slots=True)
class Stoppage:
    """A reason for a machine to stop what it is doing (delivered as an interrupt)."""

    state: Literal["down", "maintenance"]
    reason: str
    duration_s: float
    renews: bool = False  # the worn component is replaced: health back to new
    new_tool: bool = False
    mode: str | None = None  # failure mode, for ``_events/failure``


@dataclass(slots=True)
class StateClock:
    """Seconds spent in each state, in total and since the last sample."""

    total: dict[str, float] = field(default_factory=dict)
    recent: dict[str, float] = field(default_factory=dict)

    def add(self, state: str, seconds: float) -> None:
        self.total[state] = self.total.get(state, 0.0) + seconds
        self.recent[state] = self.recent.get(state, 0.0) + seconds

    def take_recent(self) -> dict[str, float]:
        recent, self.recent = self.recent, {}
        return recent
