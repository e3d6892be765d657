"""Knowledge base: loaders for every format, chunking, retrieval with citations, clearance, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.kb.make_docs import parse, to_docx, to_html, to_text_lines
from benchmarks.kb.tinypdf import paginate, write_pdf

from zhizao.copilot.kb import KbError, KnowledgeBase, levels_for
from zhizao.copilot.kb.chunking import chunk_blocks
from zhizao.copilot.kb.loaders import load_document
from zhizao.copilot.kb.text import split_sentences, stem, tokenize

MANUAL = """# Pump P-100 Manual

## 1 Maintenance

### 1.1 Bearings

The pump bearings are greased every 500 operating hours with Shell Gadus S2 grease.

### 1.2 Seals

The mechanical seal is replaced every 8,000 hours. Leakage above 10 drops per minute means the seal is worn.

## 2 Technical data

| Item | Value |
|---|---|
| Flow | 120 cubic metres per hour |
| Motor power | 45 kW |
"""

ZH_SOP = """# 空压机日常点检规程

## 一、点检项目

- 每班开机前检查润滑油位，油位应在油标中线以上。
- 排气温度正常范围为 75～95℃，超过 105℃ 时停机检查。

## 二、保养周期

空气滤芯每运行 2000 小时更换一次。油气分离器每 4000 小时更换。
"""


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "pump_manual.md").write_text(MANUAL, encoding="utf-8")
    blocks = parse(ZH_SOP)
    to_docx(blocks, folder / "空压机点检.docx")
    (folder / "pump_manual.html").write_text(to_html(parse(MANUAL), "pump"), encoding="utf-8")
    write_pdf(folder / "pump_manual.pdf", paginate(to_text_lines(parse(MANUAL))))
    (folder / "sop.txt").write_text("\n\n".join(text for text, _ in to_text_lines(parse(ZH_SOP))), encoding="utf-8")
    return folder


def test_every_format_keeps_headings_and_tables(docs: Path) -> None:
    for name in ("pump_manual.md", "pump_manual.html", "pump_manual.pdf"):
        blocks = load_document(docs / name)
        headings = [b.text for b in blocks if b.kind == "heading"]
        text = "\n".join(b.text for b in blocks if b.kind == "text")
        assert any("Bearings" in h for h in headings), (name, headings)
        assert "Shell Gadus S2" in text and "45 kW" in text, name
    md_rows = "\n".join(b.text for b in load_document(docs / "pump_manual.md"))
    assert "Item: Motor power; Value: 45 kW" in md_rows  # a table row keeps its column headers
    pdf = load_document(docs / "pump_manual.pdf")
    assert {b.page for b in pdf} == {1}
    docx = load_document(docs / "空压机点检.docx")
    assert [b.text for b in docx if b.kind == "heading"][:2] == ["空压机日常点检规程", "一、点检项目"]
    txt = load_document(docs / "sop.txt")
    assert any(b.kind == "heading" and b.text == "二、保养周期" for b in txt)


def test_html_drops_scripts_and_navigation(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text("<html><head><script>var secret=1</script></head><body><nav>Home | Docs</nav>"
                    "<h1>Title</h1><p>Torque is <b>45 N·m</b>.</p></body></html>", encoding="utf-8")
    blocks = load_document(page)
    assert [(b.kind, b.text) for b in blocks] == [("heading", "Title"), ("text", "Torque is 45 N·m .")]


def test_chunks_carry_heading_path_and_position(docs: Path) -> None:
    chunks = chunk_blocks("pump_manual.md", load_document(docs / "pump_manual.md"))
    seal = next(c for c in chunks if "mechanical seal" in c.text)
    assert seal.headings == ["Pump P-100 Manual", "1 Maintenance", "1.2 Seals"]
    assert seal.position() == "¶2"
    assert "pump" in seal.tokens and stem("bearings") not in seal.tokens


def test_tokenizer_mixes_jieba_bigrams_and_stems() -> None:
    tokens = tokenize("空压机的排气温度 Bearings replaced at 6.5 hours")
    assert {"空压机", "排气", "温度", "压机", stem("bearing"), stem("replace"), "6.5", "hour"} <= set(tokens)
    assert stem("replacement") == stem("replaced") == stem("replace")
    assert split_sentences("Use Mobil Vactra No. 2 oil. Refill daily。第二句！") == [
        "Use Mobil Vactra No. 2 oil.", "Refill daily。", "第二句！"]


def test_answers_with_citations_best_first(tmp_path: Path, docs: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    report = kb.add_files(sorted(docs.iterdir()))
    assert report.errors == [] and len(report.added) == 5
    cases = [("How often are the pump bearings greased?", "500"),
             ("What is the motor power of pump P-100?", "45 kW"),
             ("空气滤芯多久更换一次？", "2000 小时"),
             ("排气温度超过多少度时停机？", "105℃"),
             ("At what exhaust temperature must the compressor be stopped?", "105℃")]  # across languages
    for question, fact in cases:
        answer = kb.ask(question)
        assert fact in answer.answer, (question, answer.answer)
        assert fact in answer.citations[0].text, (question, answer.citations[0])
        assert answer.citations[0].position and answer.citations[0].source
    assert kb.ask("Who won the football world cup in 1998?").answer == ""


def test_clearance_filters_documents(tmp_path: Path, docs: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    kb.add_files([docs / "pump_manual.md"], classification="secret")
    kb.add_files([docs / "sop.txt"], classification="public")
    question = "How often are the pump bearings greased?"
    assert "500" in kb.ask(question, clearance="secret").answer
    hidden = kb.ask(question, clearance="confidential")
    assert all(c.source != "pump_manual.md" for c in hidden.citations) and "500" not in hidden.answer
    assert levels_for("internal") == ("public", "internal")
    with pytest.raises(KbError, match="clearance"):
        kb.ask(question, clearance="top")


def test_bad_files_are_named_and_the_others_added(tmp_path: Path, docs: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not a pdf")
    empty = tmp_path / "empty.md"
    empty.write_text("   \n", encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    report = kb.add_files([broken, docs / "pump_manual.md", tmp_path / "missing.docx", empty, tmp_path / "x.xls"])
    assert [a["source"] for a in report.added] == ["pump_manual.md"]
    errors = {Path(e["file"]).name: e["error"] for e in report.errors}
    assert set(errors) == {"broken.pdf", "missing.docx", "empty.md", "x.xls"}
    assert all(name.split(".")[0] in message for name, message in errors.items())


def test_re_adding_replaces_and_remove_forgets(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    note = tmp_path / "note.md"
    note.write_text("# Note\n\nThe gearbox oil is changed every 3000 hours.\n", encoding="utf-8")
    kb.add_files([note])
    note.write_text("# Note\n\nThe gearbox oil is changed every 6000 hours.\n", encoding="utf-8")
    kb.add_files([note], classification="confidential")
    assert list(kb.documents()) == ["note.md"] and kb.documents()["note.md"]["classification"] == "confidential"
    assert "6000" in kb.ask("How often is the gearbox oil changed?").answer
    assert KnowledgeBase(tmp_path / "kb").ask("How often is the gearbox oil changed?").citations  # from disk
    assert kb.remove("note.md") and kb.ask("How often is the gearbox oil changed?").answer == ""


class HashingEmbedder:
    """A small real embedder (hashed bag of words, L2-normalised) standing in for a local model."""

    def encode(self, texts: list[str]):
        import numpy as np

        vectors = np.zeros((len(texts), 256))
        for row, text in enumerate(texts):
            for token in tokenize(text):
                vectors[row, hash(token) % 256] += 1.0
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def test_embedding_hook_is_fused_and_optional(tmp_path: Path, docs: Path, monkeypatch) -> None:
    from zhizao.copilot.kb.index import EMBEDDING_ENV, local_embedder

    kb = KnowledgeBase(tmp_path / "kb", embedder=HashingEmbedder())
    kb.add_files([docs / "pump_manual.md", docs / "sop.txt"])
    answer = kb.ask("How often are the pump bearings greased?")
    assert "500" in answer.answer and kb._load_index().embeddings.shape[1] == 256
    monkeypatch.delenv(EMBEDDING_ENV, raising=False)
    assert local_embedder() is None  # the default: BM25 alone
    monkeypatch.setenv(EMBEDDING_ENV, str(tmp_path / "no-such-model"))
    assert local_embedder() is None  # a missing folder is reported in the log, never downloaded
