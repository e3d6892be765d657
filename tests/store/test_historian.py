"""Behaviour every historian backend shares: each test runs on DuckDB and on PostgreSQL."""

from __future__ import annotations

import math
import threading
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import pytest
from tests.store.pg_helpers import historian_url, schema_prefix

from zhizao.core.clock import FixedClock
from zhizao.store.duckdb_historian import DAY_MS, MINUTE_MS, DuckDBHistorian
from zhizao.store.historian import REJECT_REASONS, Point, open_historian
from zhizao.store.postgres_historian import PostgresHistorian

NOW = 1_750_000_020_000  # 2025-06-15T15:07:00Z, a whole minute
T0 = NOW - 3_600_000  # an hour ago, a whole minute


@dataclass
class Tag:
    path: str
    data_type: str = "float"


TAGS = [Tag("p/l/m/temp"), Tag("p/l/m/count", "int"), Tag("p/l/m/run", "bool"), Tag("p/l/m/state", "string"),
        Tag("p/l/m/speed")]


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.services)])
def backend(request) -> str:
    return request.param


@pytest.fixture
def open_hist(backend, tmp_path):
    """``open_hist(name="main", now=NOW, register=True, **kw)``: a historian on the store called
    ``name`` (a DuckDB file, or a PostgreSQL schema); the same name opens the same store again."""
    with schema_prefix() if backend == "postgresql" else nullcontext("") as prefix:
        opened = []

        def factory(name="main", now=NOW, register=True, **kw):
            if backend == "duckdb":
                h = DuckDBHistorian(tmp_path / f"{name}.duckdb", clock=FixedClock(now), **kw)
            else:
                h = PostgresHistorian(historian_url(f"{prefix}_{name}"), clock=FixedClock(now), **kw)
            if register:
                h.register_tags(TAGS)
            opened.append(h)
            return h

        yield factory
        for h in opened:
            h.close()


@pytest.fixture
def hist(open_hist):
    return open_hist()


# -- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize(("point", "reason", "detail"), [
    ({"tag": "a/b/c", "ts": NOW, "v": 1.0}, "unknown_tag", "tag: unknown tag 'a/b/c'"),
    ({"tag": "p/l/m/temp", "ts": NOW, "v": math.nan}, "non_finite", "v: nan is not a finite number"),
    ({"tag": "p/l/m/temp", "ts": NOW, "v": math.inf}, "non_finite", "v: inf is not a finite number"),
    ({"tag": "p/l/m/count", "ts": NOW, "v": -math.inf}, "non_finite", "v: -inf is not a finite number"),
    ({"tag": "p/l/m/temp", "ts": NOW, "v": "abc"}, "wrong_type", "v: expected float, got str 'abc'"),
    ({"tag": "p/l/m/temp", "ts": NOW, "v": True}, "wrong_type", "v: expected float, got bool True"),
    ({"tag": "p/l/m/temp", "ts": NOW, "v": None}, "wrong_type", "v: expected float, got None"),
    ({"tag": "p/l/m/count", "ts": NOW, "v": 1.5}, "wrong_type",
     "v: expected int, got non-integral float 1.5"),
    ({"tag": "p/l/m/count", "ts": NOW, "v": "3"}, "wrong_type", "v: expected int, got str '3'"),
    ({"tag": "p/l/m/run", "ts": NOW, "v": 1}, "wrong_type", "v: expected bool, got int 1"),
    ({"tag": "p/l/m/run", "ts": NOW, "v": "true"}, "wrong_type", "v: expected bool, got str 'true'"),
    ({"tag": "p/l/m/state", "ts": NOW, "v": 3}, "wrong_type", "v: expected string, got int 3"),
    ({"tag": "p/l/m/temp", "ts": 946_684_799_999, "v": 1.0}, "bad_timestamp",
     "ts: 1999-12-31T23:59:59.999Z is before 2000-01-01"),
    ({"tag": "p/l/m/temp", "ts": NOW + DAY_MS + 1, "v": 1.0}, "bad_timestamp",
     "more than 1 day ahead of the platform clock"),
    ({"tag": "p/l/m/temp", "ts": "yesterday", "v": 1.0}, "bad_timestamp", "ts: cannot read 'yesterday'"),
    ({"tag": "p/l/m/temp", "ts": True, "v": 1.0}, "bad_timestamp", "got bool"),
    ({"tag": "p/l/m/temp", "ts": [NOW], "v": 1.0}, "bad_timestamp", "got list"),
    ({"tag": "p/l/m/temp", "ts": NOW, "v": 1.0, "q": "ok"}, "bad_quality",
     "q: 'ok' is not one of good, bad, uncertain"),
    ({"tag": "p/l/m/temp", "ts": NOW, "v": 1.0, "q": None}, "bad_quality", "q: None"),
    ({"tag": "p/l/m/temp", "v": 1.0}, "malformed", "missing key 'ts'"),
    ({"ts": NOW}, "malformed", "missing key 'tag', 'v'"),
    ({"tag": 7, "ts": NOW, "v": 1.0}, "malformed", "tag: expected a string, got int"),
    ("p/l/m/temp=1", "malformed", "expected a Point or a dict"),
    (None, "malformed", "got None"),
    (Point("p/l/m/temp", NOW, "x"), "wrong_type", "v: expected float, got str 'x'"),
])
def test_every_rejection_path(hist, point, reason, detail):
    result = hist.write([point])
    assert result.accepted == 0
    [rej] = result.rejected
    assert rej.index == 0
    assert rej.reason == reason and reason in REJECT_REASONS
    assert detail in rej.detail
    stats = hist.stats()
    assert stats["rejected"][reason] == 1 and stats["rejected_total"] == 1
    assert stats["last_rejections"][-1]["detail"] == rej.detail
    assert stats["rows"] == {"raw": 0, "strings": 0, "rollups": 0}
    assert hist.latest() == {}


