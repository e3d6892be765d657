"""The historian on PostgreSQL (TimescaleDB when the extension can be had).

Layout, in its own schema (``zhizao`` unless the URL says ``?schema=``): ``tags`` (path ->
id), ``points`` (float, int and bool tags, stored as double precision), ``spoints``
(strings), ``rollups`` (1-minute count, sum, min, max, first, last of downsampled
numeric data), ``latest`` (the last value of each tag, shared by every platform node on
the database), ``counts`` (row counters, one row per historian instance, so ``stats``
needs no ``count(*)``), ``marks`` (``write_marked``) and ``meta``. Timestamps are bigint
epoch milliseconds; quality is 0 good, 1 uncertain, 2 bad (left out of aggregates).

``points``, ``spoints`` and ``rollups`` are split by UTC day: TimescaleDB hypertables
with 1-day chunks (and compression of points older than two days) when
``CREATE EXTENSION timescaledb`` works, else native range partitions that the writer
creates on demand (the days of a batch and the day after). Retention drops whole days.

Points are unique on (tag, ts): a point already stored (a replay after a crash, or a
retry after the commit's acknowledgement was lost) is dropped and counted in
``stats()["duplicates"]``; the value stored first stays. Accepted points go by binary
``COPY`` straight into the table; when that meets a stored (tag, ts) it is undone to a
savepoint and the batch goes by ``COPY`` into a temporary staging table, then
``INSERT ... ON CONFLICT DO NOTHING``. The latest values (read back from the stored rows)
and the counters are upserted in the same transaction.

Validation is the DuckDB historian's, so both reject the same points with the same
reasons. When the database cannot be reached, every call raises
``HistorianUnavailable`` (writes reject nothing: the caller keeps the batch and retries);
the next call reconnects. Connections come from a small pool, so the API may read
while the writer writes.
"""

from __future__ import annotations

import re
import select
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import psycopg
from psycopg import errors

from zhizao.core.clock import Clock, WallClock
from zhizao.store.duckdb_historian import (
    BOOL,
    DAY_MS,
    FLOAT,
    INT,
    KINDS,
    LAST_REJECTIONS,
    QUALITY_NAMES,
    STRING,
    TagIndexWrites,
    _typed,
    check_points,
)
from zhizao.store.historian import (
    REJECT_REASONS,
    Agg,
    HistorianUnavailable,
    Point,
    Rejection,
    TagSpec,
    Value,
    WriteResult,
)

TABLES = ("points", "spoints", "rollups")
_EPOCH_DAY = date(1970, 1, 1)
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# Advisory lock keys (the second half; the first is the schema's hash).
_LOCK_DDL, _LOCK_RETENTION = 1, 2
COMPRESS_AFTER_MS = 2 * DAY_MS

_TABLES_SQL = """
CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS tags (id integer PRIMARY KEY, path text UNIQUE NOT NULL, data_type text NOT NULL,
                                 active boolean NOT NULL);
CREATE TABLE IF NOT EXISTS points (tag_id integer NOT NULL, ts bigint NOT NULL, v double precision NOT NULL,
                                   q smallint NOT NULL, PRIMARY KEY (tag_id, ts)) {part};
CREATE TABLE IF NOT EXISTS spoints (tag_id integer NOT NULL, ts bigint NOT NULL, v text NOT NULL,
                                    q smallint NOT NULL, PRIMARY KEY (tag_id, ts)) {part};
CREATE TABLE IF NOT EXISTS rollups (tag_id integer NOT NULL, ts bigint NOT NULL, n bigint NOT NULL,
                                    sum double precision, min double precision, max double precision,
                                    first double precision, last double precision) {part};
CREATE INDEX IF NOT EXISTS rollups_tag_ts ON rollups (tag_id, ts);
CREATE TABLE IF NOT EXISTS latest (tag_id integer PRIMARY KEY, ts bigint NOT NULL, v double precision, s text,
                                   q smallint NOT NULL);
CREATE TABLE IF NOT EXISTS counts (node text PRIMARY KEY, raw bigint NOT NULL, strings bigint NOT NULL,
                                   rollups bigint NOT NULL);
CREATE TABLE IF NOT EXISTS marks (key text PRIMARY KEY, value bigint NOT NULL);
"""

