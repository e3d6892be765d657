"""``zhizao ask``: one question against a database URL, JSON out (the stable batch CLI)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer


def register(cli: typer.Typer) -> None:
    """Add the top-level ``ask`` command to the root CLI."""

    @cli.command("ask")
    def ask(
        question: str = typer.Argument(..., help="The question, Chinese or English"),
        db: str = typer.Option(..., "--db", help="postgresql://…, mysql://…, sqlite:///file, duckdb:///file"),
        glossary: Path = typer.Option(None, "--glossary", help="Glossary file (YAML or JSON): synonyms, metrics"),
        now: str = typer.Option(None, "--now", help="Today for relative dates (YYYY-MM-DD); default: today"),
        as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON"),
        timeout: float = typer.Option(10.0, "--timeout", help="Statement timeout in seconds"),
        max_rows: int = typer.Option(5000, "--max-rows", help="Row limit"),
    ) -> None:
        """Ask a database a question (NL→SQL, read-only): prints SQL, rows, chart spec and summary."""
        from zhizao.copilot.sql.db import QueryError
        from zhizao.copilot.sql.glossary import GlossaryError
        from zhizao.copilot.sql.insight import DataInsight

        def fail(message: str) -> None:
            if as_json:
                typer.echo(json.dumps({"error": message}, ensure_ascii=False))
            else:
                typer.secho(message, fg="red", err=True)
            raise typer.Exit(1)

        today = None
        if now:
            try:
                today = date.fromisoformat(now)
            except ValueError:
                fail(f"--now: expected YYYY-MM-DD, got {now!r}")
        try:
            insight = DataInsight.from_url(db, glossary=glossary, now=today, timeout_s=timeout, max_rows=max_rows)
        except (QueryError, GlossaryError) as error:
            fail(str(error))
        try:
            answer = insight.ask(question)
        finally:
            insight.close()
        if answer.error:
            fail(answer.error)
        if as_json:
            typer.echo(json.dumps(answer.to_json(), ensure_ascii=False, default=str))
            return
        typer.echo(answer.sql)
        typer.echo(" | ".join(answer.columns))
        for row in answer.rows[:50]:
            typer.echo(" | ".join("" if v is None else str(v) for v in row))
        if len(answer.rows) > 50:
            typer.echo(f"… {len(answer.rows) - 50} more")
        typer.echo(answer.summary)