def test_accepted_conversions(hist):
    result = hist.write([
        {"tag": "p/l/m/temp", "ts": T0, "v": 3},  # int for a float tag
        {"tag": "p/l/m/count", "ts": T0, "v": 4.0},  # integral float for an int tag
        {"tag": "p/l/m/count", "ts": T0 + 1, "v": np.int64(5)},
        {"tag": "p/l/m/temp", "ts": "2025-06-15T14:07:00.5Z", "v": np.float32(1.5)},  # ISO time
        {"tag": "p/l/m/temp", "ts": "2025-06-15T14:07:01", "v": 2.5, "q": "uncertain"},  # naive = UTC
        {"tag": "p/l/m/run", "ts": float(T0), "v": np.bool_(True)},
        Point("p/l/m/state", np.int64(T0), "running", "bad"),
    ])
    assert result.rejected == []
    assert result.accepted == 7
    assert [(p.ts, p.v, p.q) for p in hist.read_raw("p/l/m/temp", T0, NOW)] == [
        (T0, 3.0, "good"), (T0 + 500, 1.5, "good"), (T0 + 1000, 2.5, "uncertain")]
    counts = hist.read_raw("p/l/m/count", T0, NOW)
    assert [p.v for p in counts] == [4, 5] and all(type(p.v) is int for p in counts)
    assert hist.read_raw("p/l/m/run", T0, NOW) == [Point("p/l/m/run", T0, True)]
    assert hist.read_raw("p/l/m/state", T0, NOW) == [Point("p/l/m/state", T0, "running", "bad")]


def test_mixed_batch_stores_only_accepted(hist):
    result = hist.write([
        Point("p/l/m/temp", T0, 1.0),
        Point("p/l/m/temp", T0 + 1000, math.nan),
        Point("nope", T0, 1.0),
        Point("p/l/m/temp", T0 + 2000, 2.0),
        {"tag": "p/l/m/state", "ts": T0, "v": "idle"},
        {"tag": "p/l/m/state", "ts": T0 + 1, "v": 1},
    ])
    assert result.accepted == 3
    assert [(r.index, r.reason, r.tag) for r in result.rejected] == [
        (1, "non_finite", "p/l/m/temp"), (2, "unknown_tag", "nope"), (5, "wrong_type", "p/l/m/state")]
    assert [p.v for p in hist.read_raw("p/l/m/temp", T0, NOW)] == [1.0, 2.0]
    assert [p.v for p in hist.read_raw("p/l/m/state", T0, NOW)] == ["idle"]
    stats = hist.stats()
    assert stats["accepted"] == 3
    assert stats["rejected"] == {**dict.fromkeys(REJECT_REASONS, 0), "non_finite": 1, "unknown_tag": 1,
                                 "wrong_type": 1}
    assert stats["rows"] == {"raw": 2, "strings": 1, "rollups": 0}
    assert hist.latest()["p/l/m/temp"].v == 2.0


