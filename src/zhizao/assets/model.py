"""Domain types of the asset model.

ISA-95 levels: enterprise / site / area / line / cell / equipment, and tags on
equipment. A tag's UNS path is the ids of those levels joined by ``/``.
人机料法环: people and shifts (人), equipment (机), materials, products and BOMs
(料), routings (法), environment sensors (环: equipment of kind ``environment``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9_-]+$"
DataType = Literal["float", "int", "bool", "string"]
EquipmentKind = Literal[
    "cnc", "machining_centre", "lathe", "press", "welding", "assembly", "inspection",
    "packaging", "robot", "buffer", "conveyor", "environment", "utility", "other",
]
MachineState = Literal["running", "idle", "setup", "down", "maintenance", "off"]
MACHINE_STATES: tuple[str, ...] = ("running", "idle", "setup", "down", "maintenance", "off")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Text(Strict):
    """A user-facing text in both languages."""

    en: str = ""
    zh: str = ""


class Source(Strict):
    """Where a tag's value comes from: a connector and its address there."""

    connector: str = "sim"
    address: str | None = None
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)


class AlarmLimits(Strict):
    """Absolute limits with a deadband (ISA-18.2); any of them may be left out."""

    hihi: float | None = None
    hi: float | None = None
    lo: float | None = None
    lolo: float | None = None
    deadband: float = 0.0
    priority: Literal["low", "medium", "high", "urgent"] = "medium"

    @model_validator(mode="after")
    def _ordered(self) -> AlarmLimits:
        order = [v for v in (self.lolo, self.lo, self.hi, self.hihi) if v is not None]
        if order != sorted(order):
            raise ValueError("limits must satisfy lolo <= lo <= hi <= hihi")
        if self.deadband < 0:
            raise ValueError("deadband must be >= 0")
        return self


