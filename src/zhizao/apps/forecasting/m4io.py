"""Reading and writing the M4 file layout: one series per line, the id first, then the values.

Lines have different lengths (short series end in empty fields); fields may be quoted; a
header line (``"V1","V2",...``) is recognised and skipped. A value that is not a number
becomes a missing value (NaN) and is reported with its line and column, so one bad cell
never loses the series, and the output keeps one row per input series, in input order.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MISSING_TOKENS = frozenset({"", "na", "nan", "null", "none", "-"})


class M4FormatError(ValueError):
    """The file cannot be read as M4 layout at all (missing, empty, not text)."""


@dataclass
class M4Data:
    ids: list[str]
    values: list[np.ndarray]
    problems: list[str] = field(default_factory=list)  # "file:line:column: message", never silently dropped


def _number(token: str) -> float | None:
    """The token as a float, NaN for a missing marker, None when it is not a number."""
    text = token.strip()
    if text.lower() in MISSING_TOKENS:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def _is_header(fields: list[str]) -> bool:
    """A header has no number after the id column (e.g. V1,V2,V3...)."""
    rest = [f for f in fields[1:] if f.strip()]
    return bool(rest) and all(_number(f) is None for f in rest)


def read_m4(path: Path) -> M4Data:
    """Read an M4-layout CSV file. Raises M4FormatError only when nothing can be read."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise M4FormatError(f"{path}: file not found") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise M4FormatError(f"{path}: not a readable text file ({exc})") from None
    data = M4Data(ids=[], values=[])
    seen: set[str] = set()
    for line_no, fields in enumerate(csv.reader(text.splitlines()), start=1):
        if not fields or all(not f.strip() for f in fields):
            continue
        if line_no == 1 and _is_header(fields):
            continue
        series_id = fields[0].strip()
        if not series_id:
            data.problems.append(f"{path}:{line_no}: the first column (series id) is empty; line skipped")
            continue
        if series_id in seen:
            data.problems.append(f"{path}:{line_no}: series id {series_id!r} appears again; both are kept")
        seen.add(series_id)
        tokens = list(fields[1:])
        while tokens and not tokens[-1].strip():
            tokens.pop()
        values = np.empty(len(tokens))
        for column, token in enumerate(tokens, start=2):
            number = _number(token)
            if number is None:
                data.problems.append(f"{path}:{line_no}:{column}: {token.strip()!r} is not a number "
                                     f"(series {series_id}); treated as missing")
                number = math.nan
            elif not math.isfinite(number) and token.strip().lower() not in MISSING_TOKENS:
                data.problems.append(f"{path}:{line_no}:{column}: non-finite value {token.strip()!r} "
                                     f"(series {series_id}); treated as missing")
                number = math.nan
            values[column - 2] = number
        data.ids.append(series_id)
        data.values.append(values)
    if not data.ids:
        raise M4FormatError(f"{path}: no series found (expected lines 'id,value,value,...')")
    return data


def format_value(value: float) -> str:
    """Shortest text that round-trips the float to 6 significant decimals."""
    return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.1f}"


def write_forecasts(path: Path, ids: list[str], forecasts: list[np.ndarray], horizon: int) -> None:
    """Write ``id,F1,...,FH`` with one row per series, in the given order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", *[f"F{h}" for h in range(1, horizon + 1)]])
        for series_id, values in zip(ids, forecasts, strict=True):
            writer.writerow([series_id, *[format_value(float(v)) for v in values]])
