"""Render the benchmark's source documents (``sources/*.md``) into the formats the knowledge base reads,
and generate a large synthetic corpus for timing ingestion.

    .venv/bin/python -m benchmarks.kb.make_docs OUT_DIR        # the question set's documents

Each source is written in one format (``FORMATS``), so the questions exercise every loader.
"""

from __future__ import annotations

import html
import random
import re
import sys
from pathlib import Path

from benchmarks.kb.tinypdf import paginate, write_pdf

SOURCES = Path(__file__).parent / "sources"
FORMATS = {
    "cnc_maintenance_manual": "pdf",
    "compressor_manual": "md",
    "changeover_loto_sop": "html",
    "incident_reports_2025": "docx",
    "注塑机维护保养规程": "docx",
    "质量检验程序": "pdf",
    "设备故障事件报告": "html",
    "焊接作业指导书": "txt",
}


def parse(text: str) -> list[tuple]:
    """Mini-markdown -> ("h", level, text) | ("p", text) | ("li", text, ordered) | ("table", rows)."""
    blocks: list[tuple] = []
    table: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if table and not line.startswith("|"):
            blocks.append(("table", table))
            table = []
        if not line:
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            blocks.append(("h", level, line[level:].strip()))
        elif line.startswith("|"):
            if not re.fullmatch(r"\|[\s|:-]+\|", line):
                table.append([c.strip() for c in line.strip("|").split("|")])
        elif line.startswith("- "):
            blocks.append(("li", line[2:], False))
        elif re.match(r"\d+\. ", line):
            blocks.append(("li", line.split(" ", 1)[1], True))
        else:
            blocks.append(("p", line))
    if table:
        blocks.append(("table", table))
    return blocks