_TIMESCALE_SQL = """
CREATE OR REPLACE FUNCTION now_ms() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;
SELECT create_hypertable('points', 'ts', chunk_time_interval => {day}::bigint, if_not_exists => true);
SELECT create_hypertable('spoints', 'ts', chunk_time_interval => {day}::bigint, if_not_exists => true);
SELECT create_hypertable('rollups', 'ts', chunk_time_interval => {day}::bigint, if_not_exists => true);
SELECT set_integer_now_func('points', 'now_ms', replace_if_exists => true);
ALTER TABLE points SET (timescaledb.compress, timescaledb.compress_segmentby = 'tag_id',
                        timescaledb.compress_orderby = 'ts');
SELECT add_compression_policy('points', compress_after => {compress}::bigint, if_not_exists => true);
"""

# Per connection: the staging tables that COPY fills (emptied at each commit).
_STAGING_SQL = """
CREATE TEMP TABLE IF NOT EXISTS stage_n (tag_id integer, ts bigint, v double precision, q smallint)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_s (tag_id integer, ts bigint, v text, q smallint) ON COMMIT DELETE ROWS;
"""

# Binary COPY of numeric points, built with numpy: per row the field count, then length and value
# of each field, all big-endian.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\0" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)
_COPY_ROW = np.dtype([("n", ">i2"), ("l0", ">i4"), ("tag", ">i4"), ("l1", ">i4"), ("ts", ">i8"),
                      ("l2", ">i4"), ("v", ">f8"), ("l3", ">i4"), ("q", ">i2")])

_LATEST_SQL = """
INSERT INTO latest (tag_id, ts, v, s, q)
SELECT p.tag_id, p.ts, p.v, NULL, p.q FROM unnest(%(ni)s::integer[], %(nt)s::bigint[]) AS n(tag_id, ts)
    JOIN points p ON p.tag_id = n.tag_id AND p.ts = n.ts
UNION ALL
SELECT p.tag_id, p.ts, NULL, p.v, p.q FROM unnest(%(si)s::integer[], %(st)s::bigint[]) AS n(tag_id, ts)
    JOIN spoints p ON p.tag_id = n.tag_id AND p.ts = n.ts
ON CONFLICT (tag_id) DO UPDATE SET ts = excluded.ts, v = excluded.v, s = excluded.s, q = excluded.q
    WHERE latest.ts <= excluded.ts
"""

_COUNTS_SQL = """
INSERT INTO counts AS c (node, raw, strings, rollups) VALUES (%s, %s, %s, %s)
ON CONFLICT (node) DO UPDATE SET raw = c.raw + excluded.raw, strings = c.strings + excluded.strings,
                                 rollups = c.rollups + excluded.rollups
"""

# One day of raw points (read through the parent, so compressed TimescaleDB chunks are read too)
# into 1-minute rollups (bad quality left out); returns (raw rows, rollup rows).
_ROLLUP_SQL = """
WITH agg AS (
    SELECT tag_id, ts / 60000 * 60000 AS m, count(*) AS total, count(*) FILTER (WHERE q < 2) AS n,
           sum(v) FILTER (WHERE q < 2) AS sum, min(v) FILTER (WHERE q < 2) AS min,
           max(v) FILTER (WHERE q < 2) AS max, array_agg(v ORDER BY ts) FILTER (WHERE q < 2) AS vs
    FROM points WHERE ts >= %(lo)s AND ts < %(hi)s GROUP BY 1, 2),
ins AS (INSERT INTO rollups SELECT tag_id, m, n, sum, min, max, vs[1], vs[cardinality(vs)] FROM agg
        WHERE n > 0 RETURNING 1)
SELECT (SELECT coalesce(sum(total), 0)::bigint FROM agg), (SELECT count(*) FROM ins)
"""

# read_agg: aggregates over raw points alone...
_RAW_AGG = {"avg": "avg(v)", "sum": "sum(v)", "count": "count(*)", "min": "min(v)", "max": "max(v)"}
# ...and, when rollups overlap the range, per aggregate: (raw points, rollup rows) each aggregated
# per bucket, then combined.
_UNION_AGG = {
    "avg": ("sum(v) AS x, count(*) AS n", "sum(sum) AS x, sum(n) AS n", "sum(x) / sum(n)"),
    "sum": ("sum(v) AS x", "sum(sum) AS x", "sum(x)"),
    "count": ("count(*) AS x", "sum(n) AS x", "sum(x)::bigint"),
    "min": ("min(v) AS x", "min(min) AS x", "min(x)"),
    "max": ("max(v) AS x", "max(max) AS x", "max(x)"),
}
_STRING_AGGS = ("count", "first", "last")
_WHERE = "tag_id = ANY(%(ids)s::integer[]) AND ts >= %(s)s::bigint AND ts < %(e)s::bigint"
_BUCKET = "(ts - %(s)s::bigint) / %(i)s::bigint"


