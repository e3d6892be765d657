"""Tokenising and sentence splitting for Chinese and English text.

Chinese runs are cut by jieba (search mode, so compounds also yield their parts) and
also give character bigrams, which keep recall when jieba segments a name differently
in the question and in the document. English words are lower-cased and lightly stemmed
(plural, -ed, -ing, -ly), numbers are kept whole ("6.5", "40", "2024-03") and also as
their integer part, so "6.5 hours" and "6.5小时" meet.
"""

from __future__ import annotations

import re
import threading
from functools import cache

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN_RE = re.compile(rf"[{_CJK}]+|[A-Za-z0-9]+(?:[.\-_/:][A-Za-z0-9]+)*%?")
NUMBER_RE = re.compile(r"(?<![A-Za-z\d.,-])\d+(?:[.,:]\d+)*")
CJK_RE = re.compile(rf"[{_CJK}]")

EN_STOP = frozenset(
    "a an the of to in on at for by with from and or is are was were be been being it its this that these those "
    "what which who whom whose when where why how do does did done can could should would will shall may might "
    "must has have had as than then there their they them we our you your i me my he she his her not no yes "
    "about into over under after before per each any all some much many more most such if so also".split()
)
ZH_STOP = frozenset(
    "的 了 是 在 和 与 及 或 把 被 对 从 为 以 也 就 都 而 并 之 其 这 那 此 该 有 个 吗 呢 吧 啊 么 "
    "什么 多少 哪些 哪个 哪里 怎么 怎样 如何 为什么 是否 几 请问 请 一下 可以 能 会 要 需要 进行 通过 "
    "根据 报告 中 上 下 时 后 前 里 内 我们 你们 他们 它们 一个 一种".split()
)


@cache
def _jieba():
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


_jieba_lock = threading.Lock()


def stem(word: str) -> str:
    """A light English stemmer: enough to match plural/verb forms without a dictionary."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ied", "y"), ("ments", ""), ("ment", ""), ("ings", ""),
                         ("ing", ""), ("edly", ""), ("ed", ""), ("ly", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "es" and word[-3] not in "sxz" and not word.endswith(("ches", "shes")):
                word = word[:-1]
            elif not (suffix == "s" and word.endswith("ss")):
                word = word[: len(word) - len(suffix)] + repl
            break
    # "replace", "replaced", "replacement" -> "replac"
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _cjk_tokens(run: str, bigrams: bool = True) -> list[str]:
    jieba = _jieba()
    with _jieba_lock:  # jieba's lazy state is not thread-safe
        words = jieba.lcut_for_search(run) if bigrams else jieba.lcut(run)
    out = [w for w in words if w not in ZH_STOP and not (len(w) == 1 and w in ZH_STOP)]
    if bigrams:
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    if len(run) == 1 and run not in ZH_STOP:
        out.append(run)
    return out


def tokenize(text: str, bigrams: bool = True) -> list[str]:
    """Index terms of ``text`` (the same function serves documents and questions). ``bigrams=False``:
    words only (whole jieba words for Chinese), to count which words of a question a passage has."""
    tokens: list[str] = []
    for match in TOKEN_RE.finditer(text):
        run = match.group()
        if CJK_RE.match(run):
            tokens.extend(_cjk_tokens(run, bigrams))
            continue
        word = run.lower().rstrip("%")
        if word in EN_STOP:
            continue
        if NUMBER_RE.fullmatch(word) or word[0].isdigit():
            tokens.append(word)
            head = NUMBER_RE.match(word)
            if head and head.group() != word:
                tokens.append(head.group())
            continue
        if any(sep in word for sep in ".-_/:"):
            tokens.append(word)
            tokens.extend(stem(p) for p in re.split(r"[.\-_/:]", word) if p and p not in EN_STOP)
            continue
        tokens.append(stem(word))
    return tokens


_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.])(?=\s+[A-Z\"“(0-9])|\n+")


_ABBREVIATION = re.compile(r"(?:\b(?:no|nr|fig|approx|e\.g|i\.e|vs|ca|max|min|ref|art|sec|ch|vol|p|pp|dr|mr|ms|"
                           r"co|inc|ltd|st|[a-z])\.)$", re.I)


def split_sentences(text: str) -> list[str]:
    """Sentences and lines of a passage (list items and table rows are lines); "No. 2" and "e.g. 5"
    do not end a sentence."""
    sentences: list[str] = []
    glue = False
    for part in _SENTENCE_END.split(text):
        part = part.strip()
        if not part:
            continue
        if glue and sentences:
            sentences[-1] = f"{sentences[-1]} {part}"
        else:
            sentences.append(part)
        glue = _ABBREVIATION.search(part) is not None
    return [s for s in sentences if any(ch.isalnum() for ch in s)]


def numbers_in(text: str) -> set[str]:
    return set(NUMBER_RE.findall(text))


def has_cjk(text: str) -> bool:
    return CJK_RE.search(text) is not None
