"""Date phrases relative to --now (Chinese and English)."""

from __future__ import annotations

from datetime import date

import pytest

from zhizao.copilot.sql.dates import find_bucket, find_dates

NOW = date(2024, 7, 17)  # a Wednesday


@pytest.mark.parametrize("text, start, end", [
    ("2024年3月的产量", date(2024, 3, 1), date(2024, 4, 1)),
    ("output in February 2024", date(2024, 2, 1), date(2024, 3, 1)),
    ("2024年上半年", date(2024, 1, 1), date(2024, 7, 1)),
    ("去年下半年", date(2023, 7, 1), date(2024, 1, 1)),
    ("second half of 2023", date(2023, 7, 1), date(2024, 1, 1)),
    ("2024年第二季度", date(2024, 4, 1), date(2024, 7, 1)),
    ("Q1 2024", date(2024, 1, 1), date(2024, 4, 1)),
    ("上个月", date(2024, 6, 1), date(2024, 7, 1)),
    ("last month", date(2024, 6, 1), date(2024, 7, 1)),
    ("本月", date(2024, 7, 1), date(2024, 8, 1)),
    ("上周", date(2024, 7, 8), date(2024, 7, 15)),
    ("last week", date(2024, 7, 8), date(2024, 7, 15)),
    ("this year", date(2024, 1, 1), date(2025, 1, 1)),
    ("去年", date(2023, 1, 1), date(2024, 1, 1)),
    ("昨天", date(2024, 7, 16), date(2024, 7, 17)),
    ("最近7天", date(2024, 7, 11), date(2024, 7, 18)),
    ("last 3 months", date(2024, 4, 18), date(2024, 7, 18)),
    ("2024-03-05", date(2024, 3, 5), date(2024, 3, 6)),
    ("2024年3月5日", date(2024, 3, 5), date(2024, 3, 6)),
    ("between 2024-01-01 and 2024-01-15", date(2024, 1, 1), date(2024, 1, 16)),
    ("2024年1月到3月", date(2024, 1, 1), date(2024, 4, 1)),
    ("from March to May 2024", date(2024, 3, 1), date(2024, 6, 1)),
    ("2020年之前安装的", None, date(2020, 1, 1)),
    ("before 2020", None, date(2020, 1, 1)),
    ("after 2022", date(2023, 1, 1), None),
    ("2023年以来", date(2023, 1, 1), None),
    ("3月", date(2024, 3, 1), date(2024, 4, 1)),  # no year: --now's year
])
def test_date_phrases(text, start, end):
    found = find_dates(text, NOW)
    assert len(found) == 1, found
    assert (found[0].start, found[0].end) == (start, end)


def test_a_month_without_year_takes_the_year_of_the_conversation():
    (found,) = find_dates("那2月呢?", NOW, default_year=2023)
    assert (found.start, found.end) == (date(2023, 2, 1), date(2023, 3, 1))


def test_words_that_look_like_months_are_not_dates():
    assert find_dates("what may be the cause", NOW) == []
    assert find_dates("CNC-01 的产量", NOW) == []


@pytest.mark.parametrize("text, bucket", [("每天的产量", "day"), ("daily output", "day"), ("每个月的产量趋势", "month"),
                                          ("output by month", "month"), ("按季度", "quarter"), ("yearly", "year"),
                                          ("weekly downtime", "week"), ("哪个月最高", "month")])
def test_time_buckets(text, bucket):
    assert find_bucket(text)[0] == bucket
