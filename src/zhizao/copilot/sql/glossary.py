"""The optional glossary file: plant words and metric definitions on top of the schema.

YAML or JSON, all sections optional::

    synonyms:                 # word or phrase → a table, a column (table.column) or a cell value
      开机时间: production_records.run_minutes
      stoppage: downtime_events
      "breakdown": {value: "故障 breakdown", column: downtime_events.reason}
    metrics:                  # named formulas over one table's columns; aggregates written out
      开机率:
        table: production_records
        sql: SUM(run_minutes) * 1.0 / SUM(planned_minutes)
        synonyms: [run rate, 稼动率]
    descriptions:             # extra words for a table or column (like a comment)
      production_records.output_qty: 产出 件数 good pieces

Every entry is checked against the schema when the glossary is loaded; a wrong name is an
error naming the entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot


class GlossaryError(ValueError):
    pass


@dataclass
class Metric:
    name: str
    table: str
    sql: str
    synonyms: list[str] = field(default_factory=list)


@dataclass
class Glossary:
    synonyms: dict[str, str] = field(default_factory=dict)  # phrase → "table" | "table.column"
    values: dict[str, tuple[str, str]] = field(default_factory=dict)  # phrase → (table.column, value)
    metrics: list[Metric] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)  # "table" | "table.column" → words


def load_glossary(path: Path | None) -> Glossary:
    """Read a YAML/JSON glossary file; an empty glossary when ``path`` is None."""
    if path is None:
        return Glossary()
    path = Path(path)
    if not path.exists():
        raise GlossaryError(f"glossary file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            from ruamel.yaml import YAML

            data = YAML(typ="safe").load(text)
    except Exception as error:  # noqa: BLE001 - reported with the file name
        raise GlossaryError(f"{path}: cannot parse: {error}") from error
    data = data or {}
    if not isinstance(data, dict):
        raise GlossaryError(f"{path}: the top level must be a mapping (synonyms, metrics, descriptions)")
    glossary = Glossary()
    for phrase, target in (data.get("synonyms") or {}).items():
        if isinstance(target, dict):
            if "value" not in target or "column" not in target:
                raise GlossaryError(f"{path}: synonyms.{phrase}: a value synonym needs 'value' and 'column'")
            glossary.values[str(phrase)] = (str(target["column"]), str(target["value"]))
        elif isinstance(target, str):
            glossary.synonyms[str(phrase)] = target
        else:
            raise GlossaryError(f"{path}: synonyms.{phrase}: expected a table/column name or {{value, column}}")
    for name, spec in (data.get("metrics") or {}).items():
        if not isinstance(spec, dict) or "sql" not in spec or "table" not in spec:
            raise GlossaryError(f"{path}: metrics.{name}: needs 'table' and 'sql'")
        try:
            sqlglot.parse_one(str(spec["sql"]))
        except Exception as error:  # noqa: BLE001
            raise GlossaryError(f"{path}: metrics.{name}.sql: not a valid SQL expression: {error}") from error
        synonyms = spec.get("synonyms") or []
        if isinstance(synonyms, str):
            synonyms = [synonyms]
        glossary.metrics.append(Metric(str(name), str(spec["table"]), str(spec["sql"]), [str(s) for s in synonyms]))
    for target, words in (data.get("descriptions") or {}).items():
        glossary.descriptions[str(target)] = str(words)
    return glossary


def check_against(glossary: Glossary, tables: dict[str, set[str]], source: str = "glossary") -> None:
    """Raise GlossaryError naming the first entry that points at a table/column the schema lacks."""

    def known(target: str) -> bool:
        table, _, column = target.partition(".")
        return table in tables and (not column or column in tables[table])

    for phrase, target in glossary.synonyms.items():
        if not known(target):
            raise GlossaryError(f"{source}: synonyms.{phrase}: unknown table/column {target!r}")
    for phrase, (column, _) in glossary.values.items():
        if "." not in column or not known(column):
            raise GlossaryError(f"{source}: synonyms.{phrase}: unknown column {column!r} (use table.column)")
    for metric in glossary.metrics:
        if metric.table not in tables:
            raise GlossaryError(f"{source}: metrics.{metric.name}: unknown table {metric.table!r}")
    for target in glossary.descriptions:
        if not known(target):
            raise GlossaryError(f"{source}: descriptions.{target}: unknown table/column")
