"""The embedded historian on DuckDB.

Layout: numeric points (float, int and bool tags, all stored as DOUBLE, so ints
are exact up to 2**53) in ``points``, string points in ``spoints``, 1-minute
rollups (count, sum, min, max, first, last) of downsampled numeric data in
``rollups``, the last value of every tag in ``latest`` (so the latest-value cache
survives a restart), and the tag path -> id map in ``tags``. Timestamps are BIGINT
epoch milliseconds; quality is 0 good, 1 uncertain, 2 bad (left out of aggregates).
Points are not de-duplicated: writing the same (tag, ts) twice stores it twice. So that a
replayed batch is not stored twice, ``write_marked`` stores a mark (e.g. the last spool
id forwarded) in ``marks`` in the same transaction as the points; ``mark`` reads it back.

Writes are validated point by point (``write``) or vectorised over columns
(``write_columns``); both reject bad points with a reason and never raise for bad
data. Writes are serialised by a lock on one connection; reads use one cursor
per thread, so the API may read while the writer writes.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from zhizao.core.clock import Clock, WallClock
from zhizao.store.historian import AGGS, REJECT_REASONS, Agg, Point, Rejection, TagSpec, Value, WriteResult

MIN_TS = 946_684_800_000  # 2000-01-01T00:00:00Z
DAY_MS = 86_400_000
MINUTE_MS = 60_000
QUALITY_CODES = {"good": 0, "uncertain": 1, "bad": 2}
QUALITY_NAMES = ("good", "uncertain", "bad")
# Tag kinds: the index into a per-id numpy array, so write_columns validates without a Python loop.
INACTIVE, FLOAT, INT, BOOL, STRING = 0, 1, 2, 3, 4
KINDS = {"float": FLOAT, "int": INT, "bool": BOOL, "string": STRING}
KIND_NAMES = {FLOAT: "float", INT: "int", BOOL: "bool", STRING: "string"}
LAST_REJECTIONS = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, path VARCHAR UNIQUE NOT NULL,
                                 data_type VARCHAR NOT NULL, active BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS points (tag_id INTEGER, ts BIGINT, v DOUBLE, q UTINYINT);
CREATE TABLE IF NOT EXISTS spoints (tag_id INTEGER, ts BIGINT, v VARCHAR, q UTINYINT);
CREATE TABLE IF NOT EXISTS rollups (tag_id INTEGER, ts BIGINT, n BIGINT, sum DOUBLE, min DOUBLE,
                                    max DOUBLE, first DOUBLE, last DOUBLE);
CREATE TABLE IF NOT EXISTS latest (tag_id INTEGER PRIMARY KEY, ts BIGINT, v DOUBLE, s VARCHAR, q UTINYINT);
CREATE TABLE IF NOT EXISTS marks (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL);
"""

# Aggregates over raw points (numeric or string tables).
_RAW_AGG_SQL = {"avg": "avg(v)", "sum": "sum(v)", "count": "count(*)", "min": "min(v)", "max": "max(v)",
                "first": "arg_min(v, ts)", "last": "arg_max(v, ts)"}
_STRING_AGGS = ("count", "first", "last")
# When a range overlaps downsampled periods, raw points and rollup rows are unioned and
# aggregated once. Per aggregate: (raw point columns, rollup row columns, final expression).
# Slower than the raw-only form, so only used when rollups overlap the range.
_UNION_AGG_SQL = {
    "avg": ("v AS s, 1 AS n", "sum AS s, n", "sum(s) / sum(n)"),
    "sum": ("v AS x", "sum AS x", "sum(x)"),
    "count": ("1 AS n", "n", "sum(n)"),
    "min": ("v AS x", "min AS x", "min(x)"),
    "max": ("v AS x", "max AS x", "max(x)"),
    "first": ("v AS x", "first AS x", "arg_min(x, ts)"),
    "last": ("v AS x", "last AS x", "arg_max(x, ts)"),
}


