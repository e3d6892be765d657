"""Schema linking: an index from words (Chinese or English) to tables, columns and cell values.

Every table and column gets a bag of concepts from its name (split, abbreviations and pinyin
expanded), its comment, glossary synonyms and descriptions. A question word links to the
elements sharing one of its concepts, weighted by how specific the concept is (IDF over columns).
Chinese questions are segmented by longest match against the schema's own phrases (comments,
glossary, cell values) plus the built-in vocabulary, and by jieba for the rest.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from functools import cache

from zhizao.copilot.sql import lexicon
from zhizao.copilot.sql.glossary import Glossary
from zhizao.copilot.sql.schema import Column, Schema, Table

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
TABLE_WEIGHT = 0.35  # a word naming a column's table counts a little for the column


@cache
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def jieba_cut(text: str) -> list[str]:
    return [w for w in _jieba().lcut(text) if w.strip()]


@dataclass
class Element:
    """A table (``column is None``) or a column, with its concepts."""

    table: Table
    column: Column | None
    concepts: set[str] = field(default_factory=set)
    name_concepts: set[str] = field(default_factory=set)  # from the name alone (stronger than a comment)

    @property
    def key(self) -> str:
        return self.table.name if self.column is None else self.column.qualified


@dataclass
class ValueEntry:
    column: Column
    value: str


class Linker:
    def __init__(self, schema: Schema, glossary: Glossary) -> None:
        self.schema = schema
        self.glossary = glossary
        self.phrases: set[str] = set(lexicon.ZH)  # Chinese phrases used for segmentation
        self.schema_phrases: set[str] = set()  # Chinese phrases from comments/names/glossary (this schema's words)
        self.tables: dict[str, Element] = {}
        self.columns: dict[str, Element] = {}
        for table in schema.tables.values():
            element = Element(table, None, self._concepts(table.name, table.comment, column=False),
                              self._concepts(table.name, ""))
            self.tables[table.name] = element
            for column in table.columns:
                self.columns[column.qualified] = Element(table, column, self._concepts(column.name, column.comment))
        for target, words in glossary.descriptions.items():
            self._element(target).concepts |= self._text(words)
        for phrase, target in glossary.synonyms.items():
            self._element(target).concepts |= {"syn:" + phrase.lower()} | self._text(phrase)
            self.phrases.add(phrase.lower())
            self.schema_phrases.add(phrase.lower())
        # concept → number of columns carrying it (for IDF)
        self.df: dict[str, int] = {}
        for element in self.columns.values():
            for concept in element.concepts:
                self.df[concept] = self.df.get(concept, 0) + 1
        self.n_columns = max(1, len(self.columns))
        self.values: dict[str, list[ValueEntry]] = {}  # lower-cased value or value chunk → entries
        self.full_values: dict[str, list[ValueEntry]] = {}
        for column in schema.columns():
            for value in column.values or []:
                entry = ValueEntry(column, value)
                self.full_values.setdefault(value.lower(), []).append(entry)
                for chunk in self._value_chunks(value):
                    self.values.setdefault(chunk, []).append(entry)
        for phrase, (column_name, value) in glossary.values.items():
            table, _, col = column_name.partition(".")
            column = schema.tables[table].column(col)
            if column is not None:
                self.full_values.setdefault(phrase.lower(), []).append(ValueEntry(column, value))

    # -- building ------------------------------------------------------------------------------------------
    def _element(self, target: str) -> Element:
        return self.columns[target] if "." in target else self.tables[target]

    def _text(self, text: str) -> set[str]:
        concepts = lexicon.text_concepts(text)
        for run in _CJK_RUN.findall(text):
            concepts.add("zh:" + run)
            self.phrases.add(run)
            self.schema_phrases.add(run)
            for word in jieba_cut(run):
                if len(word) >= 2:
                    concepts.add("zh:" + word)
                    self.phrases.add(word)
                    self.schema_phrases.add(word)
        return concepts

    def _concepts(self, name: str, comment: str, column: bool = True) -> set[str]:
        """Concepts of a name and its comment; a table's comment without its parenthesised notes
        ("生产记录（每班每台设备）" is about records, not machines), a column's with them (units)."""
        concepts = lexicon.identifier_concepts(name) | {"name:" + name.lower()}
        if lexicon.has_cjk(name):
            concepts |= self._text(name)
        if comment:
            concepts |= self._text(re.sub(r"[（(][^）)]*[)）]", " ", comment))
            if column:
                concepts |= self._text(comment)
        return concepts

    @staticmethod
    def _value_chunks(value: str) -> set[str]:
        chunks = set()
        lowered = value.lower().strip()
        chunks.add(lowered)
        for run in _CJK_RUN.findall(lowered):
            if len(run) >= 2:
                chunks.add(run)
        words = re.findall(r"[a-z][a-z0-9\-]+", lowered)
        if len(words) > 1 or (words and lexicon.has_cjk(lowered)):
            for word in words:
                if len(word) >= 4 and word not in lexicon.EN_STOP:
                    chunks.add(word)
                    chunks.add(lexicon.stem(word))
        return chunks

    # -- question side -------------------------------------------------------------------------------------
    def segment_zh(self, text: str) -> list[tuple[str, int]]:
        """Chinese run → (word, offset): the split into known phrases (schema words, vocabulary, stop words)
        with the fewest pieces and unknown characters ("维修|工时", not "维修工|时"); jieba cuts the unknown rest."""
        n = len(text)
        longest = max((len(p) for p in self.phrases), default=1)
        best: list[tuple[float, int, bool]] = [(0.0, 0, False)] + [(float("inf"), 0, False)] * n
        for i in range(n):
            if best[i][0] == float("inf"):
                continue
            for j in range(i + 1, min(n, i + longest) + 1):
                piece = text[i:j]
                known = piece in self.phrases or piece in lexicon.ZH_STOP
                if not known and j > i + 1:
                    continue
                cost = best[i][0] + (1.0 if known else 3.0)
                if cost < best[j][0]:
                    best[j] = (cost, i, known)
        pieces: list[tuple[str, int, bool]] = []
        j = n
        while j > 0:
            _, i, known = best[j]
            pieces.insert(0, (text[i:j], i, known))
            j = i
        out: list[tuple[str, int]] = []
        pending, pending_at = "", 0
        for piece, at, known in pieces + [("", n, True)]:
            if known:
                if pending:
                    offset = pending_at
                    for word in jieba_cut(pending):
                        out.append((word, offset))
                        offset += len(word)
                    pending = ""
                if piece:
                    out.append((piece, at))
            else:
                pending_at = at if not pending else pending_at
                pending += piece
        return out

    def word_concepts(self, word: str) -> set[str]:
        if lexicon.has_cjk(word):
            concepts = lexicon.zh_concepts(word) | {"zh:" + word}
        else:
            concepts = lexicon.word_concepts(word) | {"name:" + word.lower(), "name:" + lexicon.stem(word)}
        concepts.add("syn:" + word.lower())
        return concepts

    def idf(self, concept: str) -> float:
        df = self.df.get(concept, 0)
        return math.log(1 + self.n_columns / df) if df else 0.0

    def column_score(self, column: Column, concept_sets: list[set[str]], own_only: bool = False) -> tuple[float, int]:
        """(score, words matching the column itself) for the question words' concept sets."""
        element = self.columns[column.qualified]
        table_concepts = self.tables[column.table].concepts
        score = 0.0
        own = 0
        for concepts in concept_sets:
            hit = concepts & element.concepts
            if hit:
                score += max(self.idf(c) or 1.0 for c in hit)
                own += 1
            elif not own_only and concepts & table_concepts:
                score += TABLE_WEIGHT * max(self.idf(c) or 1.0 for c in concepts & table_concepts)
        return score, own

    def table_score(self, table: Table, concept_sets: list[set[str]]) -> float:
        element = self.tables[table.name]
        score = 0.0
        for word_concepts in concept_sets:
            hit = word_concepts & element.concepts
            if hit:
                score += max(self.idf(c) or 1.0 for c in hit) + (1.0 if hit & element.name_concepts else 0.5)
        return score
