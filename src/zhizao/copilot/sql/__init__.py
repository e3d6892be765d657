"""Natural-language data insight (NL→SQL) in Chinese and English over any SQL database.

``DataInsight.from_url(url, glossary=None, now=None, llm=None).ask(question, Conversation())``
→ ``Answer`` (sql, columns, rows, chart, summary, error). ``register(cli)`` adds ``zhizao ask``.
Modules: db (read-only connections), schema (introspection), lexicon + linker (words → schema),
dates, parser (question → frame), sqlgen (frame → SQL), safety (sqlglot guard), present (chart,
summary), insight (the facade). Heavy imports happen on first use, so importing this is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from zhizao.copilot.sql.cli import register

if TYPE_CHECKING:
    from zhizao.copilot.sql.insight import Answer, Conversation, DataInsight

__all__ = ["Answer", "Conversation", "DataInsight", "register"]


def __getattr__(name: str) -> Any:
    if name in ("Answer", "Conversation", "DataInsight"):
        from zhizao.copilot.sql import insight

        return getattr(insight, name)
    raise AttributeError(name)