class Tag(Strict):
    id: str = Field(pattern=ID_PATTERN)
    unit: str = ""
    data_type: DataType = "float"
    range: tuple[float, float] | None = None
    description: Text = Field(default_factory=Text)
    writable: bool = False
    source: Source = Field(default_factory=Source)
    alarms: AlarmLimits | None = None
    # Filled in when the plant is resolved; not part of the YAML.
    path: str = Field("", exclude=True)

    @field_validator("range")
    @classmethod
    def _range_ordered(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not (math.isfinite(v[0]) and math.isfinite(v[1]) and v[0] < v[1]):
            raise ValueError("range must be [low, high] with low < high")
        return v


class Equipment(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text = Field(default_factory=Text)
    kind: EquipmentKind = "other"
    template: str | None = None
    # Ideal cycle time per unit (ISO 22400 planned run time per item), seconds.
    ideal_cycle_s: float | None = Field(None, gt=0)
    capacity: int | None = Field(None, gt=0, description="buffers: places")
    rated_power_kw: float | None = Field(None, ge=0)
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict)
    tags: list[Tag] = Field(default_factory=list)
    path: str = Field("", exclude=True)
    # Template tags plus the equipment's own (own ones win); set by ``resolve``.
    _all_tags: list[Tag] = PrivateAttr(default_factory=list)

    @property
    def all_tags(self) -> list[Tag]:
        return self._all_tags or self.tags

    def tag(self, tag_id: str) -> Tag | None:
        return next((t for t in self.all_tags if t.id == tag_id), None)


class Cell(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text = Field(default_factory=Text)
    equipment: list[Equipment] = Field(default_factory=list)


class Line(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text = Field(default_factory=Text)
    cells: list[Cell] = Field(default_factory=list)
    # Material flow through the line: equipment ids (machines and buffers) in order.
    flow: list[str] = Field(default_factory=list)


class Area(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text = Field(default_factory=Text)
    lines: list[Line] = Field(default_factory=list)


class Site(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text = Field(default_factory=Text)
    timezone: str = "Asia/Shanghai"
    areas: list[Area] = Field(default_factory=list)


class Enterprise(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text = Field(default_factory=Text)
    sites: list[Site] = Field(default_factory=list)


class Template(Strict):
    """Tags shared by equipment of one type; equipment lists ``template: <id>``."""

    id: str = Field(pattern=ID_PATTERN)
    extends: str | None = None
    tags: list[Tag] = Field(default_factory=list)


class Shift(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text = Field(default_factory=Text)
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # Planned breaks inside the shift count as planned downtime for OEE.
    breaks_min: float = Field(0, ge=0)


class Person(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    role: str = "operator"
    shift: str | None = None
    skills: list[str] = Field(default_factory=list)


class Material(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text = Field(default_factory=Text)
    unit: str = "pcs"
    kind: Literal["raw", "component", "product", "consumable", "spare_part"] = "raw"


class BomLine(Strict):
    material: str
    qty: float = Field(gt=0)


class Product(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text = Field(default_factory=Text)
    family: str = "default"
    bom: list[BomLine] = Field(default_factory=list)
    routing: str | None = None
    # Specification of the key quality characteristic, used by SPC and the simulator.
    spec: dict[str, tuple[float, float]] = Field(default_factory=dict)


class RoutingStep(Strict):
    operation: str
    equipment: list[str] = Field(min_length=1, description="eligible equipment ids")
    cycle_s: float = Field(gt=0)
    setup_s: float = Field(0, ge=0)


class Routing(Strict):
    id: str = Field(pattern=ID_PATTERN)
    steps: list[RoutingStep] = Field(min_length=1)


class ConnectorSpec(Strict):
    """One connector instance; ``config`` is checked against its kind's declared schema."""

    name: str = Field(pattern=ID_PATTERN)
    kind: str
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)


# Sources that need no connector instance: the simulator and writes through the API.
BUILTIN_SOURCES = ("sim", "api")


class Plant(Strict):
    """The whole plant as described in its YAML file."""

    version: int = 1
    enterprise: Enterprise
    connectors: list[ConnectorSpec] = Field(default_factory=list)
    templates: list[Template] = Field(default_factory=list)
    shifts: list[Shift] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    products: list[Product] = Field(default_factory=list)
    routings: list[Routing] = Field(default_factory=list)

    # ---- navigation (valid after ``resolve``) --------------------------------
    def iter_equipment(self):
        """Yield (site, area, line, cell, equipment) for every piece of equipment."""
        for site in self.enterprise.sites:
            for area in site.areas:
                for line in area.lines:
                    for cell in line.cells:
                        for eq in cell.equipment:
                            yield site, area, line, cell, eq

    def iter_lines(self):
        for site in self.enterprise.sites:
            for area in site.areas:
                for line in area.lines:
                    yield site, area, line

    def equipment_by_id(self) -> dict[str, Equipment]:
        return {eq.id: eq for *_, eq in self.iter_equipment()}

    def tags(self) -> list[Tag]:
        return [tag for *_, eq in self.iter_equipment() for tag in eq.all_tags]

    def tag_index(self) -> dict[str, Tag]:
        return {tag.path: tag for tag in self.tags()}

    def line_path(self, site: Site, area: Area, line: Line) -> str:
        return "/".join((self.enterprise.id, site.id, area.id, line.id))

    def resolve(self) -> Plant:
        """Expand templates and fill in the UNS paths of equipment and tags."""
        templates = {t.id: t for t in self.templates}

        def template_tags(template_id: str | None, seen: frozenset[str] = frozenset()) -> list[Tag]:
            tp = templates.get(template_id or "")
            if tp is None or tp.id in seen:
                return []
            own_ids = {t.id for t in tp.tags}
            base = [t for t in template_tags(tp.extends, seen | {tp.id}) if t.id not in own_ids]
            return base + tp.tags

        for site, area, line, cell, eq in self.iter_equipment():
            eq.path = "/".join((self.enterprise.id, site.id, area.id, line.id, cell.id, eq.id))
            own = {t.id for t in eq.tags}
            inherited = [t for t in template_tags(eq.template) if t.id not in own]
            eq._all_tags = [t.model_copy(deep=True) for t in inherited] + list(eq.tags)
            for tag in eq._all_tags:
                tag.path = f"{eq.path}/{tag.id}"
        return self
