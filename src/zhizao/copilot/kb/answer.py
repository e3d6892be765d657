"""Answer extraction: the sentences of the best passages that answer the question.

Candidates are sentence windows (a sentence, extended with the next ones while it is
shorter than ``MIN_WINDOW`` characters, so slide-like fragments such as "88.9%" +
"(分类识别准确率)" are read together). A window scores by the IDF-weighted share of the
question's terms it contains, the share found in its passage (heading path included),
the passage's retrieval score, and the kind of fact the question asks for: a quantity
question favours windows with numbers not already in the question, a date question
windows with dates. The best window is the answer (with the neighbouring windows of its
passage that score nearly as well); the citations are the passages, best first, each
quoted around its best window.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from zhizao.copilot.kb.model import Chunk
from zhizao.copilot.kb.text import numbers_in, split_sentences, stem, tokenize

MIN_WINDOW = 30
QUOTE_CHARS = 360
_NUM = r"\d[\d,.]*\s*"
# (what the question asks about, how an answer of that kind is written)
UNIT_KINDS: list[tuple[re.Pattern[str], re.Pattern[str]]] = [(re.compile(q, re.I), re.compile(a, re.I)) for q, a in (
    (r"pressure|压力|气压|压强", _NUM + r"(?:bar|mpa|kpa|pa|psi|兆帕|千帕|帕)"),
    (r"temperature|how hot|温度|多少度|多高温", _NUM + r"(?:°\s*[cf]|℃|度)"),
    (r"how long|how often|\bwhen\b|interval|frequency|duration|\btime\b|多久|多长时间|周期|间隔|频次|频率|时间|"
     r"多少(?:小时|分钟|天|秒|毫秒|年)|几(?:小时|分钟|天|年|个月)",
     _NUM + r"(?:ms|s|sec|seconds?|min|minutes?|h|hrs?|hours?|days?|weeks?|months?|years?|shifts?|"
     r"毫秒|秒|分钟|小时|天|日|周|个月|月|年|班)(?![a-z])|every (?:shift|day|week|month|year)|"
     r"\b(?:daily|weekly|monthly|yearly|annually)\b|每(?:班|天|日|周|月|年|季度)"),
    (r"speed|rpm|how fast|转速|速度", _NUM + r"(?:rpm|r/min|m/min|m/s|mm/s|km/h|metres per|meters per|转|米每|厘米每)"),
    (r"power|功率", _NUM + r"(?:kw|mw|w|千瓦|瓦)(?![a-z])"),
    (r"weight|weigh|\bmass\b|重量|多重", _NUM + r"(?:kg|t|tonnes?|tons?|吨|公斤|千克)(?![a-z])"),
    (r"length|size|diameter|thickness|\bgap\b|clearance|distance|depth|runout|backlash|how far|deviation|"
     r"长度|尺寸|直径|厚度|间隙|距离|深度|范围|偏差|多长|多大|多宽",
     _NUM + r"(?:mm|cm|m|µm|μm|micrometres?|microns?|毫米|厘米|米|微米|丝)(?![a-z])"),
    (r"capacity|volume|\bhold|how much (?:oil|water|coolant)|容量|容积|多少升",
     _NUM + r"(?:litres?|liters?|l|m3|m³|cubic|升|立方)(?![a-z])"),
    (r"force|锁模力|[^动]力(?:是|为|有)?多", _NUM + r"(?:kn|n|千牛|牛|吨)(?![a-z])"),
    (r"torque|扭矩|力矩", _NUM + r"(?:n·m|n\.m|nm|n m|牛·米|牛米)"),
    (r"\bcost|price|expense|费用|成本|金额|多少钱|损失",
     r"(?:€|\$|¥|usd|rmb|eur)\s*\d|" + _NUM + r"(?:euros?|dollars?|yuan|usd|rmb|元|万元|美元|欧元)"),
    (r"voltage|电压", _NUM + r"(?:v|kv|伏)(?![a-z])"),
    (r"\bcurrent\b|电流", _NUM + r"(?:a|amps?|amperes?|安培|安)(?![a-z])"),
    (r"percent|percentage|\brate\b|ratio|share|concentration|accuracy|yield|purity|百分|比例|比率|率|浓度|纯度",
     _NUM + r"(?:%|percent|per cent)|百分之"),
)]
QUANTITY_CUES = re.compile(
    r"多少|几[个台次天年月周小分秒种项条件起套人家]|多久|多长|多大|多高|多重|多远|\bhow (?:many|much|long|often|far|"
    r"big|high|fast)\b|" + "|".join(q.pattern for q, _ in UNIT_KINDS), re.I)
COUNT_NOUN_EN = re.compile(r"\bhow many ([a-z]+)", re.I)
COUNT_NOUN_ZH = re.compile(r"(?:多少|几)([\u4e00-\u9fff])")
CHANGE_CUES = re.compile(r"减少|降低|提高|提升|缩短|增加|下降|上升|"
                         r"\b(?:reduc|increas|improv|decreas|cut|sav|rais|lower)", re.I)
PERCENT = re.compile(_NUM + r"(?:%|percent|per cent)|百分之", re.I)
IDENT_CUES = re.compile(r"\bwhat [a-z0-9 -]{0,30}\b(?:is|are) used\b|用什么|使用什么|采用什么|\bwhich\b|"
                        r"\bwhat (?:type|model|grade|brand|form|code|kind|part|number)|型号|牌号|编号|代号|"
                        r"什么牌|哪[个台种家位款]|什么(?:油|焊丝|材料|表单)", re.I)
IDENT_RE = re.compile(r"\b[A-Za-z]{1,8}[-\s]?\d[\w.\-]*|\d+\s*号")
CAUSE_CUES = re.compile(r"\bwhy\b|root cause|\bcaus|\breason|为什么|为何|原因|怎么会", re.I)
CAUSE_RE = re.compile(r"\bbecause\b|\bdue to\b|caused by|root cause|as a result of|\breason\b|原因|由于|导致|因为|造成",
                      re.I)
COLOUR_CUES = re.compile(r"colou?r|颜色|什么色", re.I)
COLOUR_RE = re.compile(r"\b(?:red|yellow|green|blue|black|white|orange|grey|gray|purple|brown)\b|"
                       r"[红黄绿蓝黑白橙灰紫]色", re.I)
DATE_CUES = re.compile(r"何时|什么时候|哪一?年|哪天|日期|\bwhen\b|\bwhat (?:year|date|day)\b|\bdate\b", re.I)
DATE_RE = re.compile(r"\d{4}\s*[-/年.]\s*\d{1,2}(?:\s*[-/月.]\s*\d{1,2}\s*日?)?|\d{1,2}\s*月\s*\d{1,2}\s*日|"
                     r"\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s+\d{4}|"
                     r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}|"
                     r"\b(?:19|20)\d{2}\b", re.I)


@dataclass(frozen=True)
class AnswerKind:
    """What kind of fact the question asks for, read from its wording."""

    quantity: bool
    units: tuple[re.Pattern[str], ...]
    count_noun: str | None
    identifier: bool
    colour: bool
    cause: bool
    date: bool
    question_numbers: frozenset[str]
    question_idents: frozenset[str]

    @classmethod
    def of(cls, question: str) -> AnswerKind:
        noun = COUNT_NOUN_EN.search(question) or COUNT_NOUN_ZH.search(question)
        count_noun = None
        if noun:
            count_noun = noun.group(1).lower()
            count_noun = count_noun if count_noun[0] > "\u2e80" else stem(count_noun)
        return cls(quantity=QUANTITY_CUES.search(question) is not None,
                   units=tuple(a for q, a in UNIT_KINDS if q.search(question))
                   + ((PERCENT,) if CHANGE_CUES.search(question) else ()), count_noun=count_noun,
                   identifier=IDENT_CUES.search(question) is not None, colour=COLOUR_CUES.search(question) is not None,
                   cause=CAUSE_CUES.search(question) is not None,
                   date=DATE_CUES.search(question) is not None, question_numbers=frozenset(numbers_in(question)),
                   question_idents=frozenset(m.group().lower() for m in IDENT_RE.finditer(question)))

    def bonus(self, text: str) -> float:
        """How well ``text`` holds the kind of fact asked for (0 when nothing is asked for)."""
        score = 0.0
        undated = DATE_RE.sub(" ", text) if not self.date else text
        if self.quantity:
            fresh = numbers_in(undated) - self.question_numbers
            score += 0.15 if fresh else -0.1
            if fresh and any(u.search(undated) for u in self.units):
                score += 0.3
            if fresh and self.count_noun and _counts(undated, self.count_noun):
                score += 0.3
        if self.identifier and any(m.group().lower() not in self.question_idents for m in IDENT_RE.finditer(text)):
            score += 0.25
        if self.colour and COLOUR_RE.search(text):
            score += 0.3
        if self.cause and CAUSE_RE.search(text):
            score += 0.25
        if self.date and DATE_RE.search(text):
            score += 0.25
        return score


def _counts(text: str, noun: str) -> bool:
    """A number directly followed by the counted noun: "1,200 units", "126 起"."""
    if noun[0] > "\u2e80":
        return re.search(r"\d\s*" + re.escape(noun), text) is not None
    return any(stem(w.lower()) == noun for w in re.findall(r"\d[\d,.]*\s+([A-Za-z]+)", text))


@dataclass
class Candidate:
    text: str
    start: int  # index of its first sentence in the passage
    end: int  # one past its last sentence
    score: float


@dataclass
class PassageAnswer:
    chunk: Chunk
    best: Candidate
    windows: list[Candidate]
    sentences: list[str]
    coverage: float  # share of the question's (weighted) terms found in the passage


def _weight(terms: set[str], idf: dict[str, float], default: float) -> float:
    return sum(idf.get(t, default) for t in terms)


def _weight(terms: Iterable[str], weights: dict[str, float], idf: dict[str, float], default: float) -> float:
    return sum(weights[t] * idf.get(t, default) for t in terms)


def score_passages(question: str, weights: dict[str, float], passages: list[tuple[Chunk, float]],
                   idf: dict[str, float]) -> list[PassageAnswer]:
    """Score the windows of each passage; passages come back best first. ``weights``: the
    question's terms and their weights (translations count less)."""
    default_idf = max(idf.values(), default=1.0)
    terms = set(weights)
    total = _weight(terms, weights, idf, default_idf) or 1.0
    kind = AnswerKind.of(question)
    top_retrieval = max((s for _, s in passages), default=0.0) or 1.0
    results: list[PassageAnswer] = []
    for chunk, retrieval in passages:
        sentences = split_sentences(chunk.text)
        if not sentences:
            continue
        context_share = _weight(terms & set(chunk.tokens), weights, idf, default_idf) / total
        # Words of the document's title say which document, not which sentence: they count a third.
        title_terms = set(tokenize(chunk.title))
        local = {term: weight / 3 if term in title_terms else weight for term, weight in weights.items()}
        windows: list[Candidate] = []
        for i in range(len(sentences)):
            text = sentences[i]
            j = i + 1
            while len(text) < MIN_WINDOW and j < len(sentences):
                text = f"{text} {sentences[j]}"
                j += 1
            tokens = set(tokenize(text))
            matched = terms & tokens
            share = _weight(matched, local, idf, default_idf) / total
            # Focus: a short table row "Working pressure: 7.5 bar" beats a long sentence that also
            # mentions a working pressure among other things.
            words = {t for t in tokens if not t[0].isdigit()}
            focus = len(matched & words) / len(words) if words else 0.0
            score = (share + 0.35 * context_share + 0.25 * retrieval / top_retrieval + 0.2 * focus
                     + kind.bonus(text))
            if text.rstrip().endswith(("?", "？")):
                score -= 0.3  # a question in the document is not an answer
            windows.append(Candidate(text, i, j, score))
        best = max(windows, key=lambda c: c.score)
        results.append(PassageAnswer(chunk, best, windows, sentences, context_share))
    results.sort(key=lambda p: p.best.score, reverse=True)
    return results


