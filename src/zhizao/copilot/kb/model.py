"""Plain types of the knowledge base: blocks, chunks, answers and classification levels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Classification levels, least to most restricted; a user cleared for a level sees it and all below.
LEVELS = ("public", "internal", "confidential", "secret")
DEFAULT_CLASSIFICATION = "internal"


class KbError(Exception):
    """Bad input for the knowledge base; the message names the file or field."""


def check_level(level: str, field_name: str = "classification") -> str:
    level = (level or "").strip().lower()
    if level not in LEVELS:
        raise KbError(f"{field_name}: unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    return level


def levels_for(clearance: str) -> tuple[str, ...]:
    """The classifications a user with ``clearance`` may read."""
    return LEVELS[: LEVELS.index(check_level(clearance, "clearance")) + 1]


@dataclass
class Block:
    """A heading or a paragraph (list item, table row...) as read from a document."""

    kind: str  # "heading" | "text"
    text: str
    level: int = 0  # heading level (1 = top)
    page: int | None = None


@dataclass
class Chunk:
    """A passage: consecutive paragraphs under one heading path, on one page."""

    source: str
    ordinal: int
    headings: list[str]
    text: str
    paragraph: int  # first paragraph's number in the document (1-based)
    page: int | None = None
    title: str = ""  # the document's title, indexed with every passage
    tokens: list[str] = field(default_factory=list)

    def position(self) -> str:
        where = f"p.{self.page} " if self.page is not None else ""
        return f"{where}¶{self.paragraph}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Citation:
    source: str
    text: str
    position: str
    headings: list[str]
    classification: str
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "text": self.text, "position": self.position,
                "section": " > ".join(self.headings), "classification": self.classification,
                "score": round(self.score, 4)}


@dataclass
class Answer:
    answer: str
    citations: list[Citation]

    def to_json(self) -> dict[str, Any]:
        return {"answer": self.answer, "citations": [c.to_json() for c in self.citations]}
