"""The query frame: what a question asks, independent of SQL dialect.

The parser fills a frame; the SQL builder turns it into one SELECT; a follow-up question
("那2月呢?", "only line L1") starts from the previous frame and replaces what it names.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date

from zhizao.copilot.sql.schema import Column


@dataclass
class Measure:
    """``func`` is sum | avg | max | min | count | count_distinct | ratio | share | metric | per."""

    func: str
    column: Column | None = None
    denominator: Column | None = None  # ratio: SUM(column)/SUM(denominator); per: across tables
    denominator_date: Column | None = None  # per: the denominator table's date column
    sql: str | None = None  # glossary metric expression
    table: str | None = None
    label: str = ""


@dataclass
class Filter:
    column: Column
    op: str  # = | in | > | >= | < | <= | <>
    values: list
    having: bool = False  # compare the aggregated measure (HAVING) instead of rows


@dataclass
class Group:
    column: Column
    bucket: str | None = None  # day | week | month | quarter | year | hour for temporal columns


@dataclass
class Frame:
    table: str
    measures: list[Measure] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    date_column: Column | None = None
    date_start: date | None = None
    date_end: date | None = None  # exclusive
    order: str | None = None  # "measure" | "group"
    descending: bool = False
    limit: int | None = None
    listing: list[Column] = field(default_factory=list)  # plain SELECT of these columns (no aggregate)
    lang: str = "en"
    question: str = ""

    def copy(self) -> Frame:
        return copy.deepcopy(self)