def to_html(blocks: list[tuple], title: str) -> str:
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
           "<style>body{font-family:sans-serif}</style><script>var tracking = 1;</script></head><body>"
           "<nav><a href='/'>Home</a> | <a href='/docs'>Documents</a></nav><main>"]
    open_list = None
    for block in blocks:
        if block[0] == "li":
            tag = "ol" if block[2] else "ul"
            if open_list != tag:
                if open_list:
                    out.append(f"</{open_list}>")
                out.append(f"<{tag}>")
                open_list = tag
            out.append(f"<li>{html.escape(block[1])}</li>")
            continue
        if open_list:
            out.append(f"</{open_list}>")
            open_list = None
        if block[0] == "h":
            out.append(f"<h{block[1]}>{html.escape(block[2])}</h{block[1]}>")
        elif block[0] == "p":
            out.append(f"<p>{html.escape(block[1])}</p>")
        else:
            rows = block[1]
            out.append("<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
                       + "</tr></thead><tbody>")
            out.extend("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
            out.append("</tbody></table>")
    if open_list:
        out.append(f"</{open_list}>")
    out.append("</main><footer>© Plant documentation</footer></body></html>")
    return "\n".join(out)


def to_docx(blocks: list[tuple], path: Path) -> None:
    import docx

    document = docx.Document()
    for block in blocks:
        if block[0] == "h":
            document.add_heading(block[2], level=min(block[1], 9) if block[1] > 1 else 0)
        elif block[0] == "p":
            document.add_paragraph(block[1])
        elif block[0] == "li":
            document.add_paragraph(block[1], style="List Number" if block[2] else "List Bullet")
        else:
            rows = block[1]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
    document.save(str(path))


def to_text_lines(blocks: list[tuple]) -> list[tuple[str, float]]:
    """Paragraphs for PDF/plain text: headings as their own lines, tables as rows."""
    out: list[tuple[str, float]] = []
    number = 0
    for block in blocks:
        if block[0] == "h":
            out.append((block[2], 16.0 if block[1] == 1 else 12.5))
            number = 0
        elif block[0] == "p":
            out.append((block[1], 10.5))
        elif block[0] == "li":
            number += 1
            out.append((f"{number}. {block[1]}" if block[2] else f"- {block[1]}", 10.5))
        else:
            out.extend(("   ".join(row), 10.5) for row in block[1])
    return out


def render(blocks: list[tuple], fmt: str, path: Path, title: str) -> None:
    if fmt == "md":
        path.write_text((SOURCES / f"{title}.md").read_text(encoding="utf-8"), encoding="utf-8")
    elif fmt == "html":
        path.write_text(to_html(blocks, title), encoding="utf-8")
    elif fmt == "docx":
        to_docx(blocks, path)
    elif fmt == "pdf":
        write_pdf(path, paginate(to_text_lines(blocks)), title)
    elif fmt == "txt":
        path.write_text("\n\n".join(text for text, _ in to_text_lines(blocks)) + "\n", encoding="utf-8")
    else:
        raise ValueError(fmt)


def build_question_set(out: Path) -> dict[str, str]:
    """Write the source documents in their formats; stem -> file name."""
    out.mkdir(parents=True, exist_ok=True)
    names = {}
    for stem, fmt in FORMATS.items():
        blocks = parse((SOURCES / f"{stem}.md").read_text(encoding="utf-8"))
        path = out / f"{stem}.{fmt}"
        render(blocks, fmt, path, stem)
        names[stem] = path.name
    return names


_EN = ["Check the {part} of machine {m} every {n} hours and record the value in the log.",
       "The {part} on line L{l} must be replaced when the wear exceeds {x} mm.",
       "Operators clean the {part} at the end of each shift; the inspection takes {n} minutes.",
       "If alarm {a} is raised, stop the machine and inform the maintenance technician on duty.",
       "The torque of the {part} fasteners is {n} N·m, verified with a calibrated wrench every {l} months."]
_ZH = ["每运行{n}小时检查一次{m}号设备的{part_zh}，并填写点检记录。",
       "L{l}线的{part_zh}磨损超过{x}毫米时必须更换。",
       "操作工在每班结束时清洁{part_zh}，检查用时约{n}分钟。",
       "出现{a}号报警时应立即停机并通知当班维修工。",
       "{part_zh}紧固螺栓的扭矩为{n}牛·米，每{l}个月用校准扳手复核一次。"]
_PARTS = [("spindle", "主轴"), ("bearing", "轴承"), ("gearbox", "齿轮箱"), ("filter", "过滤器"), ("belt", "皮带"),
          ("valve", "阀门"), ("pump", "泵"), ("conveyor chain", "输送链"), ("coupling", "联轴器"), ("motor", "电机")]


def synthetic_paragraph(rng: random.Random, sentences: int = 6) -> str:
    zh = rng.random() < 0.5
    out = []
    for _ in range(sentences):
        part, part_zh = rng.choice(_PARTS)
        template = rng.choice(_ZH if zh else _EN)
        out.append(template.format(part=part, part_zh=part_zh, m=rng.randint(1, 99), n=rng.randint(2, 5000),
                                   l=rng.randint(1, 12), x=round(rng.uniform(0.1, 5), 2), a=rng.randint(1000, 9999)))
    return ("" if zh else " ").join(out)


def build_large_corpus(out: Path, pages: int = 1000, seed: int = 7) -> dict[str, int]:
    """About ``pages`` pages (PDF pages, or 2,500 characters each for the other formats) in
    pdf, docx, html, md and txt files; returns pages per format."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    shares = {"pdf": 0.4, "docx": 0.15, "html": 0.15, "md": 0.15, "txt": 0.15}
    per_file = 20
    counts: dict[str, int] = {}
    for fmt, share in shares.items():
        files = max(1, round(pages * share / per_file))
        counts[fmt] = files * per_file
        for f in range(files):
            blocks: list[tuple] = [("h", 1, f"Maintenance handbook {fmt.upper()} {f} / 设备维护手册 {f}")]
            chars = 0
            section = 0
            while chars < per_file * 2500:
                section += 1
                blocks.append(("h", 2, f"{section} Section {section} / 第{section}节"))
                for _ in range(4):
                    text = synthetic_paragraph(rng)
                    chars += len(text)
                    blocks.append(("p", text))
            path = out / f"large_{fmt}_{f:02d}.{fmt}"
            if fmt == "pdf":
                page_list = paginate(to_text_lines(blocks))[:per_file]
                write_pdf(path, page_list)
            elif fmt == "md":
                path.write_text("\n\n".join(("#" * b[1] + " " + b[2]) if b[0] == "h" else b[1] for b in blocks),
                                encoding="utf-8")
            else:
                render(blocks, fmt, path, path.stem)
    return counts


if __name__ == "__main__":
    print(build_question_set(Path(sys.argv[1])))