def test_last_rejections_are_bounded(hist):
    hist.write([{"tag": "x", "ts": NOW, "v": i} for i in range(250)])
    stats = hist.stats()
    assert stats["rejected"]["unknown_tag"] == 250
    assert len(stats["last_rejections"]) == 100
    assert stats["last_rejections"][-1]["index"] == 249


# -- columnar writes ----------------------------------------------------------------------

def test_write_columns_validates_each_row(hist):
    tags = ["p/l/m/temp", "p/l/m/temp", "p/l/m/state", "zz", "p/l/m/count", "p/l/m/run", "p/l/m/temp",
            "p/l/m/temp", "p/l/m/count", "p/l/m/run"]
    ts = [T0, T0 + 1, T0, T0, T0, T0, 0, NOW + 2 * DAY_MS, T0, T0]
    v = np.array([1.0, np.inf, 1, 1, 2.5, 2, 1, 1, 7, 1])
    result = hist.write_columns(tags, ts, v)
    assert result.accepted == 3
    assert [(r.index, r.reason) for r in result.rejected] == [
        (1, "non_finite"), (2, "wrong_type"), (3, "unknown_tag"), (4, "wrong_type"), (5, "wrong_type"),
        (6, "bad_timestamp"), (7, "bad_timestamp")]
    details = [r.detail for r in result.rejected]
    assert details[2] == "tag: unknown tag 'zz'"
    assert "before 2000-01-01" in details[5] and "1 day ahead" in details[6]
    assert hist.read_raw("p/l/m/count", T0, NOW)[0].v == 7
    assert hist.read_raw("p/l/m/run", T0, NOW)[0].v is True
    assert hist.stats()["rejected"]["wrong_type"] == 3


def test_write_columns_by_id_single_path_and_datetime64(hist):
    ids = hist.tag_ids(["p/l/m/temp", "p/l/m/speed", "missing"])
    assert ids[2] == -1
    result = hist.write_columns(np.array([ids[0], ids[1], 999]), np.array([T0, T0, T0]), [1.0, 2.0, 3.0],
                                q=["good", "bad", "good"])
    assert result.accepted == 2
    assert [(r.reason, r.detail) for r in result.rejected] == [("unknown_tag", "tag: unknown tag id 999")]
    assert hist.read_raw("p/l/m/speed", T0, NOW)[0].q == "bad"
    stamps = np.array([T0 + 1000, T0 + 2000], dtype="datetime64[ms]")
    assert hist.write_columns("p/l/m/temp", stamps, np.array([5, 6])).accepted == 2
    assert [p.v for p in hist.read_raw("p/l/m/temp", T0, NOW)] == [1.0, 5.0, 6.0]
    assert hist.latest(["p/l/m/temp"])["p/l/m/temp"] == Point("p/l/m/temp", T0 + 2000, 6.0)
    bools = hist.write_columns(["p/l/m/run", "p/l/m/temp"], [T0, T0], np.array([True, True]))
    assert [(r.index, r.detail) for r in bools.rejected] == [(1, "v: expected float, got bool True")]
    with pytest.raises(ValueError, match="one length"):
        hist.write_columns("p/l/m/temp", [T0], [1.0, 2.0])


# -- reads --------------------------------------------------------------------------------

def test_read_raw_range_order_and_limit(hist):
    hist.write([Point("p/l/m/temp", T0 + k * 1000, float(k)) for k in (3, 1, 2, 0, 4)])
    assert [p.v for p in hist.read_raw("p/l/m/temp", T0, T0 + 4000)] == [0.0, 1.0, 2.0, 3.0]  # end excluded
    assert [p.v for p in hist.read_raw("p/l/m/temp", T0 + 1000, NOW, limit=2)] == [1.0, 2.0]
    assert hist.read_raw("p/l/m/speed", T0, NOW) == []
    with pytest.raises(ValueError, match="tags: unknown tag 'nope'"):
        hist.read_raw("nope", T0, NOW)


@pytest.fixture
def agg_data(hist):
    # temp, 30 s buckets from T0: [1, 3 (bad, ignored), 5] | [] | [10, 20]
    hist.write([
        Point("p/l/m/temp", T0 + 20_000, 5.0),
        Point("p/l/m/temp", T0, 1.0),
        Point("p/l/m/temp", T0 + 10_000, 3.0, "bad"),
        Point("p/l/m/temp", T0 + 60_000, 10.0),
        Point("p/l/m/temp", T0 + 70_000, 20.0, "uncertain"),
        Point("p/l/m/count", T0 + 1000, 2),
        Point("p/l/m/count", T0 + 2000, 5),
        Point("p/l/m/run", T0, True),
        Point("p/l/m/run", T0 + 1000, False),
        Point("p/l/m/run", T0 + 2000, True),
        Point("p/l/m/run", T0 + 3000, True),
        Point("p/l/m/state", T0, "running"),
        Point("p/l/m/state", T0 + 5000, "down"),
        Point("p/l/m/state", T0 + 35_000, "idle"),
    ])
    return hist


