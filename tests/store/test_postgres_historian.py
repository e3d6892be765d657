"""What only the PostgreSQL historian does: de-duplication, day partitions, nodes sharing one
database, marks, and losing and regaining the database. The behaviour it shares with DuckDB
is tested on both in test_historian.py."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
from tests.store.pg_helpers import PG_URL, admin, historian_url, schema_prefix

from zhizao.core.clock import FixedClock
from zhizao.store.duckdb_historian import DAY_MS
from zhizao.store.historian import HistorianUnavailable, Point, open_historian
from zhizao.store.postgres_historian import PostgresHistorian, parse_url

pytestmark = pytest.mark.services

NOW = 1_750_000_020_000  # 2025-06-15T15:07:00Z
T0 = NOW - 3_600_000
DAY0 = NOW // DAY_MS * DAY_MS  # 2025-06-15T00:00:00Z


@dataclass
class Tag:
    path: str
    data_type: str = "float"


TAGS = [Tag("a/temp"), Tag("a/count", "int"), Tag("a/state", "string")]


@pytest.fixture
def prefix():
    with schema_prefix() as p:
        yield p


@pytest.fixture
def open_pg(prefix):
    """``open_pg(name="main", **kw)``: a historian on schema ``<prefix>_<name>`` with TAGS registered."""
    opened = []

    def factory(name="main", now=NOW, **kw):
        h = PostgresHistorian(historian_url(f"{prefix}_{name}"), clock=FixedClock(now), **kw)
        h.register_tags(TAGS)
        opened.append(h)
        return h

    yield factory
    for h in opened:
        h.close()


def partitions(schema: str) -> set[str]:
    with admin() as conn:
        rows = conn.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                            (schema,))
        return {name for (name,) in rows}


def wait_gone(application_name: str) -> None:
    """Terminate the server processes of ``application_name`` and wait until they are gone."""
    with admin() as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                     (application_name,))
        deadline = time.monotonic() + 10
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                           (application_name,)).fetchone()[0]:
            assert time.monotonic() < deadline, "terminated backends did not exit"
            time.sleep(0.05)


def test_duplicates_are_dropped_and_counted(open_pg):
    h = open_pg()
    batch = [Point("a/temp", T0, 1.0), Point("a/temp", T0 + 1000, 2.0), Point("a/state", T0, "on")]
    assert h.write(batch).accepted == 3
    # A replay (e.g. after a crash before the acknowledgement) stores nothing new.
    replay = h.write(batch + [Point("a/temp", T0 + 2000, 3.0)])
    assert replay.accepted == 4 and replay.rejected == []
    # Within one batch too, one point per (tag, ts) is kept: the first.
    h.write_columns("a/count", [T0, T0], [7, 8])
    stats = h.stats()
    assert stats["duplicates"] == 4
    assert stats["rows"] == {"raw": 4, "strings": 1, "rollups": 0}
    assert [p.v for p in h.read_raw("a/temp", T0, NOW)] == [1.0, 2.0, 3.0]
    assert h.read_raw("a/count", T0, NOW) == [Point("a/count", T0, 7)]
    with admin() as conn:
        total, distinct = conn.execute(f"SELECT count(*), count(DISTINCT (tag_id, ts)) FROM {h.schema}.points"
                                       ).fetchone()
    assert total == distinct == 4


def test_writer_creates_day_partitions_ahead_and_retention_drops_whole_days(open_pg, prefix):
    h = open_pg(retention_days=5, rollup_after_days=1)
    d = DAY0 - 4 * DAY_MS
    assert h.write([Point("a/temp", d + 10, 1.0), Point("a/temp", d + 2 * DAY_MS + 10, 2.0),
                    Point("a/state", d + 5, "x")]).rejected == []
    day = time.strftime("%Y%m%d", time.gmtime(d / 1000))
    names = partitions(f"{prefix}_main")
    # The days written and the day after the last one, per table.
    assert {n for n in names if n.startswith("points_")} == {
        f"points_{time.strftime('%Y%m%d', time.gmtime((d + k * DAY_MS) / 1000))}" for k in (0, 2, 3)}
    assert {n for n in names if n.startswith("spoints_")} == {
        f"spoints_{day}", f"spoints_{time.strftime('%Y%m%d', time.gmtime((d + DAY_MS) / 1000))}"}

    counts = h.apply_retention(NOW)  # whole days before NOW - 1 day are rolled up and their raw days dropped
    assert counts == {"raw_deleted": 2, "rollup_rows_added": 2, "rollup_rows_dropped": 0,
                      "string_points_dropped": 0}
    names = partitions(f"{prefix}_main")
    yesterday = time.strftime("%Y%m%d", time.gmtime((DAY0 - DAY_MS) / 1000))
    assert {n for n in names if n.startswith("points_")} == {f"points_{yesterday}"}  # not yet a whole day old
    assert f"rollups_{day}" in names and f"spoints_{day}" in names
    assert h.read_agg(["a/temp"], d, NOW, DAY_MS, "sum") == {"a/temp": [(d, 1.0), (d + 2 * DAY_MS, 2.0)]}

    counts = h.apply_retention(NOW + 2 * DAY_MS)  # now the first day is past retention
    assert counts == {"raw_deleted": 0, "rollup_rows_added": 0, "rollup_rows_dropped": 1,
                      "string_points_dropped": 1}
    assert f"rollups_{day}" not in partitions(f"{prefix}_main")
    assert h.stats()["rows"] == {"raw": 0, "strings": 0, "rollups": 1}


def test_nodes_sharing_a_database_see_one_latest_table(open_pg):
    a = open_pg(latest_ttl_s=0)
    b = open_pg(latest_ttl_s=0)
    a.write([Point("a/temp", T0, 1.0), Point("a/state", T0, "idle")])
    assert b.latest() == {"a/temp": Point("a/temp", T0, 1.0), "a/state": Point("a/state", T0, "idle")}
    b.write([Point("a/temp", T0 + 1000, 2.0)])
    a.write([Point("a/temp", T0 + 500, 9.0)])  # older than b's: stored, not the latest
    assert a.latest(["a/temp"]) == b.latest(["a/temp"]) == {"a/temp": Point("a/temp", T0 + 1000, 2.0)}
    assert a.stats()["rows"] == b.stats()["rows"] == {"raw": 3, "strings": 1, "rollups": 0}
    # A tag registered by another node is known once it shows up in the latest values.
    b.register_tags([*TAGS, Tag("a/new", "int")])
    b.write([Point("a/new", T0, 5)])
    assert a.latest(["a/new"]) == {"a/new": Point("a/new", T0, 5)}


def test_latest_snapshot_is_reused_until_this_node_writes(open_pg):
    a = open_pg(latest_ttl_s=3600)
    b = open_pg(latest_ttl_s=0)
    a.write([Point("a/temp", T0, 1.0)])
    assert a.latest()["a/temp"].v == 1.0
    b.write([Point("a/temp", T0 + 1, 2.0)])
    assert a.latest()["a/temp"].v == 1.0  # a's snapshot, younger than its ttl
    a.write([Point("a/count", T0, 1)])  # a's own write refreshes it
    assert a.latest()["a/temp"].v == 2.0


def test_concurrent_nodes_create_partitions_without_conflict(open_pg):
    nodes = [open_pg() for _ in range(3)]
    errors: list[Exception] = []

    def run(h: PostgresHistorian, k: int) -> None:
        try:
            for day in range(8):  # each batch opens a new day (and the one after) on every node
                ts = DAY0 - (20 - day) * DAY_MS + k
                assert h.write([Point("a/temp", ts, float(k)), Point("a/state", ts, "s")]).rejected == []
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(h, k)) for k, h in enumerate(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert nodes[0].stats()["rows"] == {"raw": 24, "strings": 24, "rollups": 0}


def test_late_point_for_a_day_another_node_dropped(open_pg):
    a = open_pg()
    b = open_pg(rollup_after_days=7)
    old = NOW - 10 * DAY_MS
    a.write([Point("a/temp", old, 1.0)])
    assert b.apply_retention(NOW)["rollup_rows_added"] == 1
    # a still believes the day's partition exists; the write finds out and creates it again.
    assert a.write([Point("a/temp", old + 60_000, 3.0)]).accepted == 1
    assert a.read_agg(["a/temp"], old, old + 120_000, 120_000, "avg") == {"a/temp": [(old, 2.0)]}


def test_marks_are_written_with_the_points(open_pg):
    h = open_pg()
    assert h.mark("spool:x") is None
    h.write_marked([Point("a/temp", T0, 1.0)], "spool:x", 5)
    assert h.mark("spool:x") == 5
    result = h.write_marked([Point("nope", T0, 1.0)], "spool:x", 6)  # every point rejected: mark still moves
    assert result.rejected[0].reason == "unknown_tag" and h.mark("spool:x") == 6
    h.write_marked([Point("a/temp", T0, 1.0)], "spool:x", 7)  # a duplicate
    assert h.mark("spool:x") == 7 and h.stats()["rows"]["raw"] == 1


def test_stale_connections_after_the_server_closed_them_are_replaced(open_pg, prefix):
    h = open_pg()
    h.write([Point("a/temp", T0, 1.0)])
    h.latest()
    wait_gone(f"zhizao-historian:{prefix}_main")
    assert h.write([Point("a/temp", T0 + 1, 2.0)]).accepted == 1
    assert len(h.read_raw("a/temp", T0, NOW)) == 2
    assert h.stats()["unavailable_errors"] == 0


def test_write_raises_unavailable_while_the_database_refuses_and_recovers(prefix):
    role = f"{prefix}_node"
    with admin() as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT CREATE ON DATABASE {conn.info.dbname} TO {role}")
    url = PG_URL.replace("://postgres@", f"://{role}@")
    assert url != PG_URL, "ZHIZAO_TEST_POSTGRES_URL must name the user postgres for this test"
    h = PostgresHistorian(historian_url(f"{prefix}_u", url), clock=FixedClock(NOW))
    try:
        h.register_tags(TAGS)
        assert h.write([Point("a/temp", T0, 1.0)]).accepted == 1
        with admin() as conn:
            conn.execute(f"ALTER ROLE {role} CONNECTION LIMIT 0")
        wait_gone(f"zhizao-historian:{prefix}_u")

        batch = [Point("a/temp", T0 + 1000, 2.0), Point("nope", T0, 1.0)]
        with pytest.raises(HistorianUnavailable, match=r"historian database .*too many connections"):
            h.write(batch)
        stats = h.stats()
        assert stats["available"] is False and stats["rows"] is None
        assert stats["accepted"] == 1 and stats["rejected_total"] == 0  # nothing counted for the failed batch
        with pytest.raises(HistorianUnavailable):
            h.read_raw("a/temp", T0, NOW)

        with admin() as conn:
            conn.execute(f"ALTER ROLE {role} CONNECTION LIMIT -1")
        result = h.write(batch)  # reconnects
        assert result.accepted == 1 and [r.reason for r in result.rejected] == ["unknown_tag"]
        assert [p.v for p in h.read_raw("a/temp", T0, NOW)] == [1.0, 2.0]
        assert h.stats()["available"] is True and h.stats()["unavailable_errors"] >= 2
    finally:
        h.close()
        with admin() as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_unreachable_database_raises_unavailable_on_open():
    with pytest.raises(HistorianUnavailable, match="historian database 127.0.0.1:1/test"):
        PostgresHistorian("postgresql://postgres@127.0.0.1:1/test", connect_timeout_s=2)


def test_layout_falls_back_to_native_partitions_without_timescaledb(open_pg, prefix):
    with admin() as conn:
        has_timescale = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
                                     ).fetchone()[0]
    if has_timescale:
        pytest.skip("TimescaleDB is installed here; the fallback cannot be seen")
    assert open_pg().layout == "native"
    with pytest.raises(ValueError, match="timescaledb=on but the extension is not available"):
        PostgresHistorian(historian_url(f"{prefix}_ts") + "&timescaledb=on")
    h = PostgresHistorian(historian_url(f"{prefix}_off") + "&timescaledb=off")
    try:
        assert h.layout == "native" and h.stats()["layout"] == "native"
    finally:
        h.close()


def test_urls(prefix):
    assert parse_url("postgres://u@h:5/db?schema=s1&sslmode=disable") == (
        "postgresql://u@h:5/db?sslmode=disable", "s1", "auto")
    assert parse_url("postgresql+psycopg://h/db?timescaledb=off") == ("postgresql://h/db", "zhizao", "off")
    with pytest.raises(ValueError, match="schema 'Bad-Name'"):
        parse_url("postgresql://h/db?schema=Bad-Name")
    with pytest.raises(ValueError, match="timescaledb='maybe'"):
        parse_url("postgresql://h/db?timescaledb=maybe")
    h = open_historian(historian_url(f"{prefix}_url").replace("postgresql://", "postgresql+psycopg://"),
                       clock=FixedClock(NOW), retention_days=3)
    try:
        assert isinstance(h, PostgresHistorian) and h.schema == f"{prefix}_url" and h.retention_days == 3
    finally:
        h.close()


def test_write_columns_in_bulk(open_pg):
    h = open_pg()
    ids = h.tag_ids(["a/temp", "a/count"])
    k = np.arange(20_000)
    result = h.write_columns(ids[k % 2], T0 + k // 2, (k % 100).astype(np.float64))
    assert result.accepted == 20_000 and result.rejected == []
    assert h.read_agg(["a/temp", "a/count"], T0, NOW, 3_600_000, "count") == {
        "a/temp": [(T0, 10_000)], "a/count": [(T0, 10_000)]}
    assert h.latest(["a/count"])["a/count"] == Point("a/count", T0 + 9_999, 99)
