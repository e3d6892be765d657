"""A tiny PDF writer for test and benchmark documents (no PDF library is installed to write them).

Text is set in the standard CJK font STSong-Light (UniGB-UCS2-H, so every reader has it
without embedding) with a ToUnicode map, so text extraction gives back the characters.
Lines are wrapped to the page width; each page is a list of lines.
"""

from __future__ import annotations

from pathlib import Path

PAGE_W, PAGE_H, MARGIN, SIZE, LEADING = 595, 842, 56, 10.5, 15


def _width(ch: str) -> float:
    return 1.0 if ord(ch) > 0x2E80 else 0.5


def wrap(text: str, size: float = SIZE) -> list[str]:
    """Break a paragraph into lines that fit the text width (at spaces for Latin text when possible)."""
    limit = (PAGE_W - 2 * MARGIN) / size
    lines, current, width = [], "", 0.0
    for ch in text:
        if width + _width(ch) > limit:
            cut = current.rfind(" ")
            if cut > len(current) * 0.6 and ord(ch) < 0x2E80:
                lines.append(current[:cut])
                current = current[cut + 1:]
            else:
                lines.append(current)
                current = ""
            width = sum(_width(c) for c in current)
        current += ch
        width += _width(ch)
    if current:
        lines.append(current)
    return lines


def paginate(paragraphs: list[tuple[str, float]]) -> list[list[tuple[str, float]]]:
    """(text, font size) paragraphs -> pages of (line, size), a blank line between paragraphs."""
    per_page = int((PAGE_H - 2 * MARGIN) / LEADING)
    pages: list[list[tuple[str, float]]] = [[]]
    for text, size in paragraphs:
        lines = wrap(text, size) + [""]
        if len(pages[-1]) + len(lines) > per_page and pages[-1]:
            pages.append([])
        for line in lines:
            if len(pages[-1]) >= per_page:
                pages.append([])
            pages[-1].append((line, size))
    return pages


def _to_unicode(chars: set[str]) -> bytes:
    """A ToUnicode CMap for the characters used (codes are UCS-2, so each maps to itself)."""
    codes = sorted(ord(c) for c in chars if ord(c) <= 0xFFFF)
    out = ["/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /UCS2 def /CMapType 2 def",
           "1 begincodespacerange <0000> <FFFF> endcodespacerange"]
    for i in range(0, len(codes), 100):
        group = codes[i:i + 100]
        out.append(f"{len(group)} beginbfchar")
        out.extend(f"<{c:04X}> <{c:04X}>" for c in group)
        out.append("endbfchar")
    out.append("endcmap CMapName currentdict /CMap defineresource pop end end")
    return "\n".join(out).encode("latin-1")


def write_pdf(path: Path, pages: list[list[tuple[str, float]]], title: str = "") -> None:
    objects: list[bytes] = []

    def add(body: bytes | str) -> int:
        objects.append(body.encode("latin-1") if isinstance(body, str) else body)
        return len(objects)

    catalog = add("")  # filled below
    pages_id = add("")
    cmap = _to_unicode({c for lines in pages for line, _ in lines for c in line})
    to_unicode = add(b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream")
    descendant = add("<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo "
                     "<< /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /DW 1000 /FontDescriptor "
                     "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
                     "/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >> >>")
    font = add(f"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
               f"/DescendantFonts [{descendant} 0 R] /ToUnicode {to_unicode} 0 R >>")
    page_ids = []
    for lines in pages:
        ops = []
        y = PAGE_H - MARGIN
        for line, size in lines:
            y -= LEADING
            if line:
                hexed = "".join(f"{ord(c):04X}" for c in line if ord(c) <= 0xFFFF)
                ops.append(f"BT /F1 {size} Tf {MARGIN} {y:.1f} Td <{hexed}> Tj ET")
        content = "\n".join(ops).encode("latin-1")
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        page_ids.append(add(f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
                            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {stream} 0 R >>"))
    objects[pages_id - 1] = (f"<< /Type /Pages /Kids [{' '.join(f'{p} 0 R' for p in page_ids)}] "
                             f"/Count {len(page_ids)} >>").encode()
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    info = f" /Info << /Title <{'FEFF' + ''.join(f'{ord(c):04X}' for c in title)}> >>" if title else ""
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R{info} >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    Path(path).write_bytes(bytes(out))
