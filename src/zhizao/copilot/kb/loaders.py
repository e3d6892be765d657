"""Read documents into heading and text blocks: txt, md, html, pdf and docx.

Tables become one line per row, each cell prefixed by its column header
("部件: 主轴轴承; 周期: 2000 h"), so a row read alone still says what its numbers are.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from zhizao.copilot.kb.model import Block, KbError

MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
MD_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
# Plain-text headings: "3.2 Lubrication", "4 Safety", "第二章 设备保养", "二、安全要求" — short, no closing
# punctuation. "1. Remove the cover" is read as a list item, not a heading.
NUMBERED_HEADING = re.compile(
    r"^(?:(\d+(?:\.\d+){1,4})\.?\s+|(\d+)\s+|第[一二三四五六七八九十百零\d]+[章节条部分]\s*|[一二三四五六七八九十]+、\s*)"
    r"[^\s。；;，,:：!?！？\d].{0,50}$")
_SENTENCE_PUNCT = "。；;，,：:!?！？."


def heading_level(line: str) -> int | None:
    """Heading level of a plain-text line that looks like a numbered heading, else None."""
    line = line.strip()
    if len(line) > 60 or line[-1:] in _SENTENCE_PUNCT:
        return None
    match = NUMBERED_HEADING.match(line)
    if not match:
        return None
    if match.group(1):
        return match.group(1).count(".") + 1
    return 1


def _row_text(header: list[str] | None, cells: list[str]) -> str:
    cells = [c.strip() for c in cells]
    if header and len(header) == len(cells) and header != cells:
        return "; ".join(f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=True) if c)
    return " | ".join(c for c in cells if c)


def _table_blocks(rows: list[list[str]], page: int | None = None) -> list[Block]:
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return []
    header = [c.strip() for c in rows[0]]
    lines = [" | ".join(header)] + [_row_text(header, r) for r in rows[1:]]
    return [Block("text", "\n".join(lines), page=page)]


def _paragraph_blocks(lines: list[str], page: int | None, markdown: bool) -> list[Block]:
    """Blank-line separated paragraphs; headings (markdown or numbered) on their own."""
    blocks: list[Block] = []
    para: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if para:
            blocks.append(Block("text", "\n".join(para), page=page))
            para.clear()
        if table:
            blocks.extend(_table_blocks(table, page))
            table.clear()

    for raw in lines:
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        if markdown:
            m = MD_HEADING.match(stripped)
            if m:
                flush()
                blocks.append(Block("heading", _strip_md(m.group(2)), level=len(m.group(1)), page=page))
                continue
            if stripped.startswith("|"):
                if para:
                    blocks.append(Block("text", "\n".join(para), page=page))
                    para.clear()
                if not MD_TABLE_RULE.match(stripped):
                    table.append(stripped.strip("|").split("|"))
                continue
            if set(stripped) <= set("-=*_ ") and len(stripped) >= 3:  # rules
                flush()
                continue
        if table:
            flush()
        level = None if markdown else heading_level(stripped)
        if level is not None:
            flush()
            blocks.append(Block("heading", stripped, level=level, page=page))
            continue
        para.append(_strip_md(stripped) if markdown else stripped)
    flush()
    return blocks


def _strip_md(text: str) -> str:
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"(\*\*|__|`)", "", text).strip()


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise KbError(f"{path.name}: not UTF-8 or GB18030 text")


def load_txt(path: Path) -> list[Block]:
    text = _read_text(path)
    markdown = bool(re.search(r"^#{1,6}\s+\S", text, re.M))
    return _paragraph_blocks(text.splitlines(), None, markdown)


def load_md(path: Path) -> list[Block]:
    return _paragraph_blocks(_read_text(path).splitlines(), None, True)


HTML_BLOCKS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "dt", "dd", "table",
                         "figcaption", "caption"})
# Elements that break the text flow: text on either side of them is a separate paragraph.
HTML_BREAKS = frozenset({"div", "section", "article", "main", "body", "header", "footer", "aside", "form", "center",
                         "ul", "ol", "dl", "figure", "details", "summary", "address", "hr", "tr", "td", "th", "tbody"})


def load_html(path: Path) -> list[Block]:
    """Headings, paragraphs, list items and tables in document order, plus text sitting directly in
    containers (``<div>text<br>more</div>``), which generated pages often have."""
    from bs4 import BeautifulSoup, Comment, NavigableString

    soup = BeautifulSoup(_read_text(path), "lxml")
    for tag in soup(["script", "style", "nav", "noscript", "template", "head"]):
        tag.decompose()
    blocks: list[Block] = []
    loose: list[str] = []

    def flush() -> None:
        for line in "".join(loose).split("\n"):
            line = re.sub(r"\s+", " ", line).strip()
            if line:
                blocks.append(Block("text", line))
        loose.clear()

    def element(node) -> None:
        name = node.name
        if name == "table":
            rows = [[cell.get_text(" ", strip=True) for cell in tr.find_all(["th", "td"])]
                    for tr in node.find_all("tr")]
            blocks.extend(_table_blocks(rows))
            return
        text = node.get_text("\n" if name == "pre" else " ", strip=True)
        if not text:
            return
        if name[0] == "h" and name[1:].isdigit():
            blocks.append(Block("heading", re.sub(r"\s+", " ", text), level=int(name[1:])))
        else:
            blocks.append(Block("text", text if name == "pre" else re.sub(r"[ \t\r\n]+", " ", text)))

    def walk(node) -> None:
        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                loose.append(str(child))
            elif child.name in HTML_BLOCKS:
                flush()
                element(child)
            elif child.name == "br":
                loose.append("\n")
            elif child.name in HTML_BREAKS:
                flush()
                walk(child)
                flush()
            else:  # inline: span, a, b, strong, font...
                walk(child)

    walk(soup.body or soup)
    flush()
    return blocks


def load_pdf(path: Path) -> list[Block]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise KbError(f"{path.name}: the PDF is encrypted")
        blocks: list[Block] = []
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            blocks.extend(_paragraph_blocks(_pdf_lines(text), number, False))
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise KbError(f"{path.name}: unreadable PDF ({exc})") from None
    return blocks


def _display_width(line: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in line)


def _pdf_lines(text: str) -> list[str]:
    """PDF text has one line per printed line. A line that fills the text width was wrapped, so the
    next line continues it; a shorter line ends a paragraph, a list item or a table row."""
    lines = [line.strip() for line in text.splitlines()]
    full = 0.8 * max((_display_width(line) for line in lines), default=0)
    out: list[str] = []
    previous_full = False
    for line in lines:
        if not line:
            out.append("")
            previous_full = False
            continue
        # A numbered heading line is short; after a full (wrapped) line, a short numbered line that does not
        # end a sentence is still a heading ("... technician" / "5 Spindle").
        heading = heading_level(line) is not None and (not previous_full or _display_width(line) < 0.5 * full)
        if heading:
            out.extend(["", line, ""])
        elif previous_full and out and out[-1]:
            cjk_join = re.search(r"[\u3400-\u9fff]$", out[-1]) and re.match(r"[\u3400-\u9fff]", line)
            out[-1] = out[-1] + ("" if cjk_join else " ") + line
        else:
            out.append(line)
        previous_full = not heading and _display_width(line) >= full
    return out


def load_docx(path: Path) -> list[Block]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several types for a broken package
        raise KbError(f"{path.name}: unreadable DOCX ({exc})") from None
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(_table_blocks([[cell.text for cell in row.cells] for row in item.rows]))
            continue
        if not isinstance(item, Paragraph):
            continue
        text = item.text.strip()
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        match = re.match(r"(?:Heading|标题)\s*(\d)", style)
        if match or style == "Title":
            blocks.append(Block("heading", text, level=int(match.group(1)) if match else 1))
        else:
            blocks.append(Block("text", text))
    return blocks


LOADERS: dict[str, Callable[[Path], list[Block]]] = {
    ".txt": load_txt, ".text": load_txt, ".md": load_md, ".markdown": load_md,
    ".html": load_html, ".htm": load_html, ".pdf": load_pdf, ".docx": load_docx,
}


def load_document(path: Path) -> list[Block]:
    """Blocks of one file; ``KbError`` naming the file when it cannot be read."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise KbError(f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
                      f"expected one of {', '.join(sorted(LOADERS))}")
    if not path.is_file():
        raise KbError(f"{path}: no such file")
    try:
        blocks = loader(path)
    except KbError:
        raise
    except OSError as exc:
        raise KbError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    if not any(b.kind == "text" for b in blocks):
        raise KbError(f"{path.name}: no text found")
    return blocks
