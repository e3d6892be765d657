"""Parsing of the time parameters the API accepts (epoch ms or ISO-8601, intervals)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi import HTTPException

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_INTERVAL = re.compile(r"^(\d+)(ms|s|m|h|d)$")


def parse_ts(value: str | int | None, name: str) -> int | None:
    """Epoch milliseconds from ``value`` (ms as digits, or ISO-8601; naive means UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) or str(value).lstrip("-").isdigit():
        return int(value)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(422, f"{name}: '{value}' is neither epoch milliseconds nor ISO-8601") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def parse_interval(value: str | None, name: str = "interval") -> int | None:
    """Milliseconds from ``10s``, ``1m``, ``1h``, ``1d`` or plain milliseconds."""
    if value is None or value == "":
        return None
    if value.isdigit():
        ms = int(value)
    else:
        match = _INTERVAL.match(value)
        if not match:
            raise HTTPException(422, f"{name}: '{value}' is not an interval like 10s, 1m, 1h or 1d")
        ms = int(match.group(1)) * _UNITS_MS[match.group(2)]
    if ms <= 0:
        raise HTTPException(422, f"{name}: must be positive")
    return ms


def time_range(start: str | None, end: str | None, now_ms: int, default_span_ms: int) -> tuple[int, int]:
    end_ms = parse_ts(end, "end") or now_ms
    start_ms = parse_ts(start, "start") or end_ms - default_span_ms
    if start_ms >= end_ms:
        raise HTTPException(422, "start: must be before end")
    return start_ms, end_ms
