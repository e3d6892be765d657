"""Copilot commands: ``zhizao kb add|ask|list|remove`` and (from ``copilot.sql``) ``zhizao ask``.

Heavy modules (jieba, bm25s, pypdf...) are imported inside the commands, so ``zhizao --help`` stays fast.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import typer

kb_app = typer.Typer(help="Knowledge base: add documents, ask questions with citations.", no_args_is_help=True)

KbDir = typer.Option(..., "--kb", help="Knowledge base folder (created on first add)")


def _echo_json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _expand(paths: list[Path]) -> list[Path]:
    """Files as given; folders are read recursively for the supported types."""
    from zhizao.copilot.kb.loaders import LOADERS

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in LOADERS))
        else:
            files.append(path)
    return files


@kb_app.command("add")
def kb_add(
    files: list[Path] = typer.Argument(..., help="Files (txt, md, html, pdf, docx) or folders"),
    kb: Path = KbDir,
    classification: str = typer.Option("internal", "--classification", "-c",
                                       help="public | internal | confidential | secret"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Add or replace documents. A file that cannot be read is reported and the others continue;
    the exit code is 1 when no file was added."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from zhizao.copilot.kb import KbError, KnowledgeBase, check_level

    try:
        check_level(classification)
    except KbError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    paths = _expand(files)
    base = KnowledgeBase(kb)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True, console=_stderr_console(), disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("adding / 导入", total=len(paths))
        report = base.add_files(paths, classification, progress=lambda _p: progress.advance(task))
    for error in report.errors:
        typer.secho(f"error: {error['error']}", fg="red", err=True)
    if as_json:
        _echo_json(report.to_json())
    else:
        for entry in report.added:
            typer.echo(f"added {entry['source']}: {entry['chunks']} passages ({entry['classification']})")
        typer.echo(f"{len(report.added)} added, {len(report.errors)} failed")
    if not report.added:
        raise typer.Exit(1)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


@kb_app.command("ask")
def kb_ask(
    question: str = typer.Argument(..., help="The question, in Chinese or English"),
    kb: Path = KbDir,
    clearance: str = typer.Option("secret", "--clearance",
                                  help="Only documents up to this level (default: all; the folder's reader "
                                       "has the files anyway)"),
    top: int = typer.Option(3, "--top", min=1, max=20, help="Citations to return"),
    min_coverage: float = typer.Option(0.15, "--min-coverage", min=0.0, max=1.0,  # kb.index.BATCH_MIN_COVERAGE
                                       help="No answer when the best passage has less than this share of the "
                                            "question's words (the chat uses 0.3; a batch caller reads the "
                                            "citations, so it gets an answer more often)"),
    as_json: bool = typer.Option(False, "--json", help='Print {"answer", "citations": [{"source", "text"}]}'),
) -> None:
    """Answer from the documents, with citations best first. Exit code 1 when nothing matches."""
    from zhizao.copilot.kb import KbError, KnowledgeBase

    base = KnowledgeBase(kb)
    try:
        if not base.documents():
            raise KbError(f"--kb: {kb} holds no documents; add some with `zhizao kb add --kb {kb} FILE...`")
        answer = base.ask(question, clearance=clearance, citations=top, min_coverage=min_coverage)
    except KbError as exc:
        if as_json:
            _echo_json({"error": str(exc)})
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from None
    if as_json:
        _echo_json(answer.to_json())
    else:
        typer.echo(answer.answer or "(no passage matches / 未找到相关内容)")
        for number, citation in enumerate(answer.citations, start=1):
            typer.echo(f"\n[{number}] {citation.source} {citation.position}  {' > '.join(citation.headings)}")
            typer.echo(f"    {citation.text}")
    if not answer.answer:
        raise typer.Exit(1)


@kb_app.command("list")
def kb_list(kb: Path = KbDir) -> None:
    """The documents and records in the knowledge base (JSON)."""
    from zhizao.copilot.kb import KnowledgeBase

    _echo_json(list(KnowledgeBase(kb).documents().values()))


@kb_app.command("remove")
def kb_remove(source: str = typer.Argument(..., help="Source name as listed"), kb: Path = KbDir) -> None:
    """Remove a document."""
    from zhizao.copilot.kb import KnowledgeBase

    if not KnowledgeBase(kb).remove(source):
        typer.secho(f"source: no document {source!r} in {kb}", fg="red", err=True)
        raise typer.Exit(1)


def register(cli: typer.Typer) -> None:
    """Add ``kb`` and the data question command ``ask`` (from ``zhizao.copilot.sql`` when installed)."""
    cli.add_typer(kb_app, name="kb")
    sql = importlib.util.find_spec("zhizao.copilot.sql")
    if sql is not None and sql.origin is not None:  # a package with its __init__, not a bare folder
        from zhizao.copilot.sql import register as register_sql

        register_sql(cli)