def _day_name(table: str, day: int) -> str:
    return f"{table}_{(_EPOCH_DAY + timedelta(days=day)):%Y%m%d}"


def _name_day(name: str) -> int:
    return (datetime.strptime(name.rsplit("_", 1)[1], "%Y%m%d").date() - _EPOCH_DAY).days


def parse_url(url: str) -> tuple[str, str, str]:
    """(libpq URL, schema, timescaledb: auto | on | off) from a historian URL; the query
    parameters ``schema`` and ``timescaledb`` are the historian's, the others go to libpq."""
    url = re.sub(r"^(postgres|postgresql\+psycopg)://", "postgresql://", url)
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    schema = params.pop("schema", "zhizao")
    timescale = params.pop("timescaledb", "auto")
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(f"historian_url: schema {schema!r} must be lower-case letters, digits and _")
    if timescale not in ("auto", "on", "off"):
        raise ValueError(f"historian_url: timescaledb={timescale!r} is not one of auto, on, off")
    return urlunsplit(parts._replace(query=urlencode(params))), schema, timescale


class PostgresHistorian(TagIndexWrites):
    """The ``Historian`` on PostgreSQL. ``url`` is a libpq URL; see ``parse_url``."""

    def __init__(self, url: str, *, clock: Clock | None = None, retention_days: int = 90,
                 rollup_after_days: int = 7, pool_size: int = 4, latest_ttl_s: float = 1.0,
                 connect_timeout_s: int = 5) -> None:
        self._dsn, self.schema, timescale = parse_url(url)
        info = psycopg.conninfo.conninfo_to_dict(self._dsn)
        self.where = f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        self.clock = clock or WallClock()
        self.retention_days = retention_days
        self.rollup_after_days = rollup_after_days
        self.latest_ttl_s = latest_ttl_s
        self._connect_timeout = connect_timeout_s
        self._node = uuid.uuid4().hex  # this instance's row in ``counts``
        self._closed = False
        self._pool = threading.BoundedSemaphore(pool_size)
        self._idle: list[psycopg.Connection] = []
        self._idle_lock = threading.Lock()
        self._tags_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._parts_lock = threading.Lock()
        self._parts: set[tuple[str, int]] | None = None  # (table, day) partitions known to exist
        self._latest: dict[str, Point] | None = None
        self._latest_at = 0.0
        self._latest_gen = 0  # bumped by every write, so a read racing a write does not cache stale values
        self._accepted = 0
        self._duplicates = 0
        self._unavailable = 0
        self._rejected = dict.fromkeys(REJECT_REASONS, 0)
        self._last_rejections: deque[dict] = deque(maxlen=LAST_REJECTIONS)
        self.layout = self._setup_retrying(timescale)
        self._load_tags()

    # -- connections --------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=self._connect_timeout,
                               options=f"-c search_path={self.schema}",
                               application_name=f"zhizao-historian:{self.schema}")
        try:
            conn.execute(_STAGING_SQL)
        except BaseException:
            conn.close()
            raise
        return conn

    def _take(self) -> psycopg.Connection:
        """An idle connection, or a new one. An idle connection with something to read was
        closed by the server (restart, termination): it is dropped rather than fail the call."""
        while True:
            with self._idle_lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect()
            if not select.select([conn], [], [], 0)[0]:
                return conn
            conn.close()

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        """A pooled connection; a lost or refused one becomes ``HistorianUnavailable``."""
        self._check_open()
        with self._pool:
            conn: psycopg.Connection | None = None
            try:
                conn = self._take()
                yield conn
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                with self._stats_lock:
                    self._unavailable += 1
                raise HistorianUnavailable(f"historian database {self.where}: {str(exc).strip()}") from exc
            finally:
                if conn is not None:
                    if conn.closed or conn.broken or self._closed:
                        conn.close()
                    else:
                        with self._idle_lock:
                            self._idle.append(conn)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("historian is closed")

    def _lock_sql(self, key: int) -> str:
        return f"SELECT pg_advisory_xact_lock(hashtext('zhizao.historian.{self.schema}'), {key})"

    def _setup_retrying(self, timescale: str, attempts: int = 3) -> str:
        # The advisory lock orders nodes starting together, but a node's catalog cache may
        # not yet see the schema another node just created (advisory locks do not refresh
        # it), so "IF NOT EXISTS" can still collide; a new transaction sees it.
        for _ in range(attempts - 1):
            try:
                return self._setup(timescale)
            except errors.UniqueViolation:
                continue
        return self._setup(timescale)

    def _setup(self, timescale: str) -> str:
        """Create the schema (once, under a lock, as several nodes may start together); the layout."""
        with self._conn() as conn, conn.transaction():
            conn.execute(self._lock_sql(_LOCK_DDL))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)")
            row = conn.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone()
            layout = row[0] if row else self._choose_layout(conn, timescale)
            if row is None:
                conn.execute(_TABLES_SQL.format(part="" if layout == "timescaledb" else "PARTITION BY RANGE (ts)"))
                if layout == "timescaledb":
                    conn.execute(_TIMESCALE_SQL.format(day=DAY_MS, compress=COMPRESS_AFTER_MS))
                conn.execute("INSERT INTO meta VALUES ('layout', %s)", (layout,))
            # Fold the counters of earlier instances into this one's row, so ``counts`` stays small.
            conn.execute("WITH gone AS (DELETE FROM counts RETURNING *) INSERT INTO counts "
                         "SELECT %s, coalesce(sum(raw), 0), coalesce(sum(strings), 0), coalesce(sum(rollups), 0) "
                         "FROM gone", (self._node,))
        return layout

    @staticmethod
    def _choose_layout(conn: psycopg.Connection, timescale: str) -> str:
        if timescale == "off":
            return "native"
        try:
            with conn.transaction():  # a savepoint: a failure leaves the outer transaction usable
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except psycopg.DatabaseError as exc:
            if timescale == "on":
                raise ValueError(f"historian_url: timescaledb=on but the extension is not available: {exc}") from exc
            return "native"
        return "timescaledb"

    # -- tags ---------------------------------------------------------------------------

    def _load_tags(self) -> None:
        with self._conn() as conn:
            rows = conn.execute("SELECT id, path, data_type, active FROM tags ORDER BY id").fetchall()
        paths = {i: p for i, p, _, _ in rows}
        kinds = np.zeros(max(paths, default=-1) + 1, dtype=np.uint8)
        writable = {p: (i, KINDS[t]) for i, p, t, a in rows if a}
        for i, kind in writable.values():
            kinds[i] = kind
        with self._tags_lock:
            self._paths = paths
            self._ids: dict[str, int] = {p: i for i, p, _, _ in rows}
            self._types: dict[int, int] = {i: KINDS[t] for i, _, t, _ in rows}
            # Only active tags may be written: path -> (id, kind), and kind by id for write_columns.
            self._writable: dict[str, tuple[int, int]] = writable
            self._kind_by_id = kinds

    def register_tags(self, tags: Iterable[TagSpec]) -> None:
        """Declare the tags that may be written (replaces the previous set; ids are kept)."""
        specs: dict[str, str] = {}
        for tag in tags:
            if not tag.path:
                raise ValueError("tag path: empty (is the plant resolved?)")
            if tag.data_type not in KINDS:
                raise ValueError(f"data_type of tag {tag.path!r}: {tag.data_type!r} is not one of "
                                 f"{', '.join(KINDS)}")
            specs[tag.path] = tag.data_type
        with self._conn() as conn, conn.transaction():
            conn.execute(self._lock_sql(_LOCK_DDL))
            ids = dict(conn.execute("SELECT path, id FROM tags").fetchall())
            next_id = max(ids.values(), default=-1) + 1
            rows = []
            for path, data_type in specs.items():
                tag_id = ids.get(path)
                if tag_id is None:
                    tag_id, next_id = next_id, next_id + 1
                rows.append((tag_id, path, data_type))
            conn.execute("UPDATE tags SET active = false")
            conn.execute("INSERT INTO tags SELECT id, path, data_type, true "
                         "FROM unnest(%s::integer[], %s::text[], %s::text[]) AS r(id, path, data_type) "
                         "ON CONFLICT (id) DO UPDATE SET data_type = excluded.data_type, active = true",
                         [list(c) for c in zip(*rows, strict=True)] if rows else [[], [], []])
        self._load_tags()

    # -- writes -------------------------------------------------------------------------

    def write(self, points: Sequence[Point | dict]) -> WriteResult:
        """Validate and store a batch; bad points are rejected with a reason. Raises
        ``HistorianUnavailable`` (storing nothing) when the database cannot be reached."""
        return self._write_checked(points)

    def write_marked(self, points: Sequence[Point | dict], key: str, mark: int,
                     prechecked: bool = False) -> WriteResult:
        """``write``, and set mark ``key`` to ``mark`` in the same transaction (even if every point is rejected)."""
        return self._write_checked(points, (key, mark), prechecked)

    def mark(self, key: str) -> int | None:
        """The value last stored by ``write_marked`` under ``key``."""
        with self._conn() as conn:
            row = conn.execute("SELECT value FROM marks WHERE key = %s", (key,)).fetchone()
        return None if row is None else row[0]

    def _write_checked(self, points: Sequence[Point | dict], mark: tuple[str, int] | None = None,
                       prechecked: bool = False) -> WriteResult:
        c = check_points(points, self._writable, self.clock.now_ms() + DAY_MS, prechecked)
        numeric = (np.array(c.ids, dtype=np.int32), np.array(c.ts, dtype=np.int64),
                   np.array(c.v, dtype=np.float64), np.array(c.q, dtype=np.uint8))
        return self._store(numeric, c.strings, c.rejected, mark)

    # The columnar path validates exactly as the DuckDB historian does, then calls ``_store``.

    def _store(self, numeric: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
               strings: list[tuple[int, int, str, int]], rejected: list[Rejection],
               mark: tuple[str, int] | None = None) -> WriteResult:
        accepted = len(numeric[0]) + len(strings)
        duplicates = self._insert(numeric, strings, mark) if accepted or mark else 0
        now = self.clock.now_ms()
        with self._stats_lock:
            self._accepted += accepted
            self._duplicates += duplicates
            for r in rejected:
                self._rejected[r.reason] += 1
            for r in rejected[-LAST_REJECTIONS:]:
                self._last_rejections.append({"index": r.index, "tag": r.tag, "reason": r.reason,
                                              "detail": r.detail, "at": now})
        return WriteResult(accepted=accepted, rejected=rejected)

    def _insert(self, numeric: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                strings: list[tuple[int, int, str, int]], mark: tuple[str, int] | None) -> int:
        """Store the points, the latest values, the counters and the mark in one transaction;
        returns how many points were already stored."""
        ids, ts, v, q = numeric
        days = {("points", d) for d in np.unique(ts // DAY_MS).tolist()}
        days |= {("spoints", t // DAY_MS) for _, t, _, _ in strings}
        n_ids: list[int] = []
        n_ts: list[int] = []
        if len(ids):
            # In (tag, ts) order, the primary key index is filled page by page; the last row
            # of each tag is its newest point, whose stored row becomes the latest value.
            order = np.lexsort((ts, ids))
            ids, ts, v, q = ids[order], ts[order], v[order], q[order]
            last = np.r_[ids[1:] != ids[:-1], True]
            n_ids, n_ts = ids[last].tolist(), ts[last].tolist()
            rows = np.empty(len(ids), _COPY_ROW)
            rows["n"], rows["l0"], rows["l1"], rows["l2"], rows["l3"] = 4, 4, 8, 8, 2
            rows["tag"], rows["ts"], rows["v"], rows["q"] = ids, ts, v, q
            data = _COPY_HEADER + rows.tobytes() + _COPY_TRAILER
        s_newest: dict[int, int] = {}
        for i, t, _, _ in strings:
            s_newest[i] = max(t, s_newest.get(i, t))
        newest = {"ni": n_ids, "nt": n_ts, "si": list(s_newest), "st": list(s_newest.values())}
        for attempt in (1, 2):
            with self._conn() as conn:
                self._ensure_partitions(conn, days)
                try:
                    with conn.transaction(), conn.cursor() as cur:
                        stored_n = stored_s = 0
                        if len(ids):
                            stored_n = self._copy_in(cur, "points", "stage_n", "(FORMAT BINARY)", len(ids),
                                                     lambda copy: copy.write(data))
                        if strings:
                            stored_s = self._copy_in(cur, "spoints", "stage_s", "", len(strings),
                                                     lambda copy: [copy.write_row(r) for r in strings])
                        if stored_n or stored_s:
                            cur.execute(_LATEST_SQL, newest)
                            cur.execute(_COUNTS_SQL, (self._node, stored_n, stored_s, 0))
                        if mark is not None:
                            cur.execute("INSERT INTO marks VALUES (%s, %s) "
                                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", mark)
                    with self._cache_lock:
                        self._latest_gen += 1
                        self._latest = None
                    return len(ids) + len(strings) - stored_n - stored_s
                except errors.CheckViolation as exc:
                    # "no partition found for row": another node's retention dropped a day this
                    # one believed to exist (late data). Re-read the partitions and try again.
                    if attempt == 2 or "partition" not in str(exc):
                        raise
                    with self._parts_lock:
                        self._parts = None
        raise AssertionError("unreachable")

    @staticmethod
    def _copy_in(cur: psycopg.Cursor, table: str, stage: str, options: str, n: int,
                 write: Callable[[psycopg.Copy], object]) -> int:
        """Store ``n`` rows written by ``write`` into ``table`` once per (tag, ts); returns how many
        were new. First straight ``COPY`` into the table, several times faster; if a row is
        already stored (a replay), that is undone to a savepoint and the rows go through the
        staging table and ``INSERT ... ON CONFLICT DO NOTHING``."""
        try:
            with cur.connection.transaction(), cur.copy(f"COPY {table} FROM STDIN {options}") as copy:
                write(copy)
            return n
        except errors.UniqueViolation:
            pass
        with cur.copy(f"COPY {stage} FROM STDIN {options}") as copy:
            write(copy)
        cur.execute(f"INSERT INTO {table} SELECT * FROM {stage} ON CONFLICT DO NOTHING")
        return cur.rowcount

    def _ensure_partitions(self, conn: psycopg.Connection, days: set[tuple[str, int]]) -> None:
        """Create the missing day partitions of a batch, and the day after (native layout only)."""
        if self.layout != "native" or not days:
            return
        with self._parts_lock:
            if self._parts is None:
                self._parts = self._list_partitions(conn)
            missing = days - self._parts
            if not missing:
                return
            ahead = {(table, max(d for t, d in days if t == table) + 1) for table in {t for t, _ in missing}}
            wanted = sorted(missing | (ahead - self._parts))
            with conn.transaction():
                # Creating a partition locks its parent: wait at most a few seconds (then
                # HistorianUnavailable, and the caller retries) rather than queue every reader behind it.
                conn.execute("SET LOCAL lock_timeout = '5s'")
                conn.execute(self._lock_sql(_LOCK_DDL))
                for table, day in wanted:
                    conn.execute(f"CREATE TABLE IF NOT EXISTS {_day_name(table, day)} PARTITION OF {table} "
                                 f"FOR VALUES FROM ({day * DAY_MS}) TO ({(day + 1) * DAY_MS})")
            self._parts |= set(wanted)

    def _list_partitions(self, conn: psycopg.Connection) -> set[tuple[str, int]]:
        rows = conn.execute(
            "SELECT p.relname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE n.nspname = %s AND p.relname = ANY(%s)", (self.schema, list(TABLES))).fetchall()
        return {(parent, _name_day(child)) for parent, child in rows}

    def _day_parts(self, conn: psycopg.Connection, table: str) -> list[tuple[str, int, int]]:
        """(relation, start, end) of each day of ``table``, oldest first."""
        if self.layout == "timescaledb":
            rows = conn.execute(
                "SELECT format('%%I.%%I', chunk_schema, chunk_name), range_start_integer, range_end_integer "
                "FROM timescaledb_information.chunks WHERE hypertable_schema = %s AND hypertable_name = %s",
                (self.schema, table)).fetchall()
            return sorted(((name, lo, hi) for name, lo, hi in rows), key=lambda r: r[1])
        return sorted(((_day_name(t, d), d * DAY_MS, (d + 1) * DAY_MS) for t, d in self._list_partitions(conn)
                       if t == table), key=lambda r: r[1])

    # -- reads --------------------------------------------------------------------------

    def read_raw(self, tag: str, start: int, end: int, limit: int = 100_000) -> list[Point]:
        """Points of one tag with start <= ts < end, oldest first (``ValueError`` for an unknown tag)."""
        [(path, tag_id, kind)] = self._known([tag])
        table = "spoints" if kind == STRING else "points"
        with self._conn() as conn:
            rows = conn.execute(f"SELECT ts, v, q FROM {table} WHERE tag_id = %s AND ts >= %s AND ts < %s "
                                "ORDER BY ts LIMIT %s", (tag_id, start, end, limit)).fetchall()
        return [Point(path, t, _typed(x, kind), QUALITY_NAMES[qc]) for t, x, qc in rows]

    def read_agg(self, tags: Sequence[str], start: int, end: int, interval_ms: int,
                 agg: Agg = "avg") -> dict[str, list[tuple[int, Value | None]]]:
        """Per tag, (bucket start, aggregate) for each non-empty interval in [start, end).

        Buckets are aligned to ``start``. Bad-quality points are left out. Days already
        downsampled are answered from the 1-minute rollups. String tags support count,
        first and last only.
        """
        out, numeric, strings = self._agg_groups(tags, agg, interval_ms)
        with self._conn() as conn, conn.transaction():
            # One snapshot: retention moving a day from raw to rollups is seen whole or not at all.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute("SET LOCAL work_mem = '64MB'")  # the default 4MB spills a day of 1-minute buckets to disk
            for table, group in (("points", numeric), ("spoints", strings)):
                if not group:
                    continue
                params = {"ids": list(group), "s": start, "e": end, "i": interval_ms}
                rolled = table == "points" and conn.execute(
                    f"SELECT EXISTS (SELECT 1 FROM rollups WHERE {_WHERE})", params).fetchone()[0]  # type: ignore[index]
                rows = conn.execute(self._agg_sql(table, agg, rolled), params).fetchall()
                self._collect(rows, group, agg, start, interval_ms, out)
        return out

    @staticmethod
    def _agg_sql(table: str, agg: str, rolled: bool) -> str:
        good = " AND q < 2"
        if agg in ("first", "last"):
            order = "ts" if agg == "first" else "ts DESC"
            source = f"SELECT tag_id, ts, v AS x FROM {table} WHERE {_WHERE}{good}"
            if rolled:
                source += f" UNION ALL SELECT tag_id, ts, {agg} AS x FROM rollups WHERE {_WHERE}"
            return (f"SELECT DISTINCT ON (tag_id, b) tag_id, {_BUCKET} AS b, x FROM ({source}) u "
                    f"ORDER BY tag_id, b, {order}")
        if not rolled:
            return (f"SELECT tag_id, {_BUCKET} AS b, {_RAW_AGG[agg]} FROM {table} WHERE {_WHERE}{good} "
                    "GROUP BY 1, 2 ORDER BY 1, 2")
        raw, roll, final = _UNION_AGG[agg]
        return (f"SELECT tag_id, b, {final} FROM ("
                f"SELECT tag_id, {_BUCKET} AS b, {raw} FROM points WHERE {_WHERE}{good} GROUP BY 1, 2 "
                f"UNION ALL SELECT tag_id, {_BUCKET} AS b, {roll} FROM rollups WHERE {_WHERE} GROUP BY 1, 2"
                ") u GROUP BY 1, 2 ORDER BY 1, 2")

    @staticmethod
    def _collect(rows: list[tuple[int, int, Any]], tags: dict[int, tuple[str, int]], agg: str, start: int,
                 interval_ms: int, out: dict[str, list[tuple[int, Value | None]]]) -> None:
        """Rows (tag id, bucket, value), ordered by tag and bucket, into ``out`` with the tags' types."""
        current = -1
        series: list[tuple[int, Value | None]] = []
        convert: Any = None
        for tag_id, b, x in rows:
            if tag_id != current:
                current = tag_id
                path, kind = tags[tag_id]
                series = out[path]
                if agg == "count" or (agg == "sum" and kind != FLOAT):
                    convert = int
                elif agg in ("min", "max", "first", "last") and kind in (INT, BOOL):
                    convert = bool if kind == BOOL else int
                else:
                    convert = None
            series.append((start + b * interval_ms, x if convert is None else convert(x)))

    def latest(self, tags: Sequence[str] | None = None) -> dict[str, Point]:
        """Last value of each tag (all tags when None); tags without a value are left out.

        Read from the ``latest`` table, which every node writing to this database updates;
        a snapshot is reused for ``latest_ttl_s`` unless this instance wrote meanwhile."""
        with self._cache_lock:
            snapshot, gen = self._latest, self._latest_gen
            fresh = snapshot is not None and time.monotonic() - self._latest_at < self.latest_ttl_s
        if not fresh:
            snapshot = self._read_latest()
            with self._cache_lock:
                if self._latest_gen == gen:
                    self._latest, self._latest_at = snapshot, time.monotonic()
        assert snapshot is not None
        if tags is None:
            return dict(snapshot)
        return {t: p for t in tags if (p := snapshot.get(t)) is not None}

    def _read_latest(self) -> dict[str, Point]:
        with self._conn() as conn:
            rows = conn.execute("SELECT tag_id, ts, v, s, q FROM latest").fetchall()
        if any(tag_id not in self._paths for tag_id, *_ in rows):
            self._load_tags()  # tags registered by another node
        paths, types = self._paths, self._types
        out = {}
        for tag_id, ts, v, s, q in rows:
            if tag_id in paths:
                kind = types[tag_id]
                out[paths[tag_id]] = Point(paths[tag_id], ts, s if kind == STRING else _typed(v, kind),
                                           QUALITY_NAMES[q])
        return out

    # -- maintenance --------------------------------------------------------------------

    def apply_retention(self, now: int) -> dict[str, int]:
        """Roll whole days of raw numeric points older than ``rollup_after_days`` up into
        1-minute rows (bad quality left out) and drop them from raw; drop whole days (raw,
        strings, rollups) older than ``retention_days``. One node at a time does it."""
        rollup_before = now - self.rollup_after_days * DAY_MS
        drop_before = now - self.retention_days * DAY_MS
        counts = {"raw_deleted": 0, "rollup_rows_added": 0, "rollup_rows_dropped": 0, "string_points_dropped": 0}
        with self._conn() as conn:
            raw_days = self._day_parts(conn, "points")
            to_roll = [p for p in raw_days if drop_before < p[2] <= rollup_before]
            # Rollup partitions first, in a short transaction of their own (creating one locks ``rollups``).
            self._ensure_partitions(conn, {("rollups", lo // DAY_MS) for _, lo, _ in to_roll})
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '10s'")
                conn.execute(self._lock_sql(_LOCK_RETENTION))
                drops: list[tuple[str, str, int, int]] = []  # (table, relation, start, end)
                for name, lo, hi in self._day_parts(conn, "points"):  # again: another node may have been first
                    if hi <= rollup_before or hi <= drop_before:
                        # SHARE: late points for this day wait until it is gone, rather than be lost.
                        conn.execute(f"LOCK TABLE {name} IN SHARE MODE")
                        if hi <= drop_before:
                            raw = self._count(conn, "points", lo, hi)
                        else:
                            raw, added = conn.execute(_ROLLUP_SQL, {"lo": lo, "hi": hi}).fetchone()  # type: ignore[misc]
                            counts["rollup_rows_added"] += added
                        counts["raw_deleted"] += raw
                        drops.append(("points", name, lo, hi))
                for table, key in (("rollups", "rollup_rows_dropped"), ("spoints", "string_points_dropped")):
                    for name, lo, hi in self._day_parts(conn, table):
                        if hi <= drop_before:
                            conn.execute(f"LOCK TABLE {name} IN SHARE MODE")
                            counts[key] += self._count(conn, table, lo, hi)
                            drops.append((table, name, lo, hi))
                for table, name, lo, hi in drops:
                    if self.layout == "timescaledb":
                        conn.execute("SELECT drop_chunks(%s::regclass, older_than => %s::bigint, "
                                     "newer_than => %s::bigint)", (table, hi, lo))
                    else:
                        conn.execute(f"DROP TABLE {name}")
                conn.execute(_COUNTS_SQL, (self._node, -counts["raw_deleted"], -counts["string_points_dropped"],
                                           counts["rollup_rows_added"] - counts["rollup_rows_dropped"]))
            with self._parts_lock:
                if self._parts is not None:
                    self._parts -= {(t, lo // DAY_MS) for t, _, lo, _ in drops}
        return counts

    @staticmethod
    def _count(conn: psycopg.Connection, table: str, lo: int, hi: int) -> int:
        row = conn.execute(f"SELECT count(*) FROM {table} WHERE ts >= %s AND ts < %s", (lo, hi)).fetchone()
        return row[0]  # type: ignore[index]

    def stats(self) -> dict:
        """Counters: accepted, rejected (by reason), duplicates, rows; ``available`` False (and
        rows None) while the database cannot be reached."""
        try:
            with self._conn() as conn:
                raw, strings, rollups = conn.execute(
                    "SELECT coalesce(sum(raw), 0)::bigint, coalesce(sum(strings), 0)::bigint, "
                    "coalesce(sum(rollups), 0)::bigint FROM counts").fetchone()  # type: ignore[misc]
            rows: dict | None = {"raw": raw, "strings": strings, "rollups": rollups}
        except HistorianUnavailable:
            rows = None
        with self._stats_lock:
            return {
                "accepted": self._accepted,
                "rejected": dict(self._rejected),
                "rejected_total": sum(self._rejected.values()),
                "duplicates": self._duplicates,
                "rows": rows,
                "tags": len(self._writable),
                "last_rejections": list(self._last_rejections),
                "backend": "postgresql",
                "layout": self.layout,
                "available": rows is not None,
                "unavailable_errors": self._unavailable,
            }

    def close(self) -> None:
        with self._idle_lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