@pytest.mark.parametrize(("agg", "temp", "count", "run"), [
    ("avg", [(T0, 3.0), (T0 + 60_000, 15.0)], [(T0, 3.5)], [(T0, 0.75)]),
    ("min", [(T0, 1.0), (T0 + 60_000, 10.0)], [(T0, 2)], [(T0, False)]),
    ("max", [(T0, 5.0), (T0 + 60_000, 20.0)], [(T0, 5)], [(T0, True)]),
    ("first", [(T0, 1.0), (T0 + 60_000, 10.0)], [(T0, 2)], [(T0, True)]),
    ("last", [(T0, 5.0), (T0 + 60_000, 20.0)], [(T0, 5)], [(T0, True)]),
    ("count", [(T0, 2), (T0 + 60_000, 2)], [(T0, 2)], [(T0, 4)]),
    ("sum", [(T0, 6.0), (T0 + 60_000, 30.0)], [(T0, 7)], [(T0, 3)]),
])
def test_read_agg_each_aggregate(agg_data, agg, temp, count, run):
    res = agg_data.read_agg(["p/l/m/temp", "p/l/m/count", "p/l/m/run", "p/l/m/speed"], T0, T0 + 90_000,
                            30_000, agg)
    assert res == {"p/l/m/temp": temp, "p/l/m/count": count, "p/l/m/run": run, "p/l/m/speed": []}
    if agg in ("min", "max", "first", "last"):
        assert all(type(v) is bool for _, v in res["p/l/m/run"])
        assert all(type(v) is int for _, v in res["p/l/m/count"])
    if agg == "count":
        assert all(type(v) is int for s in res.values() for _, v in s)


def test_read_agg_buckets_align_to_start_and_end_is_exclusive(agg_data):
    res = agg_data.read_agg(["p/l/m/temp"], T0 + 15_000, T0 + 70_000, 60_000, "sum")
    assert res == {"p/l/m/temp": [(T0 + 15_000, 15.0)]}  # 5 and 10; 20 is at the (excluded) end


def test_read_agg_string_tags(agg_data):
    assert agg_data.read_agg(["p/l/m/state"], T0, T0 + 60_000, 30_000, "last") == {
        "p/l/m/state": [(T0, "down"), (T0 + 30_000, "idle")]}
    assert agg_data.read_agg(["p/l/m/state"], T0, T0 + 60_000, 60_000, "first") == {
        "p/l/m/state": [(T0, "running")]}
    assert agg_data.read_agg(["p/l/m/state", "p/l/m/temp"], T0, T0 + 60_000, 60_000, "count") == {
        "p/l/m/state": [(T0, 3)], "p/l/m/temp": [(T0, 2)]}
    with pytest.raises(ValueError, match="not defined for string tags"):
        agg_data.read_agg(["p/l/m/state"], T0, NOW, 60_000, "avg")


