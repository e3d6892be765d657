"""Reading a process description (YAML) and its batch records (CSV), with errors naming file, line and column."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML, YAMLError

from zhizao.apps.process.model import ProcessSpec


class RecordError(ValueError):
    """Input that cannot be used; the message names the file and where."""


def load_spec(path: Path) -> ProcessSpec:
    try:
        return ProcessSpec.model_validate(YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {})
    except YAMLError as exc:
        raise RecordError(f"{path}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RecordError(f"{path}: {where}: {first['msg']}") from None


def load_batches(path: Path, spec: ProcessSpec) -> tuple[list[dict[str, float]], list[str]]:
    """Rows with every parameter and the outcome as numbers; rows that cannot be read are skipped
    and reported (``file:line: column ...``)."""
    wanted = [p.name for p in spec.parameters] + [spec.outcome]
    rows: list[dict[str, float]] = []
    problems: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in wanted if c not in (reader.fieldnames or [])]
        if missing:
            has = ", ".join(reader.fieldnames or [])
            raise RecordError(f"{path}:1: missing columns {', '.join(missing)} (has: {has})")
        for line, raw in enumerate(reader, start=2):
            row: dict[str, float] = {}
            for column in wanted:
                try:
                    value = float(raw[column])
                except (TypeError, ValueError):
                    problems.append(f"{path}:{line}: column {column}: '{raw[column]}' is not a number")
                    break
                if not math.isfinite(value):
                    problems.append(f"{path}:{line}: column {column}: '{raw[column]}' is not finite")
                    break
                row[column] = value
            else:
                rows.append(row)
    if len(rows) < 5:
        raise RecordError(f"{path}: {len(rows)} usable batches; at least 5 are needed")
    return rows, problems
