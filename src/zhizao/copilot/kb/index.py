"""The knowledge base folder and its ranking.

Layout of ``DIR``: ``documents.json`` (one entry per source: classification, kind,
content hash, counts) and ``chunks/<id>.jsonl`` (its passages with their tokens, so a
question never re-tokenises the corpus). Adding a source that exists replaces it. Writes
are atomic (write, then rename); the in-memory index is rebuilt lazily after a change.

Ranking is hybrid: BM25 (bm25s) over the tokens of ``text.tokenize`` — jieba words and
character bigrams for Chinese, stemmed words for English — and, when a local embedding
model is configured (``ZHIZAO_KB_EMBEDDING_MODEL``: a folder readable by
sentence-transformers; never downloaded), cosine similarity fused with the BM25 score.
Passages are filtered by the reader's clearance before ranking.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from zhizao.copilot.kb.answer import answer_text, quote, score_passages
from zhizao.copilot.kb.chunking import chunk_blocks
from zhizao.copilot.kb.loaders import load_document
from zhizao.copilot.kb.model import (
    DEFAULT_CLASSIFICATION,
    LEVELS,
    Answer,
    Block,
    Chunk,
    Citation,
    KbError,
    check_level,
    levels_for,
)
from zhizao.copilot.kb.text import tokenize

log = logging.getLogger(__name__)

EMBEDDING_ENV = "ZHIZAO_KB_EMBEDDING_MODEL"
CANDIDATES = 12  # passages read by answer extraction
EMBEDDING_WEIGHT = 0.35
# Below this share of the question's words in the best passage there is no answer. On the benchmark set
# the passages answering a question cover at least 0.36 of its words (median 1.0); the best passage of a
# document about something else covers a median of 0.13 (a third of them 0.3 or more: a guard, not a filter).
MIN_COVERAGE = 0.3
# ``zhizao kb ask`` answers more often: a batch caller reads the citations as well.
BATCH_MIN_COVERAGE = 0.15


class Embedder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


def local_embedder() -> Embedder | None:
    """The configured local embedding model, or None (the default: BM25 alone)."""
    path = os.environ.get(EMBEDDING_ENV)
    if not path:
        return None
    if not Path(path).is_dir():
        log.warning("%s=%s is not a folder; knowledge base search uses BM25 only", EMBEDDING_ENV, path)
        return None
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        log.warning("%s is set but sentence-transformers is not installed; BM25 only", EMBEDDING_ENV)
        return None
    model = SentenceTransformer(path, local_files_only=True)

    class _Embedder:
        def encode(self, texts: list[str]) -> np.ndarray:
            return np.asarray(model.encode(texts, normalize_embeddings=True))

    return _Embedder()


@cache
def cross_language_terms() -> dict[str, list[str]]:
    """English word stem -> Chinese terms (and back), from ``terms.json``."""
    data = json.loads(resources.files("zhizao.copilot.kb").joinpath("terms.json").read_text(encoding="utf-8"))
    mapping: dict[str, list[str]] = {}
    for english, zh_terms in data["terms"].items():
        for stem_ in tokenize(english):
            mapping.setdefault(stem_, []).extend(zh_terms)
        for zh in zh_terms:
            mapping.setdefault(zh, []).append(english.lower())
    return mapping


EXPANSION_WEIGHT = 0.5  # a translated term counts half as much as the question's own words


def query_terms(question: str) -> dict[str, float]:
    """Weighted terms of a question: its own tokens (1.0) and their translations from
    ``terms.json`` (``EXPANSION_WEIGHT``), so an English question finds a Chinese passage and back
    while a same-language passage that says the same thing still ranks first."""
    own = tokenize(question)
    mapping = cross_language_terms()
    weights = dict.fromkeys(own, 1.0)
    for token in set(own):
        for other in mapping.get(token, ()):
            # A Chinese term tokenises into a word, its parts and bigrams: share the weight among them
            # so a translation counts as much as one word.
            extra = set(tokenize(other))
            for term in extra:
                weights.setdefault(term, EXPANSION_WEIGHT / math.sqrt(len(extra)))
    return weights


def _with_context(question: str, context: str) -> dict[str, float]:
    """The question's weighted terms, plus those of the previous question at half weight."""
    weights = query_terms(question)
    for term, weight in (query_terms(context).items() if context else ()):
        weights.setdefault(term, weight / 2)
    return weights


