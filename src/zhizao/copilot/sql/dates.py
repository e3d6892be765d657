"""Date phrases in Chinese and English → half-open date ranges, relative to a reference day.

``find_dates("2024年上半年各产线的不良率", now)`` → one range 2024-01-01 ≤ d < 2024-07-01, and the
span of text it came from (removed before schema linking). Time buckets (每天/monthly/按月…) are
found by ``find_bucket``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {name: i for i, names in enumerate(
    [(), ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
     ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
     ("november", "nov"), ("december", "dec")]) for name in names}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
ZH_NUM = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
          "十一": 11, "十二": 12}
_ZH_NUM_RE = "十二|十一|十|一|二|两|三|四|五|六|七|八|九"


@dataclass
class DateRange:
    """``start <= d < end`` (either side may be open). ``span`` is the text it was read from."""

    start: date | None
    end: date | None
    span: tuple[int, int]
    text: str

    def describe(self) -> str:
        if self.start and self.end:
            return f"{self.start.isoformat()} ~ {(self.end - timedelta(days=1)).isoformat()}"
        if self.start:
            return f">= {self.start.isoformat()}"
        return f"< {self.end.isoformat()}" if self.end else ""


def _num(text: str) -> int:
    return int(text) if text.isdigit() else ZH_NUM[text]


def month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


class _Finder:
    def __init__(self, text: str, now: date, default_year: int | None) -> None:
        self.text = text
        self.lower = text.lower()
        self.now = now
        self.default_year = default_year or now.year
        self.found: list[DateRange] = []
        self.taken = [False] * len(text)

    def free(self, a: int, b: int) -> bool:
        return not any(self.taken[a:b])

    def add(self, start: date | None, end: date | None, a: int, b: int) -> None:
        if start is None and end is None:
            return
        for i in range(a, b):
            self.taken[i] = True
        self.found.append(DateRange(start, end, (a, b), self.text[a:b]))

    def scan(self, pattern: str, handler, flags: int = re.IGNORECASE) -> None:
        for match in re.finditer(pattern, self.text, flags):
            if self.free(*match.span()):
                result = handler(match)
                if result is not None:
                    self.add(result[0], result[1], *match.span())


def _year_of(text: str | None, default: int) -> int:
    if not text:
        return default
    y = int(text)
    return y + 2000 if y < 100 else y


def find_dates(text: str, now: date, default_year: int | None = None) -> list[DateRange]:
    """Every date phrase in ``text``, in order of appearance; comparisons (之前/after…) open one side."""
    f = _Finder(text, now, default_year)
    years_in_text = [int(y) for y in re.findall(r"(?<!\d)(20\d\d|19\d\d)(?!\d)", text)]
    if years_in_text:
        f.default_year = years_in_text[0]
    dy = f.default_year
    # explicit ranges: 2024-01-01 到 2024-01-15 / between X and Y / 3月1日至3月15日
    iso = r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    zh_day = r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]"
    sep = r"\s*(?:到|至|~|－|-|—|and|to|through|until)\s*"

    def iso_pair(m):
        a = _day(int(m[1]), int(m[2]), int(m[3]))
        b = _day(int(m[4]), int(m[5]), int(m[6]))
        return (a, b + timedelta(days=1)) if a and b else None

    f.scan(rf"(?:between\s+|from\s+|从)?{iso}{sep}{iso}", iso_pair)

    def zh_pair(m):
        y1 = _year_of(m[1], dy)
        a = _day(y1, int(m[2]), int(m[3]))
        b = _day(_year_of(m[4], y1), int(m[5]), int(m[6]))
        return (a, b + timedelta(days=1)) if a and b else None

    f.scan(rf"从?{zh_day}{sep}{zh_day}", zh_pair)

    def zh_month_pair(m):
        y = _year_of(m[1], dy)
        a, b = _num(m[2]), _num(m[4])
        return (month_range(y, a)[0], month_range(_year_of(m[3], y), b)[1]) if 1 <= a <= 12 and 1 <= b <= 12 else None

    f.scan(rf"(?:(\d{{2,4}})年)?(\d{{1,2}}|{_ZH_NUM_RE})月?\s*(?:到|至|~|-|—)\s*(?:(\d{{2,4}})年)?"
           rf"(\d{{1,2}}|{_ZH_NUM_RE})月(?:份)?", zh_month_pair)

    def en_month_pair(m):
        y = _year_of(m[3], dy)
        return month_range(y, MONTHS[m[1].lower()])[0], month_range(y, MONTHS[m[2].lower()])[1]

    f.scan(rf"(?:from|between)\s+({_MONTH_RE})\.?\s+(?:to|and|through|until)\s+({_MONTH_RE})\.?(?:\s*,?\s*(\d{{4}}))?",
           en_month_pair)
    # single days
    f.scan(iso, lambda m: _one_day(_day(int(m[1]), int(m[2]), int(m[3]))))
    f.scan(zh_day, lambda m: _one_day(_day(_year_of(m[1], dy), int(m[2]), int(m[3]))))
    f.scan(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:\s*,?\s*(\d{{4}}))?\b",
           lambda m: _one_day(_day(_year_of(m[3], dy), MONTHS[m[1].lower()], int(m[2]))))
    f.scan(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\.?(?:\s*,?\s*(\d{{4}}))?\b",
           lambda m: _one_day(_day(_year_of(m[3], dy), MONTHS[m[2].lower()], int(m[1]))))
    # halves and quarters
    def half(year: int, second: bool) -> tuple[date, date]:
        return (date(year, 7, 1), date(year + 1, 1, 1)) if second else (date(year, 1, 1), date(year, 7, 1))

    def quarter(year: int, q: int) -> tuple[date, date] | None:
        if not 1 <= q <= 4:
            return None
        return month_range(year, 3 * q - 2)[0], month_range(year, 3 * q)[1]

    rel_year = {"今年": 0, "本年": 0, "去年": -1, "上年": -1, "前年": -2, "this year": 0, "last year": -1,
                "previous year": -1}
    rel_year_re = "|".join(rel_year)
    f.scan(rf"(?:(\d{{4}})年|({rel_year_re}))?\s*的?(上|下)半年",
           lambda m: half(_rel_year(m[1], m[2], rel_year, f), m[3] == "下"))
    f.scan(rf"(?:the\s+)?(first|second)\s+half(?:\s+of)?(?:\s+(?:the\s+)?(\d{{4}}|{rel_year_re}))?",
           lambda m: half(_rel_year(m[2] if m[2] and m[2].isdigit() else None,
                                    m[2] if m[2] and not m[2].isdigit() else None, rel_year, f), m[1] == "second"))
    f.scan(r"\b(H)([12])\s*(\d{4})?\b|\b(\d{4})\s*(H)([12])\b",
           lambda m: half(int(m[3] or m[4] or dy), (m[2] or m[6]) == "2"), flags=0)
    f.scan(rf"(?:(\d{{4}})年|({rel_year_re}))?\s*的?第?({_ZH_NUM_RE}|[1-4])季度",
           lambda m: quarter(_rel_year(m[1], m[2], rel_year, f), _num(m[3])))
    f.scan(r"\b(?:Q([1-4])\s*(?:of\s+)?(\d{4})?|(\d{4})\s*Q([1-4]))\b",
           lambda m: quarter(int(m[2] or m[3] or dy), int(m[1] or m[4])))
    f.scan(r"\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter(?:\s+of)?(?:\s+(\d{4}))?",
           lambda m: quarter(_year_of(m[2], dy), {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1,
                                                   "2nd": 2, "3rd": 3, "4th": 4}[m[1].lower()]))
    # months
    f.scan(r"(\d{4})[-/](\d{1,2})(?![-/\d])", lambda m: month_range(int(m[1]), int(m[2])) if 1 <= int(m[2]) <= 12
           else None)
    f.scan(rf"(?:(\d{{2,4}})年|({rel_year_re}))?\s*的?(\d{{1,2}}|{_ZH_NUM_RE})月份?",
           lambda m: month_range(_rel_year(m[1], m[2], rel_year, f), _num(m[3])) if 1 <= _num(m[3]) <= 12 else None)
    f.scan(rf"\b(?:in\s+)?({_MONTH_RE})\.?(?:\s*,?\s*(?:of\s+)?(\d{{4}}))?\b",
           lambda m: month_range(_year_of(m[2], dy), MONTHS[m[1].lower()])
           if not (m[1].lower() == "may" and not m[2]) else None)
    f.scan(rf"\b({_MONTH_RE})\s+(?:of\s+)?(this|last)\s+year\b",
           lambda m: month_range(now.year - (m[2].lower() == "last"), MONTHS[m[1].lower()]))
    f.scan(r"\bmay\s+(?=\d{4})(\d{4})", lambda m: month_range(int(m[1]), 5))
    # relative periods
    _relative(f)
    # years
    f.scan(r"(?<!\d)((?:19|20)\d\d)\s*年(?:度|份)?", lambda m: (date(int(m[1]), 1, 1), date(int(m[1]) + 1, 1, 1)))
    f.scan(r"\b(?:in\s+|during\s+|for\s+|of\s+)?((?:19|20)\d\d)\b",
           lambda m: (date(int(m[1]), 1, 1), date(int(m[1]) + 1, 1, 1)))
    _open_sides(f)
    return sorted(f.found, key=lambda r: r.span)


def _rel_year(year: str | None, relative: str | None, table: dict[str, int], f: _Finder) -> int:
    if year:
        return _year_of(year, f.default_year)
    if relative:
        return f.now.year + table[relative.lower()]
    return f.default_year


def _one_day(day: date | None) -> tuple[date, date] | None:
    return (day, day + timedelta(days=1)) if day else None


def _relative(f: _Finder) -> None:
    now = f.now
    first_of_month = now.replace(day=1)
    last_month_start = (first_of_month - timedelta(days=1)).replace(day=1)
    quarter_start = date(now.year, 3 * ((now.month - 1) // 3) + 1, 1)
    last_quarter_start = (quarter_start - timedelta(days=1)).replace(day=1)
    last_quarter_start = date(last_quarter_start.year, 3 * ((last_quarter_start.month - 1) // 3) + 1, 1)
    week = _week_start(now)
    fixed = [
        (r"今天|今日|\btoday\b", now, now + timedelta(days=1)),
        (r"昨天|昨日|\byesterday\b", now - timedelta(days=1), now),
        (r"前天|\bthe day before yesterday\b", now - timedelta(days=2), now - timedelta(days=1)),
        (r"本周|这周|这一周|\bthis week\b", week, week + timedelta(days=7)),
        (r"上周|上一周|上个星期|上星期|\blast week\b|\bprevious week\b", week - timedelta(days=7), week),
        (r"本月|这个月|当月|\bthis month\b", first_of_month, month_range(now.year, now.month)[1]),
        (r"上个月|上月|上一个月|\blast month\b|\bprevious month\b", last_month_start, first_of_month),
        (r"本季度|这个季度|\bthis quarter\b", quarter_start, month_range(quarter_start.year,
                                                                         quarter_start.month + 2)[1]),
        (r"上季度|上个季度|上一季度|\blast quarter\b|\bprevious quarter\b", last_quarter_start, quarter_start),
        (r"今年|本年度|本年|\bthis year\b|\byear to date\b|\bytd\b", date(now.year, 1, 1), date(now.year + 1, 1, 1)),
        (r"去年|上一年|上年度|\blast year\b|\bprevious year\b", date(now.year - 1, 1, 1), date(now.year, 1, 1)),
        (r"前年", date(now.year - 2, 1, 1), date(now.year - 1, 1, 1)),
    ]
    for pattern, start, end in fixed:
        f.scan(pattern, lambda m, s=start, e=end: (s, e))

    def last_n(m) -> tuple[date, date] | None:
        n = _num(m[1]) if m[1] else 1
        unit = m[2].lower()
        end = now + timedelta(days=1)
        if unit in ("天", "日", "day", "days"):
            return end - timedelta(days=n), end
        if unit in ("周", "个星期", "星期", "week", "weeks"):
            return end - timedelta(days=7 * n), end
        if unit in ("个月", "月", "month", "months"):
            month = now.month - n
            year = now.year + (month - 1) // 12
            month = (month - 1) % 12 + 1
            return _day(year, month, min(now.day, calendar.monthrange(year, month)[1])) + timedelta(days=1), end
        if unit in ("年", "year", "years"):
            return date(now.year - n, now.month, min(now.day, 28)) + timedelta(days=1), end
        return None

    f.scan(rf"(?:最近|过去|近|前)(\d+|{_ZH_NUM_RE})?(天|日|周|个星期|星期|个月|年)", last_n)
    f.scan(r"\b(?:in\s+)?(?:the\s+)?(?:last|past|previous|recent)\s+(\d+)?\s*(days?|weeks?|months?|years?)\b", last_n)


def _open_sides(f: _Finder) -> None:
    """"2020年之前" / "before 2020" → end only; "2023年以后" / "since 2023" → start only."""
    before = re.compile(r"^\s*(?:之前|以前|前)")
    after = re.compile(r"^\s*(?:之后|以后|后|起|以来|至今)")
    for r in f.found:
        a, b = r.span
        tail = f.text[b:]
        head = f.text[:a].lower()
        if before.match(tail) or re.search(r"(before|earlier than|prior to|older than)\s*$", head):
            match = before.match(tail)
            if match:
                b += match.end()
            r.start, r.end = None, r.start
        elif after.match(tail) or re.search(r"(after|since|from|later than|newer than|starting)\s*$", head):
            match = after.match(tail)
            if match:
                b += match.end()
            if re.search(r"after|later than|newer than", head[-20:]) or (match and match.group(0).strip() in
                                                                           ("之后", "后")):
                r.start, r.end = r.end, None
            else:
                r.end = None
        r.span = (a, b)
        r.text = f.text[a:b]


# -- time buckets ----------------------------------------------------------------------------------------------
BUCKETS = [
    ("hour", r"哪个小时|\bwhich hour\b|每小时|每个小时|按小时|逐时|\bhourly\b|\b(?:per|by|each|every)\s+hour\b"),
    ("day", r"哪一天|哪天|\b(?:which|what) (?:day|date)\b|(?<!平均)每天|(?<!平均)每日|按天|按日|逐日|日趋势|每一天|"
            r"(?<!average )\bdaily\b|\b(?:by|each|every)\s+day\b|\bday by day\b"),
    ("week", r"哪一周|哪周|\b(?:which|what) week\b|每周|每个星期|按周|\bweekly\b|\b(?:per|by|each|every)\s+week\b"),
    ("month", r"哪一?个月|哪月|\b(?:which|what) month\b|每个?月|按月|逐月|月度|各月|月趋势|\bmonthly\b|"
              r"\b(?:per|by|each|every)\s+month\b|\bmonth by month\b"),
    ("quarter", r"每个?季度|按季度|各季度|\bquarterly\b|\b(?:per|by|each|every)\s+quarter\b"),
    ("year", r"哪一?年|\b(?:which|what) year\b|每年|按年|各年|年度趋势|\byearly\b|\bannual(?:ly)?\b|"
             r"\b(?:per|by|each|every)\s+year\b"),
]
TREND = r"趋势|走势|变化|\btrend\b|\bover time\b|\btime series\b"


def find_bucket(text: str) -> tuple[str | None, tuple[int, int] | None, bool]:
    """(bucket, span, trend) — ``trend`` is set when the question asks for a trend without saying the step."""
    for bucket, pattern in BUCKETS:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            return bucket, match.span(), True
    match = re.search(TREND, text, re.IGNORECASE)
    return (None, match.span(), True) if match else (None, None, False)
