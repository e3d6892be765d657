"""The historian interface: every time-series backend implements ``Historian``.

Timestamps are epoch milliseconds (UTC). Values are float, int, bool or str,
as the tag's ``data_type`` says. The embedded default is DuckDB
(``duckdb:///path`` or ``duckdb:///:memory:``); PostgreSQL (``postgresql://...``) is
the scale-out backend. ``open_historian`` picks one by URL scheme.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Value = float | int | bool | str
Quality = Literal["good", "bad", "uncertain"]
Agg = Literal["avg", "min", "max", "last", "first", "count", "sum"]
AGGS: tuple[str, ...] = ("avg", "min", "max", "last", "first", "count", "sum")


@dataclass(slots=True)
class Point:
    tag: str
    ts: int
    v: Value
    q: Quality = "good"


@dataclass(slots=True)
class Rejection:
    index: int  # position in the submitted batch
    tag: str
    reason: str  # one of REJECT_REASONS
    detail: str


REJECT_REASONS = ("unknown_tag", "non_finite", "wrong_type", "bad_timestamp", "bad_quality", "malformed")


class HistorianUnavailable(Exception):
    """The historian cannot take writes now (database down, connection lost); retry later."""


@dataclass
class WriteResult:
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)


class TagSpec(Protocol):
    """What the historian needs of a tag (``zhizao.assets.model.Tag`` fits)."""

    path: str
    data_type: str


class Historian(Protocol):
    def register_tags(self, tags: Iterable[TagSpec]) -> None:
        """Declare the tags that may be written (replaces the previous set)."""

    def write(self, points: Sequence[Point | dict]) -> WriteResult:
        """Validate and store a batch; bad points are rejected with a reason, never raised."""

    def read_raw(self, tag: str, start: int, end: int, limit: int = 100_000) -> list[Point]:
        """Points of one tag with start <= ts < end, oldest first (``ValueError`` for an unknown tag)."""

    def read_agg(self, tags: Sequence[str], start: int, end: int, interval_ms: int,
                 agg: Agg = "avg") -> dict[str, list[tuple[int, Value | None]]]:
        """Per tag, (bucket start, aggregate) for each non-empty interval in [start, end).

        Buckets are aligned to ``start``; bad-quality points are left out; periods
        already downsampled are answered from 1-minute rollups. Unknown tags raise
        ``ValueError``.
        """

    def latest(self, tags: Sequence[str] | None = None) -> dict[str, Point]:
        """Last value of each tag (all tags when None), from the latest-value cache."""

    def apply_retention(self, now: int) -> dict[str, int]:
        """Downsample old raw data to rollups and drop data past retention; returns counts."""

    def stats(self) -> dict:
        """Counters: accepted, rejected (by reason), rows, last rejections."""

    def close(self) -> None: ...


def open_historian(url: str, *, clock=None, retention_days: int = 90,
                   rollup_after_days: int = 7) -> Historian:
    """Open the historian named by ``url``: ``duckdb:///file``, ``duckdb:///:memory:`` or
    ``postgresql://user@host:port/db[?schema=zhizao&timescaledb=auto]`` (also ``postgres://``
    and SQLAlchemy's ``postgresql+psycopg://``)."""
    if url.startswith("duckdb://"):
        from zhizao.store.duckdb_historian import DuckDBHistorian

        return DuckDBHistorian(url.removeprefix("duckdb://").removeprefix("/") or ":memory:",
                               clock=clock, retention_days=retention_days,
                               rollup_after_days=rollup_after_days)
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from zhizao.store.postgres_historian import PostgresHistorian

        return PostgresHistorian(url, clock=clock, retention_days=retention_days,
                                 rollup_after_days=rollup_after_days)
    raise ValueError(f"historian_url: unsupported scheme in {url!r} "
                     "(expected duckdb:///path or postgresql://host/db)")
