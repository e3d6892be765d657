"""Read and write plant YAML files, with errors that name the line and field."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from zhizao.assets.model import BUILTIN_SOURCES, Plant


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "line ?"
        field = f"{self.field}: " if self.field else ""
        return f"{self.file} {where}: {field}{self.message}"


class PlantError(ValueError):
    """A plant file that cannot be accepted; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def as_json(self) -> list[dict[str, Any]]:
        return [p.__dict__ for p in self.problems]


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(root: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest YAML node on ``loc`` that exists."""
    node, line = root, None
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    if line is None and hasattr(root, "lc"):
        line = root.lc.line + 1
    return line


def _check_references(plant: Plant, raw: Any, file: str) -> list[Problem]:
    problems: list[Problem] = []

    def problem(loc: tuple[Any, ...], kind: str, ref: str, duplicate: bool = False) -> None:
        message = f"duplicate {kind} id '{ref}'" if duplicate else f"unknown {kind} '{ref}'"
        problems.append(Problem(file, _line_of(raw, loc), _field(loc), message))

    def unique(items: list[Any], loc: tuple[Any, ...], kind: str) -> None:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                problem((*loc, i, "id"), kind, item.id, duplicate=True)
            seen.add(item.id)

    ent = plant.enterprise
    unique(ent.sites, ("enterprise", "sites"), "site")
    equipment_ids: set[str] = set()
    for si, site in enumerate(ent.sites):
        sloc = ("enterprise", "sites", si)
        unique(site.areas, (*sloc, "areas"), "area")
        for ai, area in enumerate(site.areas):
            aloc = (*sloc, "areas", ai)
            unique(area.lines, (*aloc, "lines"), "line")
            for li, line in enumerate(area.lines):
                lloc = (*aloc, "lines", li)
                unique(line.cells, (*lloc, "cells"), "cell")
                line_equipment = {eq.id for cell in line.cells for eq in cell.equipment}
                for fi, eq_id in enumerate(line.flow):
                    if eq_id not in line_equipment:
                        problem((*lloc, "flow", fi), "equipment on this line", eq_id)
                for ci, cell in enumerate(line.cells):
                    cloc = (*lloc, "cells", ci)
                    for ei, eq in enumerate(cell.equipment):
                        eloc = (*cloc, "equipment", ei)
                        # Equipment ids are plant-wide: routings refer to them by id.
                        if eq.id in equipment_ids:
                            problem((*eloc, "id"), "equipment", eq.id, duplicate=True)
                        equipment_ids.add(eq.id)
                        unique(eq.tags, (*eloc, "tags"), "tag")
                        if eq.template is not None and eq.template not in {tp.id for tp in plant.templates}:
                            problem((*eloc, "template"), "template", eq.template)

    unique(plant.templates, ("templates",), "template")
    template_ids = {tp.id for tp in plant.templates}
    for i, tp in enumerate(plant.templates):
        if tp.extends is not None and tp.extends not in template_ids:
            problem(("templates", i, "extends"), "template", tp.extends)
    unique(plant.shifts, ("shifts",), "shift")
    unique(plant.people, ("people",), "person")
    unique(plant.materials, ("materials",), "material")
    unique(plant.products, ("products",), "product")
    unique(plant.routings, ("routings",), "routing")
    unique_names = {}
    for i, spec in enumerate(plant.connectors):
        if spec.name in unique_names or spec.name in BUILTIN_SOURCES:
            problem(("connectors", i, "name"), "connector", spec.name, duplicate=True)
        unique_names[spec.name] = spec
    problems.extend(_check_connectors(plant, raw, file))
    sources = set(unique_names) | set(BUILTIN_SOURCES)
    for si, site in enumerate(ent.sites):
        for ai, area in enumerate(site.areas):
            for li, line in enumerate(area.lines):
                for ci, cell in enumerate(line.cells):
                    for ei, eq in enumerate(cell.equipment):
                        for ti, tag in enumerate(eq.tags):
                            if tag.source.connector not in sources:
                                loc = ("enterprise", "sites", si, "areas", ai, "lines", li, "cells", ci,
                                       "equipment", ei, "tags", ti, "source", "connector")
                                problem(loc, "connector", tag.source.connector)
    shifts = {s.id for s in plant.shifts}
    items = {m.id for m in plant.materials} | {p.id for p in plant.products}
    routings = {r.id for r in plant.routings}
    for i, person in enumerate(plant.people):
        if person.shift is not None and person.shift not in shifts:
            problem(("people", i, "shift"), "shift", person.shift)
    for i, product in enumerate(plant.products):
        for j, bom_line in enumerate(product.bom):
            if bom_line.material not in items:
                problem(("products", i, "bom", j, "material"), "material", bom_line.material)
        if product.routing is not None and product.routing not in routings:
            problem(("products", i, "routing"), "routing", product.routing)
    for i, routing in enumerate(plant.routings):
        for j, step in enumerate(routing.steps):
            for k, eq_id in enumerate(step.equipment):
                if eq_id not in equipment_ids:
                    problem(("routings", i, "steps", j, "equipment", k), "equipment", eq_id)
    return problems


def _check_connectors(plant: Plant, raw: Any, file: str) -> list[Problem]:
    """Each connector's kind must exist and its config must fit that kind's schema."""
    from zhizao.connect.registry import connector_kinds

    kinds = connector_kinds()
    problems: list[Problem] = []
    for i, spec in enumerate(plant.connectors):
        cls = kinds.get(spec.kind)
        if cls is None:
            loc = ("connectors", i, "kind")
            problems.append(Problem(file, _line_of(raw, loc), _field(loc),
                                    f"unknown connector kind '{spec.kind}' (known: {', '.join(sorted(kinds))})"))
            continue
        try:
            cls.config_model.model_validate(expand_env(spec.config))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = ("connectors", i, "config", *err["loc"])
                problems.append(Problem(file, _line_of(raw, loc), _field(loc), err["msg"]))
    return problems


_ENV_REF = re.compile(r"\$\{([A-Z0-9_]+)\}")


def expand_env(value: Any) -> Any:
    """``${NAME}`` in connector settings is replaced by the environment variable (for secrets)."""
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: os.environ.get(m.group(1), ""), value)
    if isinstance(value, dict):
        return {k: expand_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v) for v in value]
    return value


def parse_plant(text: str, file: str = "<plant>") -> Plant:
    """Parse and validate plant YAML; raise ``PlantError`` naming line and field."""
    yaml = YAML(typ="rt")
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise PlantError([Problem(file, line, "", f"invalid YAML: {exc.problem or exc}")]) from None
    except YAMLError as exc:
        raise PlantError([Problem(file, None, "", f"invalid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise PlantError([Problem(file, 1, "", "a plant file must be a mapping with an 'enterprise' key")])
    try:
        plant = Plant.model_validate(raw)
    except ValidationError as exc:
        problems = [
            Problem(file, _line_of(raw, err["loc"]), _field(err["loc"]), err["msg"])
            for err in exc.errors(include_url=False)
        ]
        raise PlantError(problems) from None
    problems = _check_references(plant, raw, file)
    if problems:
        raise PlantError(problems)
    return plant.resolve()


def load_plant(path: str | Path) -> Plant:
    path = Path(path)
    return parse_plant(path.read_text(encoding="utf-8"), file=str(path))


def load_demo_plant() -> Plant:
    text = resources.files("zhizao.assets.plants").joinpath("demo.yaml").read_text(encoding="utf-8")
    return parse_plant(text, file="demo.yaml")


def demo_plant_text() -> str:
    return resources.files("zhizao.assets.plants").joinpath("demo.yaml").read_text(encoding="utf-8")


def dump_plant(plant: Plant) -> str:
    """The plant as YAML (declared tags only; template tags stay in the template)."""
    data = plant.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("enterprise", {})
    buf = io.StringIO()
    yaml = YAML()
    yaml.default_flow_style = None
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.dump(data, buf)
    return buf.getvalue()
