"""Knowledge base benchmark: answer accuracy per question set and ingestion time of 1,000 pages.

    .venv/bin/python benchmarks/bench_kb.py [--pages 1000] [--no-progress]

Accuracy: a question counts as answered when every expected fact is in the answer text AND in
the text of the top-3 citations. Sets: ``own`` (benchmarks/kb: a maintenance manual, an SOP, incident
reports, a quality procedure... in Chinese and English, as pdf/docx/html/md/txt, with 119 questions,
8 of them asked in the other language than the document's) and ``sample`` (../shared/data/copilot/kb,
when present); answers use the coverage threshold of ``zhizao kb ask``. Ingestion: a generated corpus of
about 1,000 pages (40% PDF pages, the rest docx/html/md/txt of 2,500 characters a page) is added with
``KnowledgeBase.add_files``, the same code ``zhizao kb add`` runs.
Writes benchmarks/results/kb.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.kb.make_docs import build_large_corpus, build_question_set  # noqa: E402

from zhizao.copilot.kb import KnowledgeBase  # noqa: E402
from zhizao.copilot.kb.index import BATCH_MIN_COVERAGE  # noqa: E402
from zhizao.copilot.kb.loaders import load_document  # noqa: E402
from zhizao.copilot.kb.text import has_cjk  # noqa: E402

HERE = Path(__file__).parent
RESULTS = HERE / "results" / "kb.json"
SAMPLE = HERE.parent / "../shared/data/copilot"


def _progress(total: int, label: str, enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=Console(stderr=True), disable=not enabled, transient=True)
    return progress, progress.add_task(label, total=total)


def chinese_documents(files: list[Path]) -> set[str]:
    """Names of the documents written mostly in Chinese."""
    chinese = set()
    for path in files:
        text = "".join(block.text for block in load_document(path))
        if sum(has_cjk(ch) for ch in text) > 0.2 * len(text):
            chinese.add(path.name)
    return chinese


def evaluate(kb: KnowledgeBase, questions: list[dict], chinese: set[str], show: bool, label: str) -> dict:
    """Accuracy overall and per group (question language, document), and the misses."""
    groups: dict[str, list[bool]] = defaultdict(list)
    misses, times = [], []
    source_hits = 0
    progress, task = _progress(len(questions), label, show)
    with progress:
        for q in questions:
            start = time.perf_counter()
            answer = kb.ask(q["question"], min_coverage=BATCH_MIN_COVERAGE)  # as `zhizao kb ask` does
            times.append(time.perf_counter() - start)
            cited = " ".join(c.text for c in answer.citations[:3])
            ok = all(f in answer.answer for f in q["answer_contains"]) and all(f in cited for f in q["answer_contains"])
            source_hits += bool(answer.citations) and Path(answer.citations[0].source).stem == Path(q["source"]).stem
            groups["all"].append(ok)
            groups[f"question_{'zh' if has_cjk(q['question']) and not q['question'].isascii() else 'en'}"].append(ok)
            groups[f"document:{q['source']}"].append(ok)
            same_language = has_cjk(q["question"]) == (q["source"] in chinese)
            groups["same_language" if same_language else "cross_language"].append(ok)
            if not ok:
                misses.append({"id": q["id"], "question": q["question"], "expected": q["answer_contains"],
                               "answer": answer.answer[:300],
                               "top_sources": [c.source for c in answer.citations[:3]]})
            progress.advance(task)
    return {
        "questions": len(questions),
        "accuracy": round(sum(groups["all"]) / len(groups["all"]), 4),
        "by_group": {k: {"n": len(v), "accuracy": round(sum(v) / len(v), 4)} for k, v in sorted(groups.items())},
        "top1_source_accuracy": round(source_hits / len(questions), 4),
        "median_ms_per_question": round(statistics.median(times) * 1000, 1),
        "p95_ms_per_question": round(sorted(times)[int(0.95 * (len(times) - 1))] * 1000, 1),
        "misses": misses,
    }


def _questions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="pages in the ingestion corpus")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    args = parser.parse_args()
    show = not args.no_progress
    result: dict = {"benchmark": "kb", "goal": {"accuracy": ">= 0.90", "ingest_1000_pages_s": "<= 60"}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        docs = tmp_path / "docs"
        names = build_question_set(docs)
        kb = KnowledgeBase(tmp_path / "kb_own")
        report = kb.add_files(sorted(docs.iterdir()))
        assert not report.errors, report.errors
        questions = _questions(HERE / "kb" / "questions.jsonl")
        for q in questions:
            q["source"] = names[q["source"]]
        files = sorted(docs.iterdir())
        result["sets"] = {"own": evaluate(kb, questions, chinese_documents(files), show, "own set / 自建问题")}
        result["sets"]["own"]["documents"] = sorted(names.values())
        if (SAMPLE / "kb_questions.jsonl").exists():
            sample_kb = KnowledgeBase(tmp_path / "kb_sample")
            sample_files = sorted((SAMPLE / "kb").iterdir())
            sample_kb.add_files(sample_files)
            result["sets"]["sample"] = evaluate(sample_kb, _questions(SAMPLE / "kb_questions.jsonl"),
                                                chinese_documents(sample_files), show, "sample set / 样例")

        corpus = tmp_path / "large"
        counts = build_large_corpus(corpus, pages=args.pages)
        files = sorted(corpus.iterdir())
        large = KnowledgeBase(tmp_path / "kb_large")
        progress, task = _progress(len(files), "ingest / 导入", show)
        with progress:
            start = time.perf_counter()
            added = large.add_files(files, progress=lambda _p: progress.advance(task))
            seconds = time.perf_counter() - start
        first_question = time.perf_counter()
        large.ask("How often is the spindle of machine 12 checked?")
        result["ingest"] = {
            "pages": sum(counts.values()), "pages_by_format": counts, "files": len(files),
            "errors": len(added.errors), "passages": sum(e["chunks"] for e in added.added),
            "seconds": round(seconds, 2), "pages_per_s": round(sum(counts.values()) / seconds, 1),
            "first_question_s": round(time.perf_counter() - first_question, 2),
        }
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                         "loadavg": [round(x, 2) for x in os.getloadavg()]}
    text = json.dumps(result, indent=2, ensure_ascii=False)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
