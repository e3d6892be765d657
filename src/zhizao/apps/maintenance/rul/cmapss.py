"""Reader for the NASA C-MAPSS text format (Saxena et al., PHM 2008).

One row per engine cycle, whitespace-separated: unit, cycle, 3 operational settings,
21 sensors. Rows that cannot be used are reported with their line number and skipped,
so one bad line does not lose a whole file; a file with no usable row is an error.
Missing values (``nan``, ``NA``, ``?``, ``-``) are kept as NaN and handled downstream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

SETTINGS = tuple(f"setting{i}" for i in range(1, 4))
SENSORS = tuple(f"s{i}" for i in range(1, 22))
COLUMNS = ("unit", "cycle", *SETTINGS, *SENSORS)
MISSING_TOKENS = frozenset({"nan", "na", "n/a", "null", "?", "-", ""})


class CmapssError(ValueError):
    """A C-MAPSS file that cannot be used at all; the message names the file and why."""


@dataclass(frozen=True)
class RowIssue:
    line: int  # 1-based line number in the file
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class CmapssData:
    """Parsed rows sorted by (unit, cycle), with what was skipped and why."""

    frame: pd.DataFrame  # columns COLUMNS; unit and cycle are int64, the rest float64 (NaN = missing)
    path: str
    issues: list[RowIssue] = field(default_factory=list)

    @property
    def units(self) -> list[int]:
        return sorted(int(u) for u in self.frame["unit"].unique())

    def report(self, limit: int = 20) -> list[str]:
        """Human-readable lines for stderr: each skipped row (up to ``limit``) and a count."""
        lines = [f"{self.path}: {issue}" for issue in self.issues[:limit]]
        if len(self.issues) > limit:
            lines.append(f"{self.path}: ... and {len(self.issues) - limit} more")
        if self.issues:
            lines.append(f"{self.path}: skipped {len(self.issues)} row(s); using {len(self.frame)} row(s) "
                         f"of {len(self.units)} unit(s)")
        return lines


def _number(token: str) -> float:
    if token.lower() in MISSING_TOKENS:
        return math.nan
    value = float(token)  # ValueError for text
    if math.isinf(value):
        raise ValueError("infinite")
    return value


def _integer(token: str, name: str) -> int:
    try:
        value = float(token)
    except ValueError:
        raise ValueError(f"{name} '{token}' is not a number") from None
    if not math.isfinite(value) or value != int(value) or value < 0:
        raise ValueError(f"{name} '{token}' is not a non-negative whole number")
    return int(value)


def parse_lines(lines: list[str], path: str = "<text>") -> CmapssData:
    """Parse C-MAPSS rows; blank lines and lines starting with ``#`` are ignored."""
    rows: list[list[float]] = []
    keys: list[tuple[int, int]] = []
    issues: list[RowIssue] = []
    seen: dict[tuple[int, int], int] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        tokens = text.split()
        if len(tokens) != len(COLUMNS):
            issues.append(RowIssue(number, f"expected {len(COLUMNS)} columns (unit, cycle, 3 settings, "
                                           f"21 sensors), found {len(tokens)}"))
            continue
        try:
            unit = _integer(tokens[0], "unit")
            cycle = _integer(tokens[1], "cycle")
        except ValueError as exc:
            issues.append(RowIssue(number, str(exc)))
            continue
        values: list[float] = []
        for name, token in zip(COLUMNS[2:], tokens[2:], strict=True):
            try:
                values.append(_number(token))
            except ValueError:
                issues.append(RowIssue(number, f"{name} '{token}' is not a number"))
                break
        else:
            key = (unit, cycle)
            if key in seen:
                issues.append(RowIssue(number, f"unit {unit} cycle {cycle} repeats line {seen[key]}"))
                continue
            seen[key] = number
            keys.append(key)
            rows.append(values)
    if not rows:
        detail = f"; first problem: {issues[0]}" if issues else " (the file is empty)"
        raise CmapssError(f"{path}: no usable C-MAPSS rows{detail}")
    frame = pd.DataFrame(np.asarray(rows, dtype=np.float64), columns=list(COLUMNS[2:]))
    key_array = np.asarray(keys, dtype=np.int64)
    frame.insert(0, "cycle", key_array[:, 1])
    frame.insert(0, "unit", key_array[:, 0])
    frame = frame.sort_values(["unit", "cycle"], kind="stable").reset_index(drop=True)
    return CmapssData(frame=frame, path=path, issues=issues)


def read_cmapss(path: str | Path) -> CmapssData:
    """Read a C-MAPSS file (train or test; the format is the same)."""
    path = Path(path)
    if not path.is_file():
        raise CmapssError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise CmapssError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from None
    return parse_lines(text.splitlines(), str(path))