def word_groups(question: str) -> list[set[str]]:
    """Each word of the question with its translations' terms: a passage covers the word when it has any."""
    mapping = cross_language_terms()
    groups = []
    for word in dict.fromkeys(tokenize(question, bigrams=False)):
        group = {word}
        for other in mapping.get(word, ()):
            group.update(tokenize(other))
        groups.append(group)
    return groups


def coverage(groups: list[set[str]], tokens: set[str], idf: dict[str, float]) -> float:
    """IDF-weighted share of the question's words found (in either language) in a passage."""
    default = max(idf.values(), default=1.0)
    weights = [max(idf.get(t, default) for t in group) for group in groups]
    total = sum(weights) or 1.0
    return sum(w for w, group in zip(weights, groups, strict=True) if group & tokens) / total


@dataclass
class AddReport:
    added: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "errors": self.errors}


@dataclass
class _Index:
    chunks: list[Chunk]
    classification: np.ndarray  # level index per chunk
    bm25: Any
    idf: dict[str, float]
    embeddings: np.ndarray | None


def _chunk_file_name(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:20] + ".jsonl"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class KnowledgeBase:
    """Documents and records in a folder; ``add`` files, ``ask`` questions."""

    def __init__(self, folder: Path | str, embedder: Embedder | None = None) -> None:
        self.folder = Path(folder)
        self.embedder = embedder if embedder is not None else local_embedder()
        self._lock = threading.RLock()
        self._index: _Index | None = None
        self._catalogue_mtime: float | None = None

    # -- storage -------------------------------------------------------------------------------------------
    @property
    def _catalogue_path(self) -> Path:
        return self.folder / "documents.json"

    def documents(self) -> dict[str, dict[str, Any]]:
        """Source name -> its entry (classification, kind, chunks, paragraphs, pages, sha256, added_ms)."""
        path = self._catalogue_path
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))["documents"]
        except (ValueError, KeyError) as exc:
            raise KbError(f"{path}: not a knowledge base catalogue ({exc})") from None

    def _save_documents(self, documents: dict[str, dict[str, Any]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(self._catalogue_path, json.dumps({"version": 1, "documents": documents},
                                                       ensure_ascii=False, indent=1))
        self._index = None

    def _store(self, source: str, chunks: list[Chunk], entry: dict[str, Any]) -> None:
        folder = self.folder / "chunks"
        folder.mkdir(parents=True, exist_ok=True)
        lines = "\n".join(json.dumps(c.to_json(), ensure_ascii=False) for c in chunks)
        _write_atomic(folder / _chunk_file_name(source), lines + "\n")
        with self._lock:
            documents = self.documents()
            documents[source] = entry
            self._save_documents(documents)

    def add_blocks(self, source: str, blocks: list[Block], classification: str = DEFAULT_CLASSIFICATION,
                   kind: str = "document", digest: str | None = None) -> dict[str, Any]:
        """Store one source's blocks as passages (replacing an earlier version of it)."""
        classification = check_level(classification)
        chunks = chunk_blocks(source, blocks)
        if not chunks:
            raise KbError(f"{source}: no text found")
        pages = {b.page for b in blocks if b.page is not None}
        entry = {"source": source, "classification": classification, "kind": kind,
                 "sha256": digest or hashlib.sha256("\n".join(c.text for c in chunks).encode()).hexdigest(),
                 "chunks": len(chunks), "paragraphs": sum(1 for b in blocks if b.kind == "text"),
                 "pages": len(pages) or None, "added_ms": int(time.time() * 1000)}
        self._store(source, chunks, entry)
        return entry

    def add_files(self, paths: Iterable[Path | str], classification: str = DEFAULT_CLASSIFICATION,
                  progress: Callable[[Path], None] | None = None) -> AddReport:
        """Add files; a file that cannot be read is reported (naming it) and the others continue."""
        classification = check_level(classification)
        report = AddReport()
        for raw in paths:
            path = Path(raw)
            try:
                blocks = load_document(path)
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                entry = self.add_blocks(path.name, blocks, classification, "document", digest)
                report.added.append(entry)
            except KbError as exc:
                report.errors.append({"file": str(path), "error": str(exc)})
            except Exception as exc:  # a parser bug must not stop the batch; say which file
                log.exception("knowledge base: %s", path)
                report.errors.append({"file": str(path), "error": f"{path.name}: {type(exc).__name__}: {exc}"})
            if progress:
                progress(path)
        return report

    def remove(self, source: str) -> bool:
        with self._lock:
            documents = self.documents()
            if source not in documents:
                return False
            del documents[source]
            (self.folder / "chunks" / _chunk_file_name(source)).unlink(missing_ok=True)
            self._save_documents(documents)
            return True

    def set_classification(self, source: str, classification: str) -> dict[str, Any]:
        classification = check_level(classification)
        with self._lock:
            documents = self.documents()
            if source not in documents:
                raise KbError(f"source: no document {source!r} in the knowledge base")
            documents[source]["classification"] = classification
            self._save_documents(documents)
            return documents[source]

    # -- index -----------------------------------------------------------------------------------------------
    def _load_index(self) -> _Index | None:
        with self._lock:
            path = self._catalogue_path
            mtime = path.stat().st_mtime_ns if path.exists() else None
            if self._index is not None and mtime == self._catalogue_mtime:
                return self._index
            documents = self.documents()
            chunks: list[Chunk] = []
            levels: list[int] = []
            for source, entry in documents.items():
                file = self.folder / "chunks" / _chunk_file_name(source)
                if not file.exists():
                    log.warning("knowledge base %s: passages of %s are missing", self.folder, source)
                    continue
                for line in file.read_text(encoding="utf-8").splitlines():
                    if line:
                        chunks.append(Chunk(**json.loads(line)))
                        levels.append(LEVELS.index(entry["classification"]))
            self._catalogue_mtime = mtime
            if not chunks:
                self._index = None
                return None
            import bm25s

            bm25 = bm25s.BM25()
            bm25.index([c.tokens or ["\u0000"] for c in chunks], show_progress=False)
            df = Counter(t for c in chunks for t in set(c.tokens))
            n = len(chunks)
            idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
            embeddings = None
            if self.embedder is not None:
                embeddings = self.embedder.encode([c.title + "\n" + " ".join(c.headings) + "\n" + c.text
                                                   for c in chunks])
            self._index = _Index(chunks, np.asarray(levels), bm25, idf, embeddings)
            return self._index

    def search(self, question: str, clearance: str = "secret", k: int = CANDIDATES,
               context: str = "") -> list[tuple[Chunk, float]]:
        """The ``k`` best passages the reader may see, with their scores, best first."""
        allowed = [LEVELS.index(level) for level in levels_for(clearance)]
        index = self._load_index()
        if index is None:
            return []
        scores = np.zeros(len(index.chunks))
        weights = _with_context(question, context)
        own = [t for t, w in weights.items() if w == 1.0 and t in index.idf]
        if own:
            scores += np.asarray(index.bm25.get_scores(own), dtype=float)
        for term, weight in weights.items():
            if weight < 1.0 and term in index.idf:
                scores += weight * np.asarray(index.bm25.get_scores([term]), dtype=float)
        if index.embeddings is not None and self.embedder is not None:
            top = scores.max() or 1.0
            similarity = index.embeddings @ self.embedder.encode([question])[0]
            scores = (1 - EMBEDDING_WEIGHT) * scores / top + EMBEDDING_WEIGHT * np.clip(similarity, 0, None)
        scores[~np.isin(index.classification, allowed)] = -np.inf
        order = np.argsort(-scores)[:k]
        return [(index.chunks[i], float(scores[i])) for i in order if np.isfinite(scores[i]) and scores[i] > 0]

    def ask(self, question: str, clearance: str = "secret", citations: int = 3,
            min_coverage: float = MIN_COVERAGE, context: str = "") -> Answer:
        """The answer sentences and the passages they come from, best first. Empty when no passage the
        reader may see has at least ``min_coverage`` of the question's words (no guessing).
        ``context``: the previous question of a follow-up ("那空气滤芯呢？"), whose words count half."""
        if not question or not question.strip():
            raise KbError("question: empty")
        passages = self.search(question, clearance, context=context)
        if not passages:
            return Answer("", [])
        index = self._load_index()
        scored = score_passages(question, _with_context(question, context), passages, index.idf if index else {})
        groups = word_groups(question) + (word_groups(context) if context else [])
        if not scored or coverage(groups, set(scored[0].chunk.tokens), index.idf if index else {}) < min_coverage:
            return Answer("", [])
        documents = self.documents()
        cited = [Citation(source=p.chunk.source, text=quote(p), position=p.chunk.position(),
                          headings=p.chunk.headings,
                          classification=documents.get(p.chunk.source, {}).get("classification", ""),
                          score=p.best.score) for p in scored[:citations]]
        return Answer(answer_text(scored[0]), cited)
