"""Group blocks into passages along headings and paragraphs.

A passage never crosses a heading or a page, keeps the heading path above it
("3 Maintenance > 3.2 Lubrication") and the number of its first paragraph, and is cut at
paragraph ends once it reaches ``max_chars``; a paragraph longer than that is cut at
sentence ends.
"""

from __future__ import annotations

import re

from zhizao.copilot.kb.model import Block, Chunk
from zhizao.copilot.kb.text import split_sentences, tokenize

MAX_CHARS = 600


def _pieces(text: str, max_chars: int) -> list[str]:
    """A paragraph as pieces of at most about ``max_chars``, cut between sentences."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        if current and len(current) + len(sentence) > max_chars:
            pieces.append(current)
            current = ""
        current = f"{current} {sentence}".strip() if current and not _cjk_end(current) else current + sentence
    if current:
        pieces.append(current)
    return pieces


def _cjk_end(text: str) -> bool:
    return "\u3400" <= text[-1] <= "\u9fff" or text[-1] in "。！？；："


def document_title(source: str, blocks: list[Block]) -> str:
    """The first top heading, else a short first line, plus the file name's words."""
    name = re.sub(r"[_\-.]+", " ", source.rsplit(".", 1)[0])
    for block in blocks[:5]:
        first = block.text.strip().split("\n", 1)[0]
        if block.kind == "heading" or len(first) <= 80:
            return f"{first} ({name})" if name not in first else first
    return name


def chunk_blocks(source: str, blocks: list[Block], max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Passages of a document; each is indexed with the document title and its heading path, so
    "the VMC-850's way oil" finds the lubrication section, which only says "way oil"."""
    title = document_title(source, blocks)
    chunks: list[Chunk] = []
    path: list[tuple[int, str]] = []  # (level, heading) from the top
    texts: list[str] = []
    first_paragraph = 0
    page: int | None = None
    paragraph = 0

    def flush() -> None:
        nonlocal texts
        if texts:
            headings = [h for _, h in path]
            body = "\n".join(texts)
            chunks.append(Chunk(source=source, ordinal=len(chunks), headings=headings, text=body,
                                paragraph=first_paragraph, page=page, title=title,
                                tokens=tokenize(title + "\n" + " ".join(headings) + "\n" + body)))
            texts = []

    for block in blocks:
        if block.kind == "heading":
            flush()
            while path and path[-1][0] >= block.level:
                path.pop()
            path.append((block.level, block.text))
            continue
        if block.page != page:
            flush()
            page = block.page
        paragraph += 1
        for piece in _pieces(block.text, max_chars):
            if texts and sum(len(t) for t in texts) + len(piece) > max_chars:
                flush()
            if not texts:
                first_paragraph = paragraph
            texts.append(piece)
    flush()
    return chunks
