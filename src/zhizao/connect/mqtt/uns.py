"""UNS JSON over MQTT -> points (pure: no I/O, never raises for bad input).

Topic = optional root prefix + the tag's UNS path (``<root>/enterprise/site/area/line/cell/equipment/tag``).
Payload = one JSON object ``{"ts": <epoch ms | ISO-8601>, "v": <number | bool | string>, "q": "good|bad|uncertain"}``
(``q`` optional, default good) or a JSON array of such objects. Each item becomes a ``Point`` or an
``ItemError`` with a cause; good items of an array are kept when others are bad.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from zhizao.core.i18n import t
from zhizao.store.historian import Point

# Causes of rejected input, each counted separately by the connector.
CAUSES = ("malformed_json", "not_an_object", "missing_field", "bad_timestamp", "non_finite", "wrong_type",
          "bad_quality", "oversized", "unknown_topic")
QUALITIES = frozenset(("good", "bad", "uncertain"))
LEVEL = re.compile(r"[a-z0-9_-]+")
MIN_TS = -62_135_596_800_000  # 0001-01-01T00:00:00Z: the range a datetime can show
MAX_TS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
FLOAT_MAX = sys.float_info.max
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(slots=True)
class ItemError:
    """Input that could not become a point: a cause and a catalogued message (``mqtt.err.<cause>``)."""

    cause: str
    params: dict[str, Any]
    item: Any = None  # the offending item (or raw payload bytes for whole-message errors)

    def detail(self, lang: str = "en") -> str:
        return t(f"mqtt.err.{self.cause}", lang, **self.params)


@dataclass(slots=True)
class Parsed:
    points: list[Point] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_ts(ts: Any) -> int | None:
    """Epoch milliseconds from an int, a finite float (floored) or an ISO-8601 text (UTC when naive)."""
    kind = type(ts)
    if kind is int:
        return ts if MIN_TS <= ts <= MAX_TS else None
    if kind is float:
        return math.floor(ts) if math.isfinite(ts) and MIN_TS <= ts <= MAX_TS else None
    if kind is str:
        try:
            dt = datetime.fromisoformat(ts)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            ms = (dt - _EPOCH) // _MS
        except (ValueError, OverflowError):
            return None
        return ms if MIN_TS <= ms <= MAX_TS else None
    return None


def topic_tag(topic: str, root: str = "") -> str | None:
    """The tag name a topic carries under ``root`` (None when outside the root or with an empty level)."""
    root = root.strip("/")
    if root:
        if not topic.startswith(root + "/"):
            return None
        topic = topic[len(root) + 1:]
    return topic if topic and "" not in topic.split("/") else None


def is_uns_path(name: str) -> bool:
    """Whether ``name`` has the shape of a UNS tag path (lower-case ``[a-z0-9_-]`` levels, at least two)."""
    levels = name.split("/")
    return len(levels) >= 2 and all(LEVEL.fullmatch(level) for level in levels)


def parse_uns(topic: str, payload: bytes, *, root: str = "", max_bytes: int | None = None,
              is_tag: Callable[[str], bool] | None = None) -> Parsed:
    """Points of one UNS message; ``is_tag`` says which tag names exist (default: any UNS-shaped path)."""
    out = Parsed()
    if max_bytes is not None and len(payload) > max_bytes:
        out.errors.append(ItemError("oversized", {"topic": topic, "size": len(payload), "max": max_bytes}, payload))
        return out
    tag = topic_tag(topic, root)
    if tag is None or not (is_tag or is_uns_path)(tag):
        out.errors.append(ItemError("unknown_topic", {"topic": topic, "root": root.strip("/") or "-"}, payload))
        return out
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits
        out.errors.append(ItemError("malformed_json", {"topic": topic, "error": str(exc)[:120]}, payload))
        return out
    items = doc if type(doc) is list else (doc,)
    append, isfinite, qualities = out.points.append, math.isfinite, QUALITIES
    for i, item in enumerate(items):
        # Fast path for the common item: {"ts": <int>, "v": <finite float>, "q"?: <valid>}; anything else
        # goes the careful way, which finds the cause.
        if type(item) is dict:
            ts, v, q = item.get("ts"), item.get("v"), item.get("q", "good")
            if (type(ts) is int and MIN_TS <= ts <= MAX_TS and type(v) is float and isfinite(v)
                    and type(q) is str and q in qualities):
                append(Point(tag, ts, v, q))
                continue
        _item(item, tag, f"{topic}[{i}]" if items is doc else topic, out)
    return out


def _item(item: Any, tag: str, where: str, out: Parsed) -> None:
    if type(item) is not dict:
        out.errors.append(ItemError("not_an_object", {"where": where, "got": type(item).__name__}, item))
        return
    try:
        ts, v = item["ts"], item["v"]
    except KeyError as exc:
        out.errors.append(ItemError("missing_field", {"where": where, "field": exc.args[0]}, item))
        return
    if type(ts) is not int or not MIN_TS <= ts <= MAX_TS:
        ms = parse_ts(ts)
        if ms is None:
            out.errors.append(ItemError("bad_timestamp", {"where": where, "value": _show(ts)}, item))
            return
        ts = ms
    kind = type(v)
    if kind is float:
        if not math.isfinite(v):
            out.errors.append(ItemError("non_finite", {"where": where, "value": _show(v)}, item))
            return
    elif kind is int:
        if not -FLOAT_MAX <= v <= FLOAT_MAX:  # exact int/float comparison: beyond any double
            out.errors.append(ItemError("non_finite", {"where": where, "value": _show(v)}, item))
            return
    elif kind is not bool and kind is not str:
        out.errors.append(ItemError("wrong_type", {"where": where, "got": type(v).__name__}, item))
        return
    q = item.get("q", "good")
    if type(q) is not str or q not in QUALITIES:
        out.errors.append(ItemError("bad_quality", {"where": where, "value": _show(q)}, item))
        return
    out.points.append(Point(tag, ts, v, q))
