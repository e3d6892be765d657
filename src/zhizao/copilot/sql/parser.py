"""Deterministic semantic parser: a Chinese or English question → a query frame.

The question is read in layers, each removing what it recognised: date phrases and time
buckets (dates.py), cell values (CNC-01, L1, "breakdown"), numbers (top-k, comparisons),
function words that carry structure (每/各/by/per = group, 哪个/which = pick a member,
总/平均/max = aggregate, 多少个/how many = count, 率/rate = ratio, 排序/sorted = order) and
finally content words, which are linked to tables and columns (linker.py). Nothing is
guessed: when no table or no measure can be linked the parser says which words it did not
understand.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from zhizao.copilot.sql import lexicon
from zhizao.copilot.sql.dates import find_bucket, find_dates
from zhizao.copilot.sql.frame import Filter, Frame, Group, Measure
from zhizao.copilot.sql.glossary import Metric
from zhizao.copilot.sql.linker import Linker
from zhizao.copilot.sql.schema import Column, Schema, Table


class NotUnderstood(ValueError):
    """The question could not be mapped; ``words`` are what was not understood."""

    def __init__(self, reason: str, words: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.words = words or []


_ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_N = r"(\d+|十|一|二|两|三|四|五|六|七|八|九)"
_EN_N = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
         "ten": 10}

# structure words, matched on the normalised question (order matters: longer first)
MARKERS: list[tuple[str, str]] = [
    ("list", r"有哪些|都有哪些|列出|列举|\blist\b|\bshow me\b|\bshow\b|\bwhat are\b|\bwhich are\b"),
    ("order_asc", r"升序|从低到高|从小到大|从少到多|由低到高|\bascending\b|\basc\b|\bsmallest first\b|"
                  r"\blowest first\b"),
    ("order_desc", r"降序|从高到低|从大到小|从多到少|由高到低|\bdescending\b|\bdesc\b|\blargest first\b"
                   r"|\bhighest first\b"),
    ("order", r"排序|排名|排行|排列|\bsorted\b|\bsort\b|\border(?:ed)? by\b|\brank(?:ed|ing)?\b"),
    ("distinct", r"多少种|多少类|几种|几类|多少个不同|不同的|\bdistinct\b|\bunique\b|\bdifferent\b"),
    ("count", r"多少个|多少台|多少条|多少次|多少起|多少项|多少家|多少位|多少批|多少张|多少笔|多少单|多少票|"
              r"几个|几台|几条|几次|几起|"
              r"几批|几家|次数|个数|记录数|条数|笔数|\bhow many\b|\bnumber of\b|\bcount of\b|\bcount\b"),
    ("frequent", r"最常见|最常出现|最频繁|最经常|出现最多|次数最多|\bmost often\b|\bmost common(?:ly)?\b|"
                 r"\bmost frequent(?:ly)?\b|\bleast often\b|\bleast common\b|\bleast frequent\b"),
    ("share", r"占比|份额|所占比例|百分比|\bshare\b|\bpercentage of total\b|\bproportion\b|\bpercent of total\b"),
    ("per", r"\bper unit of\b|\bper piece of\b|\bper unit\b|单位产量|单位|每件|每单位|每吨|\bper\s+(?=\w+\s+of\b)"),
    ("rate", r"比率|比例|率|\brate\b|\bratio\b|\bpercentage\b|\bpercent\b|%"),
    ("max", r"最大值|最大|最高值|峰值|\bmaximum\b|\bmax\b|\bpeak\b"),
    ("min", r"最小值|最小|最低值|\bminimum\b|\bmin\b"),
    ("avg", r"平均每[日天次台件个]|平均值|平均|均值|\baverage daily\b|\baverage\b|\bavg\b|\bmean\b"),
    ("sum", r"总计|合计|总共|一共|累计|总和|总量|总|\btotal\b|\bsum\b|\boverall\b|\baltogether\b|\bcumulative\b"),
    ("most", r"最多|最高|最长|最大|最严重|最贵|\bmost\b|\bhighest\b|\blargest\b|\blongest\b|\bbiggest\b|"
             r"\bgreatest\b|\bbest\b|\bmaximum\b|\bworst\b|\bmore\b"),
    ("least", r"最少|最低|最短|最小|最便宜|\bleast\b|\blowest\b|\bfewest\b|\bshortest\b|\bsmallest\b|\bminimum\b"),
    ("which", r"哪一个|哪一台|哪一条|哪一种|哪一家|哪一位|哪个|哪台|哪条|哪种|哪家|哪位|哪类|哪天|哪月|哪|"
              r"\bwhich\b|\bwhat\b"),
    ("group", r"按照|按|每个|每台|每条|每种|每类(?![别型])|每位|每家|每批|每一个|每|各个|各台|各条|各种|"
              r"各类(?![别型])|各家|各|分别|"
              r"\bfor each\b|\bfor every\b|\bin each\b|\bof each\b|\beach\b|\bevery\b|\bper\b|"
              r"\bgrouped by\b|\bgroup by\b|\bbroken down by\b|\bbreakdown by\b|\bsplit by\b|\bby\b"),
    ("many", r"多少|\bhow much\b"),
]

COMPARISONS: list[tuple[str, str]] = [
    (">=", r"(?:不少于|不低于|至少|大于等于|大于或等于|>=|≥|\bat least\b|\bno less than\b|\bnot less than\b)\s*"),
    ("<=", r"(?:不超过|不高于|至多|最多不超过|小于等于|小于或等于|<=|≤|\bat most\b|\bno more than\b|"
           r"\bnot more than\b)\s*"),
    (">", r"(?:超过|大于|高于|多于|超出|>|\bgreater than\b|\bmore than\b|\bhigher than\b|\babove\b|\bover\b|"
          r"\bexceeding\b|\bexceeds?\b|\blarger than\b|\bbigger than\b|\blonger than\b)\s*"),
    ("<", r"(?:小于|低于|少于|不足|<|\bless than\b|\blower than\b|\bbelow\b|\bunder\b|\bfewer than\b|"
          r"\bsmaller than\b|\bshorter than\b)\s*"),
    ("=", r"(?:等于|=|\bequal to\b|\bequals\b)\s*"),
]
_NUMBER = r"(-?\d+(?:\.\d+)?)\s*(%|万|千)?"
_STRUCTURE_CHARS = re.compile(r"单位|每|各|总|平均|最|率|比例|合计|累计|按")

AGGREGATING = {"sum", "avg", "max", "min", "count", "distinct", "many", "most", "least", "rate", "share", "per",
               "frequent", "order", "order_asc", "order_desc", "group"}
INTENSIVE = {"temperature", "pressure", "price", "speed", "humidity", "concentration", "viscosity", "thickness",
             "length", "width", "diameter", "voltage", "current", "percent", "age", "level", "efficiency",
             "utilization", "yield", "deviation", "error", "size", "reading", "measurement", "value", "rate",
             "ratio", "score", "standard", "specification", "target", "capacity", "ph", "moisture", "density",
             "cycle", "tenure", "salary", "distance_avg"}
TIME_UNITS = {"minute", "hour", "second", "duration", "time", "day"}
COUNT_BASE = {"output", "quantity", "input", "total", "inspection", "production", "plan", "count", "number",
              "volume", "receive", "shipment", "order"}
RATE_WORDS = re.compile(r"(rate|ratio|pct|percent|率|比例|占比)", re.IGNORECASE)
CLASSIFIERS = "个台条次起项家位批张笔单种类件吨"


@dataclass
class Item:
    kind: str  # word | marker | value | compare | topk | date
    start: int
    end: int
    text: str = ""
    concepts: set[str] = field(default_factory=set)
    payload: object = None


def normalise(question: str) -> str:
    text = unicodedata.normalize("NFKC", question).strip()
    return re.sub(r"\s+", " ", text)


class Parser:
    def __init__(self, schema: Schema, linker: Linker, metrics: list[Metric]) -> None:
        self._quantity_asked = False
        self.schema = schema
        self.linker = linker
        self.metrics = metrics

    # -- entry point ---------------------------------------------------------------------------------------
    def parse(self, question: str, now: date, previous: Frame | None = None) -> Frame:
        text = normalise(question)
        lang = "zh" if lexicon.has_cjk(text) else "en"
        taken = [False] * len(text)
        items: list[Item] = []

        def mark(a: int, b: int) -> None:
            for i in range(a, b):
                taken[i] = True

        def free(a: int, b: int) -> bool:
            return not any(taken[a:b])

        default_year = previous.date_start.year if previous and previous.date_start else None
        dates = find_dates(text, now, default_year)
        for r in dates:
            mark(*r.span)
            items.append(Item("date", r.span[0], r.span[1], r.text, payload=r))
        bucket, bucket_span, trend = find_bucket(text)
        if bucket_span and free(*bucket_span):
            mark(*bucket_span)
        elif bucket_span:
            bucket, trend = bucket if bucket else None, trend
        # glossary metrics
        for metric in self.metrics:
            for phrase in sorted([metric.name, *metric.synonyms], key=len, reverse=True):
                at = text.lower().find(phrase.lower())
                if at >= 0 and free(at, at + len(phrase)):
                    mark(at, at + len(phrase))
                    items.append(Item("metric", at, at + len(phrase), phrase, payload=metric))
                    break
        self._values(text, items, mark, free)
        self._numbers(text, items, mark, free)
        for key in sorted((k for k in lexicon.ZH if k.endswith("率")), key=len, reverse=True):
            for match in re.finditer(re.escape(key), text):
                if free(*match.span()):
                    mark(*match.span())
                    items.append(Item("word", match.start(), match.end(), key, self.linker.word_concepts(key)))
                    items.append(Item("marker", match.end(), match.end(), "率", payload="rate"))
        # the schema's own phrases that contain a structure word ("单位成本", "平均温度") stay whole
        for phrase in sorted(self.linker.schema_phrases, key=len, reverse=True):
            if len(phrase) < 3 or not lexicon.has_cjk(phrase) or not _STRUCTURE_CHARS.search(phrase):
                continue
            for match in re.finditer(re.escape(phrase), text):
                if free(*match.span()):
                    mark(*match.span())
                    items.append(Item("word", match.start(), match.end(), phrase,
                                      self.linker.word_concepts(phrase)))
        for kind, pattern in MARKERS:
            for match in re.finditer(pattern, text, re.IGNORECASE):
                if free(*match.span()):
                    mark(*match.span())
                    items.append(Item("marker", match.start(), match.end(), match.group(0).lower(), payload=kind))
        self._words(text, taken, items)
        items.sort(key=lambda it: it.start)
        frame = self._interpret(items, text, lang, dates, bucket, trend, previous)
        frame.lang = lang
        frame.question = question
        return frame

    # -- layers --------------------------------------------------------------------------------------------
    def _values(self, text: str, items: list[Item], mark, free) -> None:
        lowered = text.lower()
        candidates = sorted(set(self.linker.full_values) | set(self.linker.values), key=len, reverse=True)
        for chunk in candidates:
            if len(chunk) < 2 and not chunk.isdigit():
                continue
            start = 0
            while True:
                at = lowered.find(chunk, start)
                if at < 0:
                    break
                end = at + len(chunk)
                start = end
                if not free(at, end) or not _boundary(lowered, at, end):
                    continue
                entries = self.linker.full_values.get(chunk) or []
                exact = bool(entries)
                entries = entries or self.linker.values.get(chunk, [])
                original = text[at:end]
                if len(chunk) <= 2 and not lexicon.has_cjk(chunk):
                    # short codes (A, L1) only when written like a code, not as an English word
                    entries = [e for e in entries if e.value == original or (e.value.lower() == chunk and
                                                                                not original.islower())]
                    if not entries or original.lower() in lexicon.EN_STOP:
                        continue
                if not exact and lexicon.EN.get(chunk) and chunk not in {e.value.lower() for e in entries} and \
                        len(entries) > 3:
                    continue
                mark(at, end)
                items.append(Item("value", at, end, original, payload=(entries, exact)))
        for match in re.finditer(r"[A-Za-z][A-Za-z\-]{3,}", text):
            if not free(*match.span()):
                continue
            word = match.group(0).lower()
            entries = None
            for form in (word, lexicon.stem(word), *_inflections(word)):
                entries = self.linker.full_values.get(form) or self.linker.values.get(form)
                if entries:
                    break
            if entries and word not in lexicon.EN_STOP:
                mark(*match.span())
                items.append(Item("value", match.start(), match.end(), match.group(0), payload=(entries, False)))

    def _numbers(self, text: str, items: list[Item], mark, free) -> None:
        number = rf"(\d+|十|一|二|两|三|四|五|六|七|八|九|{'|'.join(_EN_N)})"
        topk_patterns = [
            (rf"(?:前|排名前|top\s*){number}\s*(?:名|个|位|台|条|种|家|大)?", False),
            (rf"(?:后|倒数|bottom\s*){number}\s*(?:名|个|位|台|条|种|家)?", True),
            (rf"(?:最高|最多|最大|最长)的\s*{_N}\s*(?:个|台|条|种|家|位|名)", False),
            (rf"(?:最低|最少|最小|最短)的\s*{_N}\s*(?:个|台|条|种|家|位|名)", True),
            (rf"\b(\d+|{'|'.join(_EN_N)})\s+(?=(?:\w+\s+)?(?:highest|largest|most|biggest|best|longest|lowest|"
             rf"smallest|least|fewest|worst|shortest)\b)", None),
        ]
        for pattern, ascending in topk_patterns:
            for match in re.finditer(pattern, text, re.IGNORECASE):
                if free(*match.span()):
                    raw = match.group(1).lower()
                    n = int(raw) if raw.isdigit() else _EN_N.get(raw) or _ZH_DIGITS.get(raw, 1)
                    if ascending is None:
                        follow = text[match.end():match.end() + 30].lower()
                        ascending = bool(re.match(r"(?:\w+\s+)?(lowest|smallest|least|fewest|shortest)", follow))
                    mark(*match.span())
                    items.append(Item("topk", match.start(), match.end(), match.group(0), payload=(n, ascending)))
        for op, pattern in COMPARISONS:
            for match in re.finditer(pattern + _NUMBER, text, re.IGNORECASE):
                if free(*match.span()):
                    mark(*match.span())
                    items.append(Item("compare", match.start(), match.end(), match.group(0),
                                      payload=(op, _number(match.group(1), match.group(2)), False)))
        for match in re.finditer(r"\b(?:with|having|has|have)\s+(\d+(?:\.\d+)?)\s+(?=[a-z])", text, re.IGNORECASE):
            if free(*match.span()):  # "molds with 4 cavities": equality on the column named next
                mark(*match.span())
                items.append(Item("compare", match.start(), match.end(), match.group(0),
                                  payload=("=", _number(match.group(1), None), True)))
        for op, pattern in (("<=", r"以下|及以下|或以下|or less|or fewer|or below"),
                            (">=", r"以上|及以上|或以上|or more|or above|\+")):
            for match in re.finditer(_NUMBER + r"\s*(?:分钟|小时|件|个|次|度|kg|kwh)?\s*(?:" + pattern + ")", text,
                                     re.IGNORECASE):
                if free(*match.span()):
                    mark(*match.span())
                    items.append(Item("compare", match.start(), match.end(), match.group(0),
                                      payload=(op, _number(match.group(1), match.group(2)), False)))

    def _words(self, text: str, taken: list[bool], items: list[Item]) -> None:
        i = 0
        while i < len(text):
            if taken[i]:
                i += 1
                continue
            j = i
            while j < len(text) and not taken[j]:
                j += 1
            segment = text[i:j]
            matches = list(re.finditer(r"[\u4e00-\u9fff]+|[A-Za-z][A-Za-z0-9_\-]*|\d+(?:\.\d+)?", segment))
            k = 0
            while k < len(matches):
                word, at = matches[k].group(0), i + matches[k].start()
                pair = (word.lower(), matches[k + 1].group(0).lower()) if k + 1 < len(matches) else None
                if pair in lexicon.EN_PHRASES:
                    end = i + matches[k + 1].end()
                    items.append(Item("word", at, end, text[at:end],
                                      self.linker.word_concepts(lexicon.EN_PHRASES[pair])))
                    k += 2
                    continue
                if lexicon.has_cjk(word):
                    for piece, offset in self.linker.segment_zh(word):
                        self._add_word(items, piece, at + offset)
                elif word.lower() not in lexicon.EN_STOP and not word.isdigit():
                    self._add_word(items, word, at)
                k += 1
            i = j

    def _add_word(self, items: list[Item], word: str, at: int) -> None:
        if lexicon.has_cjk(word) and word in lexicon.ZH_STOP:
            items.append(Item("stop", at, at + len(word), word))
            return
        items.append(Item("word", at, at + len(word), word, self.linker.word_concepts(word)))

    # -- interpretation ------------------------------------------------------------------------------------
    def _interpret(self, items: list[Item], text: str, lang: str, dates, bucket: str | None, trend: bool,
                   previous: Frame | None) -> Frame:
        markers = {it.payload for it in items if it.kind == "marker"}
        # "发货总量" / "total quantity": a quantity is asked even when no word names its column
        self._quantity_asked = bool(re.search(r"总量|数量|\bquantity\b|\bvolume\b", text, re.IGNORECASE))
        if "frequent" in markers:
            markers |= {"count", "least" if re.search(r"least|最少|最不", text, re.IGNORECASE) else "most"}
        group_words: list[list[Item]] = []
        order_words: list[Item] = []
        per_words: list[Item] = []
        count_words: list[Item] = []
        picks: set[int] = set()  # group mentions that pick rows (which/top-k), not "per row" averages
        typed_groups: list[Column] = []  # "各类工单": the type column of the named table
        which = False
        i = 0
        consumed: set[int] = set()

        def take(words: list[Item], into: list) -> None:
            into += words
            consumed.update(id(w) for w in words)

        while i < len(items):
            it = items[i]
            if it.kind == "marker" and it.payload in ("group", "which") or it.kind == "topk":
                follow = self._following_words(items, i + 1, text, skip_aggregates=it.payload == "group")
                prev_text = text[max(0, it.start - 12):it.start].lower()
                if it.kind == "marker" and it.text == "by" and re.search(
                        r"(caused|made|produced|sorted|ordered|ranked|sort|order|rank|done|reported|used|"
                        r"consumed|shipped|handled|inspected|operated)\s*$", prev_text):
                    if re.search(r"(sorted|ordered|ranked|sort|order|rank)\s*$", prev_text):
                        take(follow, order_words)
                    i += 1
                    continue
                if it.kind == "marker" and it.text == "by" and any(g for g in group_words) and \
                        any(x.kind == "topk" or x.payload == "which" for x in items[:i]):
                    take(follow, order_words)
                    i += 1
                    continue
                if it.kind == "marker" and it.text in ("按", "按照") and re.search(
                        r"排序|排名|排列|从高到低|从低到高", text[it.end:it.end + 16]):
                    take(follow, order_words)
                    i += 1
                    continue
                if it.kind == "marker" and it.payload == "which":
                    which = True
                    if not follow:
                        follow = self._preceding_words(items, i)
                if it.kind == "marker" and it.text in ("per", "每") and follow and self._names_quantity(follow):
                    take(follow, per_words)
                    i += 1
                    continue
                if follow and it.kind == "marker" and re.fullmatch(r"各类|每类|各种|每种|各种类型", it.text):
                    kinds = self._kind_column(follow)
                    if kinds is not None:
                        typed_groups.append(kinds)
                        consumed.update(id(w) for w in follow)
                        i += 1
                        continue
                if follow:
                    group_words.append(follow)
                    if it.kind == "topk" or it.payload == "which":
                        picks.add(id(follow[0]))
                    consumed.update(id(w) for w in follow)
            elif it.kind == "marker" and it.payload == "per":
                take(self._following_words(items, i + 1), per_words)
            elif it.kind == "marker" and it.payload in ("count", "distinct") and not count_words:
                count_words = self._following_words(items, i + 1, text, allow_stop_gap=True)
                if not count_words and not any(x.kind in ("word", "value") for x in items[i + 1:]):
                    count_words = self._preceding_words(items, i)  # "…的返工单有多少张"
            elif (it.kind == "stop" and it.text == "数" or it.kind == "word" and it.text in ("数量", "个数", "数目")) \
                    and i > 0 and items[i - 1].kind == "word" and items[i - 1].end == it.start and \
                    self._counts_rows(items[i - 1], it.text):
                # "工单数" / "返工单数量": the number of rows of the table the noun names
                markers.add("count")
                count_words = count_words or [items[i - 1]]
            i += 1
        # "设备的产量按月" / "X分别是多少": group nouns before 分别 are handled as plain words
        words = [it for it in items if it.kind == "word" and id(it) not in consumed]
        values = [it for it in items if it.kind == "value"]
        compares = [it for it in items if it.kind == "compare"]
        topk = next((it for it in items if it.kind == "topk"), None)
        metric_item = next((it for it in items if it.kind == "metric"), None)

        if compares and ("list" in markers or not markers & AGGREGATING):
            # "List SKUs with unit price above 300" / "presses with tonnage above 300": the compared column
            # filters the rows, it is not a measure
            numeric_words = {id(w) for w in words if self._names_quantity([w])}
            before_compare: set[int] = set()
            for k, x in enumerate(items):
                j = k - 1
                while x.kind == "compare" and j >= 0 and id(items[j]) in numeric_words:
                    before_compare.add(id(items[j]))
                    j -= 1
                if x.kind == "compare" and x.payload[2]:
                    before_compare |= {id(w) for w in items[k + 1:k + 2] if w.kind == "word"}
            words = [w for w in words if id(w) not in before_compare]
        frame = self._frame_core(words, group_words, order_words, per_words, markers, metric_item, values,
                                 compares, previous, text, count_words, has_dates=bool(dates or bucket))
        # groups
        for column in typed_groups:
            if self.schema.join_path(frame.table, column.table) is not None:
                frame.groups.append(Group(self._key_in(frame.table, column)))
        for mention in group_words:
            group = self._resolve_group(mention, frame, per_row_ok=id(mention[0]) in picks)
            if group is not None and all(g.column.qualified != group.column.qualified for g in frame.groups):
                frame.groups.append(group)
        if not frame.groups and frame.measures and re.search(r"分别|各自|respectively|\beach\b", text, re.IGNORECASE):
            several = [f for f in frame.filters if f.op == "in" and len(f.values) > 1]
            if several:
                frame.groups.append(Group(several[0].column))
        if not frame.groups and frame.measures and markers & {"order", "order_asc", "order_desc", "most", "least",
                                                              "share"}:
            implicit = self._implicit_group(words, frame)
            if implicit is not None:
                frame.groups.append(implicit)
        # time bucket
        if bucket or (trend and not frame.listing):
            date_column = frame.date_column or self._date_column(frame.table, words)
            if date_column is not None:
                frame.date_column = frame.date_column or date_column
                step = bucket or self._trend_step(dates)
                frame.groups = [g for g in frame.groups if not g.column.temporal] + [Group(date_column, step)]
                frame.listing = []
        # dates
        if dates:
            r = dates[-1] if len(dates) == 1 else _merge_ranges(dates)
            column = self._date_column(frame.table, words, prefer=frame.date_column)
            if column is None:
                raise NotUnderstood("no date column", [d.text for d in dates])
            frame.date_column = column
            frame.date_start, frame.date_end = r.start, r.end
        for measure in frame.measures:
            if measure.func == "per" and measure.denominator is not None and frame.date_column is not None:
                measure.denominator_date = self._date_column(measure.denominator.table, words)
        # comparisons
        for it in compares:
            op, number, after = it.payload
            column, having = self._compare_target(it, items, frame, after)
            if column is None:
                raise NotUnderstood("comparison", [it.text])
            frame.filters = [f for f in frame.filters if not (f.column.qualified == column.qualified and f.op == op)]
            frame.filters.append(Filter(column, op, [number], having=having))
        # "最短的批次周期" / "the longest cycle": without a group, most/least is MAX/MIN
        if not frame.groups and frame.measures and frame.measures[0].func in ("sum", "avg") and \
                markers & {"most", "least"} and not markers & {"sum", "avg"} and topk is None:
            m = frame.measures[0]
            m.func = "max" if "most" in markers else "min"
            m.label = f"{m.func}_{m.column.name}"
        # ordering and top-k
        if topk is not None:
            n, ascending = topk.payload
            frame.limit = n
            frame.order = "measure" if frame.measures else frame.order
            frame.descending = not ascending
        elif "most" in markers or "least" in markers:
            if frame.groups and frame.measures and frame.measures[0].func not in ("max", "min") or \
                    (frame.groups and frame.measures and which):
                frame.order, frame.descending = "measure", "most" in markers
                if not re.search(r"排序|排名|sorted|ranked|rank", text, re.IGNORECASE) or which:
                    frame.limit = frame.limit or 1
        if markers & {"order", "order_asc", "order_desc"} and frame.measures:
            frame.order = "measure" if frame.groups or order_words else "group"
            frame.descending = "order_asc" not in markers
        if frame.order == "measure" and not frame.groups and frame.listing:
            frame.order = None
        if bucket or trend:
            if frame.order != "measure":
                frame.order, frame.descending = None, False
        return frame

    def _implicit_group(self, words: list[Item], frame: Frame) -> Group | None:
        """"停机原因按总时长排序": a word naming a category column (not the measure) is what is ranked."""
        measure = frame.measures[0].column
        categories = [c for c in self.schema.columns() if c.values or c.key_like]

        def better_as_category(word: Item) -> bool:
            on_measure = self.linker.column_score(measure, [word.concepts], own_only=True)[0] if measure else 0.0
            return max((self.linker.column_score(c, [word.concepts], own_only=True)[0] for c in categories),
                       default=0.0) > on_measure

        leftovers = [w for w in words if better_as_category(w)]
        if not leftovers:
            return None
        return self._resolve_group(leftovers, frame, categories_only=True)

    def _counts_rows(self, noun: Item, suffix: str) -> bool:
        table = self._counted_table([noun])
        if table is None or self._distinctive_numeric([noun]):
            return False
        # "发货数量" on a table with a quantity column is that quantity, not a row count
        return suffix != "数量" or not any(c.numeric and "quantity" in self._concepts(c) for c in table.columns)

    @staticmethod
    def _preceding_words(items: list[Item], index: int) -> list[Item]:
        """"收率最低的反应釜是哪个": the noun before 是哪个 names what is picked."""
        out: list[Item] = []
        k = index - 1
        while k >= 0 and items[k].kind == "stop" and items[k].text in ("是", "为", "有", "共", "一共", "总共"):
            k -= 1
        while k >= 0 and items[k].kind == "word":
            out.insert(0, items[k])
            k -= 1
        return out

    def _kind_column(self, words: list[Item]) -> Column | None:
        """"各类维修工单": when the words name a table (not one of its columns), its type/category column."""
        sets = [w.concepts for w in words]
        table = self._counted_table(words)
        if table is None:
            return None
        kinds = [c for c in table.columns if c.values and self._concepts(c) & {"type", "category", "kind", "class"}]
        kinds.sort(key=lambda c: self.linker.column_score(c, sets, own_only=True)[0], reverse=True)
        return kinds[0] if kinds else None

    def _names_quantity(self, words: list[Item]) -> bool:
        """"per kg" / "per hour": the words name a numeric column (a denominator), not a category."""
        sets = [w.concepts for w in words]
        numeric = max((self.linker.column_score(c, sets, own_only=True)[0] for c in self.schema.columns()
                       if c.numeric and not c.key_like), default=0.0)
        category = max((self.linker.column_score(c, sets, own_only=True)[0] for c in self.schema.columns()
                        if not c.numeric or c.key_like), default=0.0)
        tables = max((self.linker.table_score(t, sets) for t in self.schema.tables.values()), default=0.0)
        return numeric > max(category, tables)

    @staticmethod
    def _following_words(items: list[Item], start: int, text: str = "", skip_aggregates: bool = True,
                         allow_stop_gap: bool = False) -> list[Item]:
        """The words right after a structure word (only spaces or classifiers such as 台/个 in between)."""
        out = []
        last = items[start - 1].end if start > 0 else 0
        for it in items[start:]:
            gap = text[last:it.start].strip() if text else ""
            if gap and allow_stop_gap and all(w.lower() in lexicon.EN_STOP for w in re.findall(r"\w+", gap)):
                gap = ""
            if gap and not out:
                break
            last = it.end
            if it.kind == "word":
                out.append(it)
            elif it.kind == "stop" and not out and it.text in ("个", "台", "条", "位", "种", "家", "一", "批"):
                continue
            elif it.kind == "marker" and not out and skip_aggregates and it.payload in ("sum", "avg", "max", "min"):
                continue
            else:
                break
        return out

    def _trend_step(self, dates) -> str:
        if dates and dates[-1].start and dates[-1].end and (dates[-1].end - dates[-1].start).days <= 45:
            return "day"
        return "month"

    # -- the core: table, measure, filters -----------------------------------------------------------------
    def _frame_core(self, words, group_words, order_words, per_words, markers, metric_item, values, compares,
                    previous, text, count_words=(), has_dates: bool = False) -> Frame:
        value_columns = [entries[0].column for entries, _ in (v.payload for v in values)]
        is_followup = previous is not None and self._looks_followup(text, words, markers, metric_item)
        unknown = [w.text for w in words if not self._links(w)]
        if is_followup and unknown and not (values or group_words or compares or has_dates):
            raise NotUnderstood("follow-up", unknown)
        if is_followup:
            frame = previous.copy()
            frame.question = text
            self._apply_values(frame, values)
            if group_words:
                frame.groups = []
            if any(it for it in words) and not (markers & {"count", "distinct"}):
                measure = self._measure(words + order_words, markers, frame.table, text, allow_none=True)
                if measure is not None and measure.table == frame.table:
                    frame.measures = [measure]
            return frame

        # the main table
        frame: Frame | None = None
        if metric_item is not None:
            metric: Metric = metric_item.payload
            frame = Frame(table=metric.table, measures=[Measure("metric", sql=metric.sql, table=metric.table,
                                                                label=_label(metric.name))])
        elif markers & {"count", "distinct"} or (markers & {"many", "most", "least", "share"} and
                                                  self._counted_table(words + order_words) is not None and
                                                  not self._distinctive_numeric(words + order_words)):
            frame = self._count_frame(list(count_words) or words + order_words, group_words, markers, value_columns,
                                      text)
        if frame is None:
            measure = self._measure(words + order_words, markers, None, text, allow_none=True,
                                    context=value_columns, group_words=group_words)
            if measure is not None and per_words:
                other = self._measure(per_words, set(), None, text, allow_none=True)
                if other is not None and other.column is not None and measure.column is not None:
                    if other.table == measure.table:
                        measure = Measure("ratio", measure.column, other.column, table=measure.table,
                                          label=f"{measure.column.name}_per_{other.column.name}")
                    else:
                        measure = Measure("per", measure.column, other.column, table=measure.table,
                                          label=f"{measure.column.name}_per_{other.column.name}")
            if measure is not None:
                frame = Frame(table=measure.table or "", measures=[measure])
        if frame is None:
            frame = self._listing_frame(words, group_words, markers, value_columns, text)
            if frame is not None and unknown:
                # a bare listing is the weakest reading: with words it cannot place, say so rather than guess
                raise NotUnderstood("unknown words", unknown)
        if frame is None:
            unknown = [w.text for w in words if not self._links(w)] or [w.text for w in words]
            raise NotUnderstood("no measure or table", unknown)
        if "share" in markers and frame.measures and frame.measures[0].func in ("sum", "count"):
            m = frame.measures[0]
            frame.measures = [Measure("share", m.column if m.func == "sum" else None, table=m.table,
                                      label=(m.label or "count") + "_share")]
        self._apply_values(frame, values)
        return frame

    def _looks_followup(self, text: str, words, markers, metric_item) -> bool:
        if re.search(r"^(那|那么|那如果|如果|换成|改成|再看|只看|仅看|只要|再按)|呢[?？]?$|^(and|what about|how about|"
                     r"only|just|now|same|then|instead)\b|\binstead\b", text.strip(), re.IGNORECASE):
            return True
        if metric_item is not None or any(not self._links(w) for w in words):
            return False
        return not self._numeric_own_match(words) and self._counted_table(words) is None

    def _links(self, word: Item) -> bool:
        return any(word.concepts & e.concepts for e in self.linker.columns.values()) or \
            any(word.concepts & e.concepts for e in self.linker.tables.values())

    def _numeric_own_match(self, words: list[Item]) -> bool:
        sets = [w.concepts for w in words]
        return any(self.linker.column_score(c, sets, own_only=True)[1] > 0
                   for c in self.schema.columns() if c.numeric and not c.key_like)

    def _distinctive_numeric(self, words: list[Item]) -> bool:
        """Some word names a numeric column by more than its table's noun ("batch cycle time" is not "batches")."""
        for column in self.schema.columns():
            if not column.numeric or column.key_like:
                continue
            own = self._concepts(column) - self.linker.tables[column.table].concepts
            if any(w.concepts & own for w in words):
                return True
        return False

    def _counted_table(self, words: list[Item]) -> Table | None:
        sets = [w.concepts for w in words]
        best, best_score = None, 0.0
        for table in self.schema.tables.values():
            score = self.linker.table_score(table, sets)
            if score > best_score:
                best, best_score = table, score
        return best

    def _measure(self, words: list[Item], markers: set, table: str | None, text: str, allow_none: bool = False,
                 context: list[Column] | None = None, group_words=None) -> Measure | None:
        """The numeric column the words name, with its aggregate (or a ratio for 率/rate)."""
        sets = [w.concepts for w in words]
        candidates = []
        for column in self.schema.columns():
            if not column.numeric or (column.key_like and not RATE_WORDS.search(column.name)):
                continue
            if table is not None and column.table != table:
                continue
            score, own = self.linker.column_score(column, sets)
            if own == 0:
                continue
            if context:
                score += 0.3 * sum(1 for c in context if self.schema.join_path(column.table, c.table) is not None)
            if group_words:
                for mention in group_words:
                    if any(self._reaches(column.table, w) for w in mention):
                        score += 0.2
            candidates.append((score, own, -len(self.schema.tables[column.table].columns), column))
        if not candidates:
            if any("yield" in w.concepts for w in words):
                for t in self.schema.tables.values():
                    outputs = [c for c in t.columns if c.numeric and "output" in self._concepts(c)]
                    inputs = [c for c in t.columns if c.numeric and "input" in self._concepts(c)]
                    if outputs and inputs and (table is None or t.name == table):
                        return Measure("ratio", outputs[0], inputs[0], table=t.name, label="yield")
            return self._only_numeric(words, markers, table)
        candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
        column = candidates[0][3]
        yield_asked = any("yield" in w.concepts for w in words) and not any(
            "yield" in self._concepts(c) for c in self.schema.tables[column.table].columns)
        if "rate" in markers or yield_asked:
            ratio = self._ratio(column, words, markers)
            if ratio is not None:
                return ratio
        func = self._agg(markers, column)
        return Measure(func, column, table=column.table, label=f"{func}_{column.name}" if func != "sum"
                       else f"total_{column.name}")

    def _ratio(self, column: Column, words: list[Item], markers: set) -> Measure | None:
        """率/rate: a stored rate column, "X to Y ratio" (two columns named), yield (output/input), or the
        numerator with its natural base (defects over output, run time over planned time, actual over plan)."""
        table = self.schema.tables[column.table]
        if RATE_WORDS.search(column.name) or RATE_WORDS.search(column.comment or ""):
            return Measure("avg", column, table=column.table, label=f"avg_{column.name}")
        named: list[Column] = []
        for word in words:
            best = max(((self.linker.column_score(c, [word.concepts], own_only=True)[0], c) for c in table.columns
                        if c.numeric and not c.key_like), key=lambda x: x[0], default=(0.0, None))
            if best[0] > 0 and best[1] not in named:
                named.append(best[1])
        numerator, denominator = column, None
        if len(named) >= 2 and "rate" in markers:
            numerator, denominator = named[0], named[1]
        elif any("yield" in w.concepts for w in words) and not any("yield" in self._concepts(c)
                                                                     for c in table.columns):
            outputs = [c for c in table.columns if c.numeric and "output" in self._concepts(c)]
            inputs = [c for c in table.columns if c.numeric and "input" in self._concepts(c)]
            if outputs and inputs:
                numerator, denominator = outputs[0], inputs[0]
        if denominator is None:
            if "plan" in self._concepts(numerator):
                actual = [c for c in table.columns if c.numeric and c is not numerator and not c.key_like and
                          self._concepts(c) & {"actual", "output"}]
                if actual:
                    numerator, denominator = actual[0], numerator
        if denominator is None:
            denominator = self._denominator(numerator, [w.concepts for w in words])
        if denominator is None:
            return None
        return Measure("ratio", numerator, denominator, table=numerator.table, label=_rate_label(numerator))

    def _only_numeric(self, words: list[Item], markers: set, table: str | None) -> Measure | None:
        """"库存总量" on a table named inventory with one numeric column: that column is the measure."""
        sets = [w.concepts for w in words]
        scored = sorted(((self.linker.table_score(t, sets), t.name) for t in self.schema.tables.values()
                         if table is None or t.name == table), reverse=True)
        if not scored or scored[0][0] <= 0:
            return None
        numeric = [c for c in self.schema.tables[scored[0][1]].columns if c.numeric and not c.key_like]
        if len(numeric) > 1 and self._quantity_asked:
            numeric = [c for c in numeric if "quantity" in self._concepts(c)]
        if len(numeric) != 1 or not markers & {"sum", "avg", "max", "min", "most", "least", "many"}:
            return None
        func = self._agg(markers, numeric[0])
        return Measure(func, numeric[0], table=numeric[0].table, label=f"{func}_{numeric[0].name}")

    def _reaches(self, table: str, word: Item) -> bool:
        for t in self.schema.tables.values():
            if self.linker.table_score(t, [word.concepts]) > 0 or any(
                    self.linker.column_score(c, [word.concepts], own_only=True)[1] for c in t.columns):
                if self.schema.join_path(table, t.name) is not None:
                    return True
        return False

    @staticmethod
    def _agg(markers: set, column: Column) -> str:
        for marker, func in (("avg", "avg"), ("max", "max"), ("min", "min"), ("sum", "sum")):
            if marker in markers:
                return func
        concepts = lexicon.identifier_concepts(column.name) | lexicon.text_concepts(column.comment)
        if concepts & INTENSIVE and not concepts & (COUNT_BASE | {"energy", "cost", "amount", "weight"}):
            return "avg"
        return "sum"

    def _denominator(self, numerator: Column, sets: list[set[str]]) -> Column | None:
        table = self.schema.tables[numerator.table]
        num_concepts = self._concepts(numerator)
        time_like = bool(num_concepts & TIME_UNITS)
        best, best_score = None, -1.0
        for column in table.columns:
            if column is numerator or not column.numeric or column.key_like:
                continue
            concepts = self._concepts(column)
            if time_like != bool(concepts & TIME_UNITS):
                continue
            score = 0.0
            if time_like and concepts & {"plan", "total", "available", "scheduled"}:
                score += 2
            if not time_like and concepts & {"total", "input", "inspection", "size"}:
                score += 2
            if not time_like and concepts & {"output", "actual", "quantity", "production"}:
                score += 1.5
            if not time_like and concepts & {"plan", "target"}:
                score -= 1
            if concepts & {"defect", "scrap", "reject", "good", "rework", "loss", "downtime"} and \
                    not num_concepts & {"output"}:
                score -= 2
            if concepts & {"actual", "run"} and time_like:
                score -= 1
            if score > best_score:
                best, best_score = column, score
        return best if best_score > 0 else None

    def _concepts(self, column: Column) -> set[str]:
        return self.linker.columns[column.qualified].concepts

    def _count_frame(self, words, group_words, markers, value_columns, text) -> Frame | None:
        sets = [w.concepts for w in words]
        # what is counted: the table the words name best (an entity or an event table), the first word first
        scored: list[tuple[float, Table]] = []
        for candidate_sets in (sets[:1], sets):
            scored = []
            for table in self.schema.tables.values():
                score = self.linker.table_score(table, candidate_sets)
                key_score = max((self.linker.column_score(c, candidate_sets, own_only=True)[0] for c in table.columns
                                 if c.key_like or c.kind == "text"), default=0.0)
                scored.append((score + 0.3 * key_score, table))
            scored.sort(key=lambda s: s[0], reverse=True)
            if scored and scored[0][0] > 0:
                break
        if (not scored or scored[0][0] <= 0) and group_words:
            column = self._best_column([w.concepts for w in group_words[0]], prefer_text=True)
            if column is not None:
                return Frame(table=column.table, measures=[Measure("count", table=column.table, label="count")])
        if not scored or scored[0][0] <= 0:
            column = self._best_column(sets)
            if column is not None:
                return Frame(table=column.table, measures=[Measure("count", table=column.table, label="count")])
            if value_columns:
                table = self.schema.tables[value_columns[0].table]
                return Frame(table=table.name, measures=[Measure("count", table=table.name, label="count")])
            return None
        counted = scored[0][1]
        distinct = "distinct" in markers
        if distinct:
            # 多少种产品 → distinct values of the column naming the thing
            column = self._best_column(sets[:1], prefer_text=True) or self._best_column(sets, prefer_text=True)
            if column is not None:
                fact = self._fact_for(column.table, value_columns)
                target = self._key_in(fact, column)
                return Frame(table=fact, measures=[Measure("count_distinct", target, table=fact,
                                                           label=f"distinct_{target.name}")])
        fact = self._fact_for(counted.name, value_columns)
        if fact != counted.name:
            key = self._link_key(fact, counted.name)
            if key is not None:
                return Frame(table=fact, measures=[Measure("count_distinct", key, table=fact,
                                                           label=f"distinct_{key.name}")])
        return Frame(table=counted.name, measures=[Measure("count", table=counted.name, label="count")])

    def _fact_for(self, table: str, value_columns: list[Column]) -> str:
        """The table whose rows the filters are about: ``table`` unless a filter column is only reachable
        the other way (e.g. "machines that produced P100" counts machines in the production table)."""
        for column in value_columns:
            if column.table != table and self.schema.join_path(table, column.table) is None:
                path = self.schema.join_path(column.table, table)
                if path is not None:
                    return column.table
        return table

    def _link_key(self, fact: str, entity: str) -> Column | None:
        path = self.schema.join_path(fact, entity)
        if path and len(path) == 1:
            join = path[0]
            name = join.left_column if join.left == fact else join.right_column
            return self.schema.tables[fact].column(name)
        return None

    def _key_in(self, fact: str, column: Column) -> Column:
        if column.table == fact:
            return column
        for join in self.schema.joins:
            if join.left == fact and join.right == column.table and join.right_column == column.name:
                return self.schema.tables[fact].column(join.left_column) or column
        return column

    def _best_column(self, sets, prefer_text: bool = False, table: str | None = None) -> Column | None:
        best, best_key = None, (0.0, 0)
        for column in self.schema.columns():
            if table is not None and column.table != table:
                continue
            score, own = self.linker.column_score(column, sets)
            if own == 0:
                continue
            if prefer_text and (column.kind == "text" or column.key_like):
                score += 0.5
            if (score, own) > best_key:
                best, best_key = column, (score, own)
        return best

    def _listing_frame(self, words, group_words, markers, value_columns, text) -> Frame | None:
        sets = [w.concepts for w in words] + [w.concepts for m in group_words for w in m]
        if not sets and value_columns:
            table = self.schema.tables[value_columns[0].table]
        else:
            scored = sorted(((self.linker.table_score(t, sets) + 0.5 * sum(
                self.linker.column_score(c, sets, own_only=True)[0] for c in t.columns if c.temporal or
                c.kind == "text"), t.name) for t in self.schema.tables.values()), reverse=True)
            if not scored or scored[0][0] <= 0:
                return None
            table = self.schema.tables[scored[0][1]]
        listing = self._display_columns(table)
        return Frame(table=table.name, listing=listing)

    def _display_columns(self, table: Table) -> list[Column]:
        """What "list the X" shows: the key and the name (or description) column."""
        keys = [c for c in table.columns if c.name in table.primary_key] or \
               [c for c in table.columns if c.key_like and c.unique][:1] or \
               [c for c in table.columns if c.unique and c.kind == "text"][:1]
        names = [c for c in table.columns if c not in keys and c.kind == "text" and
                 self._concepts(c) & {"name", "description", "title"}][:1]
        if keys and len(keys) == 1 and not keys[0].key_like and keys[0].kind != "text":
            keys = []
        chosen = keys[:1] + names
        return chosen or list(table.columns)

    def _apply_values(self, frame: Frame, values: list[Item]) -> None:
        by_column: dict[str, tuple[Column, list[str]]] = {}
        for it in values:
            entries, _exact = it.payload
            # among columns holding the value prefer one reachable from the main table, then the main table's own
            reachable = [e for e in entries if e.column.table == frame.table] or \
                        [e for e in entries if self._reachable(frame.table, e.column.table)] or \
                        entries
            column = reachable[0].column
            chosen = sorted({e.value for e in reachable if e.column.qualified == column.qualified})
            key = column.qualified
            if key in by_column:
                by_column[key][1].extend(v for v in chosen if v not in by_column[key][1])
            else:
                by_column[key] = (column, chosen)
        for key, (column, vals) in by_column.items():
            frame.filters = [f for f in frame.filters if f.column.qualified != key or f.having]
            frame.filters.append(Filter(column, "in", vals))

    def _resolve_group(self, mention: list[Item], frame: Frame, categories_only: bool = False,
                       per_row_ok: bool = False) -> Group | None:
        """The column to group by for the words after 每/各/by/which: the best reading of any prefix of them
        ("warehouse shipped" → warehouse). Grouping by the main table's own row key means "per row": none."""
        best: tuple[tuple, Group] | None = None
        for k in range(1, len(mention) + 1):
            found = self._group_for(mention[:k], frame, categories_only, per_row_ok)
            if found is None:
                continue
            column = found[1].column
            targets = self._concepts(column) | self.linker.tables[column.table].name_concepts
            matched = sum(1 for w in mention[:k] if w.concepts & targets)
            rank = (matched, -k, found[0])
            if best is None or rank > best[0]:
                best = (rank, found[1])
        return best[1] if best else None

    def _group_for(self, mention: list[Item], frame: Frame, categories_only: bool,
                   per_row_ok: bool = False) -> tuple[float, Group] | None:
        sets = [w.concepts for w in mention]
        best: tuple[float, Column] | None = None
        for column in self.schema.columns():
            if column.numeric and not column.key_like:
                continue
            if categories_only and not (column.values or column.key_like):
                continue
            if not self._reachable(frame.table, column.table):
                continue
            score, own = self.linker.column_score(column, sets, own_only=True)
            if own == 0:
                continue
            if column.key_like:
                score += 0.3
            if column.table == frame.table:
                score += 0.2
            if best is None or score > best[0]:
                best = (score, column)
        table_best = None
        if not categories_only:
            for table in self.schema.tables.values():
                score = self.linker.table_score(table, sets)
                if score > 0 and table.name != frame.table and (table_best is None or score > table_best[0]):
                    table_best = (score, table)
        if table_best is not None and (best is None or table_best[0] > best[0] + 0.5) or \
                (best is not None and table_best is not None and best[1].table == table_best[1].name and
                 best[1].kind == "text" and not best[1].key_like and table_best[0] >= best[0]):
            entity = table_best[1]
            key = self._link_key(frame.table, entity.name)
            if key is not None:
                return table_best[0], Group(key)
            display = self._display_columns(entity)
            if display and self.schema.join_path(frame.table, entity.name) is not None:
                return table_best[0], Group(display[0])
        if best is None:
            return None
        column = self._key_in(frame.table, best[1]) if best[1].table != frame.table else best[1]
        if not per_row_ok and self._row_key(column, frame.table):
            return None
        return best[0], Group(column)

    def _reachable(self, table: str, other: str) -> bool:
        """``other`` joins to ``table`` without multiplying its rows (many-to-one steps only)."""
        return self.schema.join_path(table, other, many_to_one=True) is not None

    def _row_key(self, column: Column, table: str) -> bool:
        """The column identifies the rows of ``table`` (grouping by it would be one group per row)."""
        primary = self.schema.tables[table].primary_key
        return column.table == table and column.unique and (column.key_like or column.name in primary)

    def _date_column(self, table: str, words: list[Item], prefer: Column | None = None) -> Column | None:
        sets = [w.concepts for w in words]
        candidates = [c for c in self.schema.tables[table].columns if c.temporal]
        if not candidates:
            candidates = [c for c in self.schema.tables[table].columns if c.kind == "text" and
                          re.search(r"date|time|day|日期|时间|riqi", c.name + c.comment, re.IGNORECASE)]
        if not candidates:
            for other, _join in self.schema.neighbours(table):
                if self.schema.join_path(table, other) and len(self.schema.join_path(table, other)) == 1:
                    candidates += [c for c in self.schema.tables[other].columns if c.temporal]
        if not candidates:
            return prefer
        if prefer is not None and prefer in candidates:
            return prefer

        def rank(column: Column) -> tuple:
            score, _ = self.linker.column_score(column, sets, own_only=True)
            name = column.name.lower()
            generic = 1 if re.search(r"date|day|time|日期|riqi", name + column.comment) else 0
            late = 1 if re.search(r"install|birth|created|updated|modified|due|expire|安装|入职", name +
                                  column.comment) else 0
            return score, -late, generic, -candidates.index(column)

        return max(candidates, key=rank)

    def _compare_target(self, it: Item, items: list[Item], frame: Frame,
                        after: bool = False) -> tuple[Column | None, bool]:
        """The numeric column a comparison applies to: the nearest numeric word before it (or after)."""
        index = items.index(it)
        before = [x for x in reversed(items[:index]) if x.kind == "word"][:3]
        following = [x for x in items[index + 1:] if x.kind == "word"][:2]
        nearby = following + before if after else before + following
        for word in nearby:
            best = None
            for column in self.schema.columns():
                if not column.numeric or column.key_like or not self._reachable(frame.table, column.table):
                    continue
                score, own = self.linker.column_score(column, [word.concepts], own_only=True)
                if own and (best is None or score > best[0] or (score == best[0] and column.table == frame.table)):
                    best = (score, column)
            if best is not None:
                column = best[1]
                having = bool(frame.groups or frame.listing) and frame.measures != [] and \
                    frame.measures[0].column is not None and frame.measures[0].column.qualified == column.qualified
                return column, having
        if frame.measures and frame.measures[0].column is not None:
            return frame.measures[0].column, bool(frame.groups)
        return None, False