def answer_text(best: PassageAnswer, max_windows: int = 3, near: int = 3) -> str:
    """The best window plus nearby windows of the same passage that score nearly as well
    (a list of three drivers, a value and its label), in reading order, each sentence once."""
    top = best.best
    chosen = [top]
    for window in sorted(best.windows, key=lambda c: c.score, reverse=True):
        if len(chosen) >= max_windows or window.score < 0.85 * top.score:
            break
        if window is not top and abs(window.start - top.start) <= near:
            chosen.append(window)
    covered = sorted({i for c in chosen for i in range(c.start, c.end)})
    return _join(best.sentences[i] for i in covered)


def quote(passage: PassageAnswer, max_chars: int = QUOTE_CHARS) -> str:
    """The passage around its best window, at most about ``max_chars``."""
    sentences = passage.sentences
    text = passage.best.text
    before, after = passage.best.start - 1, passage.best.end
    while True:
        grown = False
        if after < len(sentences) and len(text) + len(sentences[after]) <= max_chars:
            text = _join([text, sentences[after]])
            after += 1
            grown = True
        if before >= 0 and len(text) + len(sentences[before]) <= max_chars:
            text = _join([sentences[before], text])
            before -= 1
            grown = True
        if not grown:
            return text


def _join(parts) -> str:
    out = ""
    for part in parts:
        if not out:
            out = part
        elif re.search(r"[。！？；：，]$", out) and re.match(r"[\u3400-\u9fff（]", part):
            out += part  # Chinese sentences follow each other without a space; lines keep one
        else:
            out += " " + part
    return out