def test_read_agg_bad_arguments(hist):
    with pytest.raises(ValueError, match="unknown tag 'x'"):
        hist.read_agg(["p/l/m/temp", "x"], T0, NOW, 60_000)
    with pytest.raises(ValueError, match="agg: 'median'"):
        hist.read_agg(["p/l/m/temp"], T0, NOW, 60_000, "median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="interval_ms"):
        hist.read_agg(["p/l/m/temp"], T0, NOW, 0)


# -- latest-value cache -------------------------------------------------------------------

def test_latest_cache(hist, backend):
    assert hist.latest() == {}
    hist.write([Point("p/l/m/temp", T0 + 1000, 1.0), Point("p/l/m/temp", T0 + 2000, 2.0, "bad"),
                Point("p/l/m/state", T0, "idle"), Point("p/l/m/count", T0, 3)])
    hist.write([Point("p/l/m/temp", T0 + 500, 9.0)])  # older: stored, but not the latest
    latest = hist.latest()
    assert latest == {"p/l/m/temp": Point("p/l/m/temp", T0 + 2000, 2.0, "bad"),
                      "p/l/m/state": Point("p/l/m/state", T0, "idle"),
                      "p/l/m/count": Point("p/l/m/count", T0, 3)}
    assert type(latest["p/l/m/count"].v) is int
    assert hist.latest(["p/l/m/state", "p/l/m/speed", "unknown"]) == {
        "p/l/m/state": Point("p/l/m/state", T0, "idle")}
    hist.write([Point("p/l/m/temp", T0 + 2000, 4.0)])
    # Same time: on DuckDB the later write wins; PostgreSQL keeps one point per (tag, ts), the first.
    assert hist.latest(["p/l/m/temp"])["p/l/m/temp"].v == (4.0 if backend == "duckdb" else 2.0)


def test_latest_survives_reopen(open_hist):
    h = open_hist()
    h.write([Point("p/l/m/temp", T0, 1.5), Point("p/l/m/run", T0, True), Point("p/l/m/state", T0, "down"),
             Point("p/l/m/temp", T0 + 1000, 2.5, "uncertain")])
    h.close()
    h = open_hist(register=False)
    assert h.latest() == {"p/l/m/temp": Point("p/l/m/temp", T0 + 1000, 2.5, "uncertain"),
                          "p/l/m/run": Point("p/l/m/run", T0, True),
                          "p/l/m/state": Point("p/l/m/state", T0, "down")}


# -- persistence --------------------------------------------------------------------------

def test_persistence_across_reopen(open_hist):
    h = open_hist()
    ids = h.tag_ids([t.path for t in TAGS])
    h.write([Point("p/l/m/temp", T0, 1.0), Point("p/l/m/state", T0, "running")])
    h.close()

    h = open_hist(register=False)
    assert list(h.tag_ids([t.path for t in TAGS])) == list(ids)
    # Registered tags stay writable after a restart.
    assert h.write([Point("p/l/m/temp", T0 + 1000, 2.0)]).accepted == 1
    assert [p.v for p in h.read_raw("p/l/m/temp", T0, NOW)] == [1.0, 2.0]
    assert h.read_raw("p/l/m/state", T0, NOW) == [Point("p/l/m/state", T0, "running")]

    # Re-registering keeps ids; a tag left out is no longer writable but its history stays readable.
    h.register_tags([Tag("p/l/m/temp"), Tag("p/l/m/new", "int")])
    assert h.tag_ids(["p/l/m/temp"])[0] == ids[0]
    assert h.tag_ids(["p/l/m/new"])[0] == max(ids) + 1
    assert h.write([Point("p/l/m/state", T0 + 1, "idle")]).rejected[0].reason == "unknown_tag"
    assert len(h.read_raw("p/l/m/state", T0, NOW)) == 1
    h.close()

    h = open_hist(register=False)
    assert h.stats()["tags"] == 2
    assert h.write([Point("p/l/m/new", T0, 1)]).accepted == 1


def test_register_rejects_unknown_data_type(hist):
    with pytest.raises(ValueError, match="data_type of tag 'x/y'"):
        hist.register_tags([Tag("x/y", "complex")])


def test_open_historian_by_url(tmp_path):
    h = open_historian(f"duckdb:///{tmp_path}/x.duckdb", clock=FixedClock(NOW))
    assert isinstance(h, DuckDBHistorian) and h.path == f"{tmp_path}/x.duckdb"
    h.close()
    mem = open_historian("duckdb:///:memory:")
    assert isinstance(mem, DuckDBHistorian) and mem.path == ":memory:"
    mem.close()
    with pytest.raises(ValueError, match="unsupported scheme"):
        open_historian("influx://x")


def test_closed_historian_refuses_writes(hist):
    hist.close()
    with pytest.raises(RuntimeError, match="closed"):
        hist.write([Point("p/l/m/temp", T0, 1.0)])


# -- retention ----------------------------------------------------------------------------

def test_retention_downsamples_and_drops(open_hist):
    day0 = NOW - 10 * DAY_MS  # older than rollup_after_days=7, newer than retention_days=30
    old = NOW - 40 * DAY_MS  # older than retention
    h = open_hist(retention_days=30, rollup_after_days=7)
    pts = [Point("p/l/m/temp", day0 + k * 10_000, float(k)) for k in range(18)]  # 3 minutes, 6 per minute
    pts.append(Point("p/l/m/temp", day0 + 5_000, 1000.0, "bad"))  # left out of aggregates
    pts += [Point("p/l/m/count", day0 + k * 20_000, k) for k in range(6)]
    pts += [Point("p/l/m/temp", old, 1.0), Point("p/l/m/state", old, "off"), Point("p/l/m/state", day0, "on")]
    pts += [Point("p/l/m/temp", NOW - 1000, 42.0)]  # recent: stays raw
    assert h.write(pts).rejected == []
    tags = ["p/l/m/temp", "p/l/m/count"]
    before = {agg: h.read_agg(tags, day0, day0 + 180_000, 60_000, agg) for agg in
              ("avg", "min", "max", "first", "last", "count", "sum")}
    hourly = h.read_agg(["p/l/m/temp"], day0, day0 + 3_600_000, 3_600_000, "avg")

    counts = h.apply_retention(NOW)
    assert counts == {"raw_deleted": 26, "rollup_rows_added": 5, "rollup_rows_dropped": 0,
                      "string_points_dropped": 1}
    assert h.stats()["rows"] == {"raw": 1, "strings": 1, "rollups": 5}
    assert h.read_raw("p/l/m/temp", day0, NOW - DAY_MS) == []
    for agg, expected in before.items():
        assert h.read_agg(tags, day0, day0 + 180_000, 60_000, agg) == expected, agg
    assert before["avg"]["p/l/m/temp"] == [(day0, 2.5), (day0 + 60_000, 8.5), (day0 + 120_000, 14.5)]
    assert before["sum"]["p/l/m/count"] == [(day0, 3), (day0 + 60_000, 12)]
    assert h.read_agg(["p/l/m/temp"], day0, day0 + 3_600_000, 3_600_000, "avg") == hourly == {
        "p/l/m/temp": [(day0, 8.5)]}
    # A range spanning rollups and raw data is answered from both.
    assert h.read_agg(["p/l/m/temp"], day0, NOW, NOW - day0, "count") == {"p/l/m/temp": [(day0, 19)]}
    assert h.read_raw("p/l/m/state", old, NOW) == [Point("p/l/m/state", day0, "on")]
    assert h.latest(["p/l/m/temp"])["p/l/m/temp"].v == 42.0
    h.close()

    # Rollups persist; later, past retention, they are dropped as well.
    h = open_hist(register=False, retention_days=30, rollup_after_days=7)
    assert h.read_agg(tags, day0, day0 + 180_000, 60_000, "avg") == before["avg"]
    counts = h.apply_retention(day0 + 31 * DAY_MS)
    assert counts["rollup_rows_dropped"] == 5 and counts["string_points_dropped"] == 1
    assert h.read_agg(tags, day0, day0 + 180_000, 60_000, "avg") == {t: [] for t in tags}


def test_retention_is_idempotent(hist):
    hist.write([Point("p/l/m/temp", NOW - 8 * DAY_MS, 1.0)])
    assert hist.apply_retention(NOW)["rollup_rows_added"] == 1
    assert hist.apply_retention(NOW) == {"raw_deleted": 0, "rollup_rows_added": 0, "rollup_rows_dropped": 0,
                                         "string_points_dropped": 0}


def test_rollup_minute_boundaries(open_hist):
    h = open_hist(rollup_after_days=1)
    base = NOW - 2 * DAY_MS
    h.write([Point("p/l/m/temp", base + 59_999, 1.0), Point("p/l/m/temp", base + MINUTE_MS, 3.0)])
    assert h.apply_retention(NOW)["rollup_rows_added"] == 2
    assert h.read_agg(["p/l/m/temp"], base, base + 2 * MINUTE_MS, MINUTE_MS, "max") == {
        "p/l/m/temp": [(base, 1.0), (base + MINUTE_MS, 3.0)]}


# -- concurrency --------------------------------------------------------------------------

def test_reads_from_other_threads_while_writing(hist):
    errors: list[Exception] = []
    done = threading.Event()

    def reader() -> None:
        try:
            while not done.is_set():
                hist.read_agg(["p/l/m/temp"], T0, NOW, 60_000)
                hist.latest()
                hist.stats()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for k in range(50):
        hist.write_columns("p/l/m/temp", T0 + np.arange(k * 100, (k + 1) * 100), np.ones(100))
    done.set()
    for t in threads:
        t.join()
    assert errors == []
    assert hist.read_agg(["p/l/m/temp"], T0, NOW, DAY_MS, "count") == {"p/l/m/temp": [(T0, 5000)]}