def _inflections(word: str) -> list[str]:
    """failed → fail, closed → close, lasting → last (for matching cell values)."""
    forms = []
    for suffix in ("ed", "d", "ing", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.append(word[: -len(suffix)])
    return forms


def _boundary(text: str, a: int, b: int) -> bool:
    """A value found inside a longer word is not a value (``L1`` inside ``L10``)."""
    before = text[a - 1] if a > 0 else " "
    after = text[b] if b < len(text) else " "

    def wordy(ch: str, edge: str) -> bool:
        return ch.isascii() and (ch.isalnum() or ch in "_-") and edge.isascii() and edge.isalnum()

    return not wordy(before, text[a]) and not wordy(after, text[b - 1])


def _number(raw: str, unit: str | None) -> float | int:
    value = float(raw)
    if unit == "万":
        value *= 10_000
    elif unit == "千":
        value *= 1_000
    elif unit == "%":
        value /= 100
    return int(value) if value.is_integer() else value


def _merge_ranges(ranges):
    start = min((r.start for r in ranges if r.start), default=None)
    end = max((r.end for r in ranges if r.end), default=None)
    first = ranges[0]
    first.start, first.end = start, end
    return first


def _label(name: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_").lower()
    return ascii_name or "value"


def _rate_label(column: Column) -> str:
    base = re.sub(r"_?(qty|quantity|minutes?|mins?|hours?|hrs?|count|cnt|num|amount|amt)$", "", column.name.lower())
    return f"{base or column.name.lower()}_rate"