def format_ts(ts: int) -> str:
    try:
        return (_EPOCH + timedelta(milliseconds=ts)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except OverflowError:
        return str(ts)


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(v: Any) -> str:
    return "None" if v is None else type(v).__name__


def parse_ts(ts: Any) -> int | str:
    """Epoch ms from an int, a finite float or an ISO-8601 string (UTC when naive); else an error text."""
    if isinstance(ts, bool):
        return f"ts: expected epoch milliseconds or an ISO-8601 string, got bool {ts}"
    if isinstance(ts, numbers.Integral):
        return int(ts)
    if isinstance(ts, numbers.Real):
        if not math.isfinite(ts):
            return f"ts: {ts} is not a finite number"
        return math.floor(ts)
    if isinstance(ts, str):
        try:
            dt = datetime.fromisoformat(ts)
        except ValueError:
            return f"ts: cannot read {_show(ts)} as an ISO-8601 time"
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return (dt - _EPOCH) // timedelta(milliseconds=1)
    return f"ts: expected epoch milliseconds or an ISO-8601 string, got {_type_name(ts)}"


def check_value(v: Any, kind: int) -> tuple[float | str | None, str, str]:
    """(stored value, reject reason, detail) of one value for a tag of ``kind``; reason "" when valid."""
    if kind == STRING:
        if isinstance(v, str):
            return v, "", ""
        return None, "wrong_type", f"v: expected string, got {_type_name(v)} {_show(v)}"
    if isinstance(v, bool | np.bool_):
        if kind == BOOL:
            return float(v), "", ""
        return None, "wrong_type", f"v: expected {KIND_NAMES[kind]}, got bool {v}"
    if kind == BOOL:
        return None, "wrong_type", f"v: expected bool, got {_type_name(v)} {_show(v)}"
    if isinstance(v, numbers.Integral):
        try:
            return float(v), "", ""
        except OverflowError:
            return None, "non_finite", f"v: {_show(v)} is too large for the historian"
    if isinstance(v, numbers.Real):
        fv = float(v)
        if not math.isfinite(fv):
            return None, "non_finite", f"v: {fv} is not a finite number"
        if kind == INT and not fv.is_integer():
            return None, "wrong_type", f"v: expected int, got non-integral float {fv}"
        return fv, "", ""
    return None, "wrong_type", f"v: expected {KIND_NAMES[kind]}, got {_type_name(v)} {_show(v)}"


def _typed(v: float | str | None, kind: int) -> Value:
    if kind == INT:
        return int(v)  # type: ignore[arg-type]
    if kind == BOOL:
        return bool(v)
    return v  # type: ignore[return-value]


@dataclass(slots=True)
class CheckedPoints:
    """A batch after validation: numeric points as columns (values as float), string points, rejections."""

    ids: list[int]
    ts: list[int]
    v: list[float]
    q: list[int]
    strings: list[tuple[int, int, str, int]]  # (tag id, ts, value, quality code)
    rejected: list[Rejection]


def check_points(points: Sequence[Point | dict], writable: Mapping[str, tuple[int, int]],
                 max_ts: int, prechecked: bool = False) -> CheckedPoints:
    """Validate a batch against ``writable`` (tag path -> (id, kind)): the historian's rules,
    shared with the ingest service so points are judged alike before and after the spool.

    ``prechecked``: the points passed these checks before (the forwarder's points come from
    the spool, where only checked points go), so a float ``Point`` of a still-writable float
    tag skips the value and time checks; anything else is checked in full."""
    qcodes = QUALITY_CODES
    isfinite = math.isfinite
    rejected: list[Rejection] = []
    n_ids: list[int] = []
    n_ts: list[int] = []
    n_v: list[float] = []
    n_q: list[int] = []
    strings: list[tuple[int, int, str, int]] = []

    def reject(i: int, tag: Any, reason: str, detail: str) -> None:
        rejected.append(Rejection(i, tag if isinstance(tag, str) else _show(tag), reason, detail))

    for i, p in enumerate(points):
        if prechecked and type(p) is Point:
            info = writable.get(p.tag)
            qc = qcodes.get(p.q)
            if info is not None and info[1] == FLOAT and type(p.v) is float and qc is not None:
                n_ids.append(info[0])
                n_ts.append(p.ts)
                n_v.append(p.v)
                n_q.append(qc)
                continue
        if type(p) is Point:
            tag, ts, v, q = p.tag, p.ts, p.v, p.q
        elif isinstance(p, dict):
            missing = [k for k in ("tag", "ts", "v") if k not in p]
            if missing:
                reject(i, p.get("tag", ""), "malformed", f"missing key {', '.join(map(repr, missing))}")
                continue
            tag, ts, v, q = p["tag"], p["ts"], p["v"], p.get("q", "good")
        elif isinstance(p, Point):
            tag, ts, v, q = p.tag, p.ts, p.v, p.q
        else:
            reject(i, "", "malformed",
                   f"expected a Point or a dict with tag, ts, v, q; got {_type_name(p)}")
            continue
        if type(tag) is not str:
            reject(i, tag, "malformed", f"tag: expected a string, got {_type_name(tag)}")
            continue
        info = writable.get(tag)
        if info is None:
            reject(i, tag, "unknown_tag", f"tag: unknown tag {tag!r}")
            continue
        if type(ts) is not int:
            ts = parse_ts(ts)
            if isinstance(ts, str):
                reject(i, tag, "bad_timestamp", ts)
                continue
        if ts < MIN_TS:
            reject(i, tag, "bad_timestamp", f"ts: {format_ts(ts)} is before 2000-01-01")
            continue
        if ts > max_ts:
            reject(i, tag, "bad_timestamp",
                   f"ts: {format_ts(ts)} is more than 1 day ahead of the platform clock")
            continue
        qc = qcodes.get(q) if type(q) is str else None
        if qc is None:
            reject(i, tag, "bad_quality", f"q: {_show(q)} is not one of good, bad, uncertain")
            continue
        tag_id, kind = info
        if kind == FLOAT and type(v) is float:
            if not isfinite(v):
                reject(i, tag, "non_finite", f"v: {v} is not a finite number")
                continue
            fv = v
        else:
            fv, reason, detail = check_value(v, kind)
            if reason:
                reject(i, tag, reason, detail)
                continue
            if kind == STRING:
                strings.append((tag_id, ts, fv, qc))  # type: ignore[arg-type]
                continue
        n_ids.append(tag_id)
        n_ts.append(ts)
        n_v.append(fv)  # type: ignore[arg-type]
        n_q.append(qc)
    return CheckedPoints(n_ids, n_ts, n_v, n_q, strings, rejected)


class TagIndexWrites:
    """What both historians share once their tag index (``_ids``, ``_types``, ``_writable``)
    is loaded: id look-ups and the vectorised numeric write path."""

    def tag_ids(self, paths: Sequence[str]) -> np.ndarray:
        """Integer ids of tag paths (-1 for unknown ones), for ``write_columns``."""
        ids = self._ids
        return np.fromiter((ids.get(p, -1) for p in paths), dtype=np.int64, count=len(paths))

    def _known(self, tags: Sequence[str]) -> list[tuple[str, int, int]]:
        out = []
        for path in tags:
            tag_id = self._ids.get(path)
            if tag_id is None:
                raise ValueError(f"tags: unknown tag {path!r}")
            out.append((path, tag_id, self._types[tag_id]))
        return out

    def _agg_groups(self, tags: Sequence[str], agg: str, interval_ms: int
                    ) -> tuple[dict[str, list[tuple[int, Value | None]]], dict[int, tuple[str, int]],
                               dict[int, tuple[str, int]]]:
        """``read_agg``'s checks, the empty result per tag, and the tags by id split into
        numeric and string ones."""
        if agg not in AGGS:
            raise ValueError(f"agg: {agg!r} is not one of {', '.join(AGGS)}")
        if interval_ms <= 0:
            raise ValueError(f"interval_ms: must be positive, got {interval_ms}")
        known = self._known(tags)
        out: dict[str, list[tuple[int, Value | None]]] = {path: [] for path, _, _ in known}
        numeric = {i: (p, k) for p, i, k in known if k != STRING}
        strings = {i: (p, k) for p, i, k in known if k == STRING}
        if strings and agg not in _STRING_AGGS:
            names = ", ".join(repr(p) for p, _ in strings.values())
            raise ValueError(f"agg: {agg!r} is not defined for string tags ({names}); "
                             "use count, first or last")
        return out, numeric, strings

    def write_columns(self, tags: str | Sequence[str] | np.ndarray, ts: Any, values: Any,
                      q: str | Sequence[str] = "good") -> WriteResult:
        """Bulk-write numeric points given as columns, validated with numpy.

        ``tags`` is one path for all rows, a sequence of paths, or an integer array
        of ids from ``tag_ids``; ``ts`` is epoch ms (or ``datetime64``); ``q`` is one
        quality for all rows or one per row. String tags are not accepted here.
        """
        ts_arr = np.asarray(ts)
        if np.issubdtype(ts_arr.dtype, np.datetime64):
            ts_arr = ts_arr.astype("datetime64[ms]").astype(np.int64)
        n = len(ts_arr)
        by_id = isinstance(tags, np.ndarray) and np.issubdtype(tags.dtype, np.integer)
        if isinstance(tags, str):
            ids = np.full(n, self._ids.get(tags, -1), dtype=np.int64)
        elif by_id:
            ids = tags.astype(np.int64, copy=False)  # type: ignore[union-attr]
        else:
            ids = self.tag_ids(tags)  # type: ignore[arg-type]
        vals = np.asarray(values)
        if isinstance(q, str):
            qc = QUALITY_CODES.get(q)
            if qc is None:
                raise ValueError(f"q: {q!r} is not one of good, bad, uncertain")
            q_arr = np.full(n, qc, dtype=np.int16)
        else:
            q_arr = np.fromiter((QUALITY_CODES.get(x, -1) if type(x) is str else -1 for x in q),
                                dtype=np.int16, count=len(q))
        if not (len(ids) == len(vals) == len(q_arr) == n):
            raise ValueError(f"write_columns: tags, ts, values and q must have one length; got "
                             f"{len(ids)}, {n}, {len(vals)}, {len(q_arr)}")
        if not (np.issubdtype(vals.dtype, np.number) or vals.dtype == np.bool_):
            raise ValueError(f"values: expected a numeric array, got dtype {vals.dtype}")
        if not np.issubdtype(ts_arr.dtype, np.integer):
            raise ValueError(f"ts: expected integer epoch milliseconds, got dtype {ts_arr.dtype}")
        v = vals.astype(np.float64, copy=False)
        ts_arr = ts_arr.astype(np.int64, copy=False)

        table = self._kind_by_id
        in_range = (ids >= 0) & (ids < len(table))
        kind = np.zeros(n, dtype=np.uint8)
        kind[in_range] = table[ids[in_range]]
        finite = np.isfinite(v)
        bools = vals.dtype == np.bool_  # as in ``write``, bool values only for bool tags
        integral = np.mod(v, 1.0, where=finite, out=np.ones(n)) == 0
        ok_type = (kind == BOOL) & ((v == 0) | (v == 1))
        if not bools:
            ok_type |= (kind == FLOAT) | ((kind == INT) & integral)
        max_ts = self.clock.now_ms() + DAY_MS
        good = ((kind != INACTIVE) & (kind != STRING) & (ts_arr >= MIN_TS) & (ts_arr <= max_ts)
                & (q_arr >= 0) & finite & ok_type)
        rejected: list[Rejection] = []
        for i in np.flatnonzero(~good).tolist():
            tag_id, k, t, x = int(ids[i]), int(kind[i]), int(ts_arr[i]), float(v[i])
            if isinstance(tags, str):
                name = tags
            elif by_id:
                name = self._paths.get(tag_id, f"#{tag_id}")
            else:
                name = str(tags[i])
            if k == INACTIVE:
                unknown = f"id {tag_id}" if by_id and tag_id not in self._paths else repr(name)
                reason, detail = "unknown_tag", f"tag: unknown tag {unknown}"
            elif k == STRING:
                reason, detail = "wrong_type", f"v: {name!r} is a string tag; write_columns takes numbers"
            elif t < MIN_TS or t > max_ts:
                reason = "bad_timestamp"
                detail = (f"ts: {format_ts(t)} is before 2000-01-01" if t < MIN_TS
                          else f"ts: {format_ts(t)} is more than 1 day ahead of the platform clock")
            elif q_arr[i] < 0:
                reason, detail = "bad_quality", f"q: {_show(q[i])} is not one of good, bad, uncertain"
            elif not finite[i]:
                reason, detail = "non_finite", f"v: {x} is not a finite number"
            elif bools:
                reason, detail = "wrong_type", f"v: expected {KIND_NAMES[k]}, got bool {bool(x)}"
            elif k == INT:
                reason, detail = "wrong_type", f"v: expected int, got non-integral float {x}"
            else:
                reason, detail = "wrong_type", f"v: expected bool (0 or 1), got {x}"
            rejected.append(Rejection(i, name, reason, detail))
        numeric = (ids[good].astype(np.int32), ts_arr[good], v[good], q_arr[good].astype(np.uint8))
        return self._store(numeric, [], rejected)



class DuckDBHistorian(TagIndexWrites):
    """The ``Historian`` on an embedded DuckDB file (or ``:memory:``)."""

    def __init__(self, path: str | Path = ":memory:", *, clock: Clock | None = None,
                 retention_days: int = 90, rollup_after_days: int = 7) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock or WallClock()
        self.retention_days = retention_days
        self.rollup_after_days = rollup_after_days
        self._con = duckdb.connect(self.path)
        self._con.execute(_SCHEMA)
        self._lock = threading.Lock()  # serialises writes, registration and retention
        self._cache_lock = threading.Lock()
        self._cursor_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._closed = False
        self._accepted = 0
        self._rejected = dict.fromkeys(REJECT_REASONS, 0)
        self._last_rejections: deque[dict] = deque(maxlen=LAST_REJECTIONS)
        self._load_tags()
        self._latest = self._load_latest()
        lo, hi = self._con.execute("SELECT min(ts), max(ts) FROM rollups").fetchone()  # type: ignore[misc]
        self._rollup_span: tuple[int, int] | None = None if lo is None else (lo, hi)

    # -- tags ---------------------------------------------------------------------------

    def _load_tags(self) -> None:
        rows = self._con.execute("SELECT id, path, data_type, active FROM tags ORDER BY id").fetchall()
        self._paths: dict[int, str] = {i: p for i, p, _, _ in rows}
        self._ids: dict[str, int] = {p: i for i, p, _, _ in rows}
        self._types: dict[int, int] = {i: KINDS[t] for i, _, t, _ in rows}
        # Only active tags may be written: path -> (id, kind), and kind by id for write_columns.
        self._writable: dict[str, tuple[int, int]] = {p: (i, KINDS[t]) for i, p, t, a in rows if a}
        kinds = np.zeros(max(self._paths, default=-1) + 1, dtype=np.uint8)
        for i, kind in self._writable.values():
            kinds[i] = kind
        self._kind_by_id = kinds

    def register_tags(self, tags: Iterable[TagSpec]) -> None:
        specs: dict[str, str] = {}
        for tag in tags:
            if not tag.path:
                raise ValueError("tag path: empty (is the plant resolved?)")
            if tag.data_type not in KINDS:
                raise ValueError(f"data_type of tag {tag.path!r}: {tag.data_type!r} is not one of "
                                 f"{', '.join(KINDS)}")
            specs[tag.path] = tag.data_type
        with self._lock:
            next_id = max(self._paths, default=-1) + 1
            rows = []
            for path, data_type in specs.items():
                tag_id = self._ids.get(path)
                if tag_id is None:
                    tag_id, next_id = next_id, next_id + 1
                rows.append((tag_id, path, data_type))
            self._con.execute("BEGIN")
            try:
                self._con.execute("UPDATE tags SET active = false")
                if rows:
                    ids, paths, types = zip(*rows, strict=True)
                    self._upsert("tags", pa.table({"id": pa.array(ids, pa.int32()), "path": paths,
                                                   "data_type": types, "active": [True] * len(rows)}),
                                 "data_type = excluded.data_type, active = true")
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._load_tags()

    # -- writes -------------------------------------------------------------------------

    def write(self, points: Sequence[Point | dict]) -> WriteResult:
        return self._write_checked(check_points(points, self._writable, self.clock.now_ms() + DAY_MS))

    def write_marked(self, points: Sequence[Point | dict], key: str, mark: int,
                     prechecked: bool = False) -> WriteResult:
        """``write``, and set mark ``key`` to ``mark`` in the same transaction (even if every point is rejected)."""
        checked = check_points(points, self._writable, self.clock.now_ms() + DAY_MS, prechecked)
        return self._write_checked(checked, (key, mark))

    def mark(self, key: str) -> int | None:
        """The value last stored by ``write_marked`` under ``key``."""
        row = self._cursor().execute("SELECT value FROM marks WHERE key = $k", {"k": key}).fetchone()
        return None if row is None else row[0]

    def _write_checked(self, c: CheckedPoints, mark: tuple[str, int] | None = None) -> WriteResult:
        numeric = (np.array(c.ids, dtype=np.int32), np.array(c.ts, dtype=np.int64),
                   np.array(c.v, dtype=np.float64), np.array(c.q, dtype=np.uint8))
        return self._store(numeric, c.strings, c.rejected, mark)

    def _store(self, numeric: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
               strings: list[tuple[int, int, str, int]], rejected: list[Rejection],
               mark: tuple[str, int] | None = None) -> WriteResult:
        ids, ts, v, q = numeric
        newest = self._newest(ids, ts, v, q, strings)
        with self._lock:
            self._check_open()
            with self._cache_lock:
                cache = self._latest
                changed = [p for p in newest if (old := cache.get(p.tag)) is None or p.ts >= old.ts]
            if len(ids) or strings or mark:
                self._insert(numeric, strings, changed, mark)
            if changed:
                with self._cache_lock:
                    for p in changed:
                        self._latest[p.tag] = p
        accepted = len(ids) + len(strings)
        now = self.clock.now_ms()
        with self._stats_lock:
            self._accepted += accepted
            for r in rejected:
                self._rejected[r.reason] += 1
            for r in rejected[-LAST_REJECTIONS:]:
                self._last_rejections.append({"index": r.index, "tag": r.tag, "reason": r.reason,
                                              "detail": r.detail, "at": now})
        return WriteResult(accepted=accepted, rejected=rejected)

    def _insert(self, numeric: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                strings: list[tuple[int, int, str, int]], changed: list[Point],
                mark: tuple[str, int] | None = None) -> None:
        """One transaction: the points, the latest values they change (so the cache survives restarts)
        and the mark, if any."""
        ids, ts, v, q = numeric
        con = self._con
        con.execute("BEGIN")
        try:
            if len(ids):
                con.register("_batch", pa.table({"tag_id": ids, "ts": ts, "v": v, "q": q}))
                con.execute("INSERT INTO points SELECT tag_id, ts, v, q FROM _batch")
                con.unregister("_batch")
            if strings:
                s_ids, s_ts, s_v, s_q = zip(*strings, strict=True)
                con.register("_batch", pa.table({"tag_id": pa.array(s_ids, pa.int32()), "ts": s_ts,
                                                 "v": s_v, "q": pa.array(s_q, pa.uint8())}))
                con.execute("INSERT INTO spoints SELECT tag_id, ts, v, q FROM _batch")
                con.unregister("_batch")
            if changed:
                self._upsert("latest", pa.table({
                    "tag_id": pa.array([self._ids[p.tag] for p in changed], pa.int32()),
                    "ts": pa.array([p.ts for p in changed], pa.int64()),
                    "v": pa.array([None if type(p.v) is str else float(p.v) for p in changed], pa.float64()),
                    "s": pa.array([p.v if type(p.v) is str else None for p in changed], pa.string()),
                    "q": pa.array([QUALITY_CODES[p.q] for p in changed], pa.uint8())}),
                    "ts = excluded.ts, v = excluded.v, s = excluded.s, q = excluded.q")
            if mark is not None:
                con.execute("INSERT INTO marks VALUES ($k, $v) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            {"k": mark[0], "v": mark[1]})
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _upsert(self, table: str, rows: pa.Table, update: str) -> None:
        """Insert-or-update ``rows`` keyed by their first column (``executemany`` is far slower)."""
        self._con.register("_rows", rows)
        self._con.execute(f"INSERT INTO {table} SELECT * FROM _rows "
                          f"ON CONFLICT ({rows.column_names[0]}) DO UPDATE SET {update}")
        self._con.unregister("_rows")

    def _newest(self, ids: np.ndarray, ts: np.ndarray, v: np.ndarray, q: np.ndarray,
                strings: list[tuple[int, int, str, int]]) -> list[Point]:
        """The newest point of each tag in a batch."""
        newest: dict[int, Point] = {}
        if len(ids):
            order = np.lexsort((ts, ids))  # stable: of equal timestamps the later point wins
            sorted_ids = ids[order]
            last = order[np.r_[sorted_ids[1:] != sorted_ids[:-1], True]]
            for i, t, x, qc in zip(ids[last].tolist(), ts[last].tolist(), v[last].tolist(), q[last].tolist(),
                                   strict=True):
                newest[i] = Point(self._paths[i], t, _typed(x, self._types[i]), QUALITY_NAMES[qc])
        for i, t, s, qc in strings:
            if i not in newest or t >= newest[i].ts:
                newest[i] = Point(self._paths[i], t, s, QUALITY_NAMES[qc])
        return list(newest.values())

    # -- reads --------------------------------------------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            with self._cursor_lock:
                self._check_open()
                cur = self._con.cursor()
                self._cursors.append(cur)
            self._local.cursor = cur
        return cur

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("historian is closed")

    def read_raw(self, tag: str, start: int, end: int, limit: int = 100_000) -> list[Point]:
        [(path, tag_id, kind)] = self._known([tag])
        table = "spoints" if kind == STRING else "points"
        rows = self._cursor().execute(
            f"SELECT ts, v, q FROM {table} WHERE tag_id = $id AND ts >= $s AND ts < $e ORDER BY ts LIMIT $n",
            {"id": tag_id, "s": start, "e": end, "n": limit}).fetchall()
        return [Point(path, t, _typed(x, kind), QUALITY_NAMES[qc]) for t, x, qc in rows]

    def read_agg(self, tags: Sequence[str], start: int, end: int, interval_ms: int,
                 agg: Agg = "avg") -> dict[str, list[tuple[int, Value | None]]]:
        """Per tag, (bucket start, aggregate) for each non-empty interval in [start, end).

        Buckets are aligned to ``start``. Bad-quality points are left out. Periods
        already downsampled are answered from the 1-minute rollups. String tags
        support count, first and last only.
        """
        out, numeric, strings = self._agg_groups(tags, agg, interval_ms)
        cur = self._cursor()
        span = self._rollup_span
        # Joining a list of ids is several times faster in DuckDB than ``tag_id IN (...)``.
        where = "JOIN (SELECT unnest($ids::INTEGER[]) AS tag_id) USING (tag_id) WHERE ts >= $s AND ts < $e"
        for table, group in (("points", numeric), ("spoints", strings)):
            if not group:
                continue
            if table == "points" and span is not None and span[0] < end and span[1] >= start:
                raw_cols, roll_cols, final = _UNION_AGG_SQL[agg]
                source = (f"(SELECT tag_id, ts, {raw_cols} FROM points {where} AND q < 2 "
                          f"UNION ALL SELECT tag_id, ts, {roll_cols} FROM rollups {where})")
            else:
                final, source = _RAW_AGG_SQL[agg], f"{table} {where} AND q < 2"
            res = cur.execute(f"SELECT tag_id, (ts - $s) // $i AS b, {final} AS a FROM {source} GROUP BY ALL",
                              {"s": start, "e": end, "i": interval_ms, "ids": list(group)}).fetchnumpy()
            self._collect(res, group, agg, start, interval_ms, out)
        return out

    @staticmethod
    def _collect(res: dict[str, np.ndarray], tags: dict[int, tuple[str, int]], agg: str, start: int,
                 interval_ms: int, out: dict[str, list[tuple[int, Value | None]]]) -> None:
        ids = np.asarray(res["tag_id"])
        if not len(ids):
            return
        buckets = np.asarray(res["b"])
        order = np.lexsort((buckets, ids))
        ids, starts, values = ids[order], buckets[order] * interval_ms + start, res["a"][order]
        cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
        for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(ids)].tolist(), strict=True):
            path, kind = tags[int(ids[lo])]
            vals = values[lo:hi].tolist()
            if agg == "count" or (agg == "sum" and kind != FLOAT):
                vals = [int(x) for x in vals]
            elif agg in ("min", "max", "first", "last") and kind in (INT, BOOL):
                vals = [_typed(x, kind) for x in vals]
            out[path] = list(zip(starts[lo:hi].tolist(), vals, strict=True))

    def latest(self, tags: Sequence[str] | None = None) -> dict[str, Point]:
        """Last value of each tag (all tags when None); tags without a value are left out."""
        with self._cache_lock:
            if tags is None:
                return dict(self._latest)
            cache = self._latest
            return {t: p for t in tags if (p := cache.get(t)) is not None}

    def _load_latest(self) -> dict[str, Point]:
        rows = self._con.execute("SELECT tag_id, ts, v, s, q FROM latest").fetchall()
        out = {}
        for tag_id, ts, v, s, q in rows:
            kind, path = self._types[tag_id], self._paths[tag_id]
            out[path] = Point(path, ts, s if kind == STRING else _typed(v, kind), QUALITY_NAMES[q])
        return out

    # -- maintenance --------------------------------------------------------------------

    def apply_retention(self, now: int) -> dict[str, int]:
        """Roll raw numeric points older than ``rollup_after_days`` up into 1-minute rows
        (bad-quality points are left out) and delete them from raw; drop everything
        older than ``retention_days``. String points are kept raw until retention."""
        rollup_before = (now - self.rollup_after_days * DAY_MS) // MINUTE_MS * MINUTE_MS
        drop_before = (now - self.retention_days * DAY_MS) // MINUTE_MS * MINUTE_MS
        p = {"r": rollup_before, "d": drop_before}
        with self._lock:
            self._check_open()
            con = self._con
            con.execute("BEGIN")
            try:
                rollup_rows = 0
                if rollup_before > drop_before:
                    rollup_rows = con.execute(
                        "INSERT INTO rollups SELECT tag_id, ts // 60000 * 60000 AS m, count(*), sum(v), "
                        "min(v), max(v), arg_min(v, ts), arg_max(v, ts) FROM points "
                        "WHERE ts >= $d AND ts < $r AND q < 2 GROUP BY tag_id, m", p).fetchone()[0]
                raw = con.execute("DELETE FROM points WHERE ts < $r", {"r": max(rollup_before, drop_before)}
                                  ).fetchone()[0]
                dropped_rollups = con.execute("DELETE FROM rollups WHERE ts < $d", {"d": drop_before}
                                              ).fetchone()[0]
                dropped_strings = con.execute("DELETE FROM spoints WHERE ts < $d", {"d": drop_before}
                                              ).fetchone()[0]
                lo, hi = con.execute("SELECT min(ts), max(ts) FROM rollups").fetchone()  # type: ignore[misc]
                new_span = None if lo is None else (lo, hi)
                # Readers must look at rollups as soon as the commit can be visible to them.
                old = self._rollup_span
                if new_span is not None:
                    self._rollup_span = new_span if old is None else (min(old[0], lo), max(old[1], hi))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            self._rollup_span = new_span
        return {"raw_deleted": raw, "rollup_rows_added": rollup_rows, "rollup_rows_dropped": dropped_rollups,
                "string_points_dropped": dropped_strings}

    def stats(self) -> dict:
        cur = self._cursor()
        raw, strings, rollups = cur.execute(
            "SELECT (SELECT count(*) FROM points), (SELECT count(*) FROM spoints), "
            "(SELECT count(*) FROM rollups)").fetchone()  # type: ignore[misc]
        with self._stats_lock:
            return {
                "accepted": self._accepted,
                "rejected": dict(self._rejected),
                "rejected_total": sum(self._rejected.values()),
                "rows": {"raw": raw, "strings": strings, "rollups": rollups},
                "tags": len(self._writable),
                "last_rejections": list(self._last_rejections),
            }

    def close(self) -> None:
        with self._lock, self._cursor_lock:
            if self._closed:
                return
            self._closed = True
            for cur in self._cursors:
                cur.close()
            self._con.close()
