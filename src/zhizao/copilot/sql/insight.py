"""DataInsight: ask a database a question in Chinese or English, get SQL, rows, a chart and a summary.

    insight = DataInsight.from_url("duckdb:///factory.duckdb", glossary=Path("glossary.yaml"), now=date(2024, 7, 1))
    conversation = Conversation()
    answer = insight.ask("2024年3月每台设备的总产量是多少？", conversation)
    answer = insight.ask("那2月呢?", conversation)      # reuses the previous question's frame

Offline the deterministic parser answers; with ``llm`` (a callable ``llm(messages) -> str``, e.g. an
OpenAI-compatible chat client) the model proposes the SQL first, and the parser is the fallback.
Either way the SQL is checked by safety.check_select before it runs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from zhizao.copilot.sql.db import Database, QueryError
from zhizao.copilot.sql.frame import Frame
from zhizao.copilot.sql.glossary import Glossary, GlossaryError, check_against, load_glossary
from zhizao.copilot.sql.lexicon import has_cjk
from zhizao.copilot.sql.linker import Linker
from zhizao.copilot.sql.parser import NotUnderstood, Parser
from zhizao.copilot.sql.present import chart_spec, summarise
from zhizao.copilot.sql.safety import UnsafeSQL, check_select
from zhizao.copilot.sql.schema import Schema, introspect
from zhizao.copilot.sql.sqlgen import Builder, BuildError

LLM = Callable[[list[dict[str, str]]], str]
_RAW_SQL = re.compile(r"^\s*(select|with|insert|update|delete|drop|alter|create|truncate|grant|revoke|merge|replace|"
                      r"attach|detach|copy|pragma|set|call|exec|execute|load|install|vacuum)\b", re.IGNORECASE)


@dataclass
class Answer:
    question: str
    sql: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    chart: dict = field(default_factory=dict)
    summary: str = ""
    error: str | None = None
    truncated: bool = False
    source: str = "parser"  # parser | llm
    seconds: float = 0.0

    def to_json(self) -> dict:
        """The batch CLI's shape: the answer, or ``{"error": ...}``."""
        if self.error:
            return {"error": self.error}
        return {"sql": self.sql, "columns": self.columns, "rows": self.rows, "chart": self.chart,
                "summary": self.summary}

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Conversation:
    """Multi-turn context: the last answered frame (follow-ups start from it) and the turns so far."""

    frame: Frame | None = None
    turns: list[tuple[str, str | None]] = field(default_factory=list)  # (question, sql)

    def reset(self) -> None:
        self.frame = None
        self.turns.clear()


class DataInsight:
    def __init__(self, db: Database, schema: Schema, glossary: Glossary | None = None, now: date | None = None,
                 llm: LLM | None = None) -> None:
        self.db = db
        self.schema = schema
        self.glossary = glossary or Glossary()
        self.now = now
        self.llm = llm
        self.linker = Linker(schema, self.glossary)
        self.parser = Parser(schema, self.linker, self.glossary.metrics)
        self.builder = Builder(schema)

    @classmethod
    def from_url(cls, url: str, glossary: Path | None = None, now: date | None = None, llm: LLM | None = None,
                 *, timeout_s: float = 10.0, max_rows: int = 5000) -> DataInsight:
        """Connect, introspect the schema and load the glossary (errors name the file/entry)."""
        db = Database(url, timeout_s=timeout_s, max_rows=max_rows)
        schema = introspect(db)
        loaded = load_glossary(glossary)
        check_against(loaded, {t.name: {c.name for c in t.columns} for t in schema.tables.values()},
                      str(glossary) if glossary else "glossary")
        return cls(db, schema, loaded, now, llm)

    def close(self) -> None:
        self.db.close()

    # -- asking --------------------------------------------------------------------------------------------
    def ask(self, question: str, context: Conversation | None = None) -> Answer:
        started = time.perf_counter()
        answer = Answer(question=question)
        lang = "zh" if has_cjk(question) else "en"
        if not question or not question.strip():
            answer.error = "问题为空" if lang == "zh" else "empty question"
            return answer
        frame: Frame | None = None
        sql: str | None = None
        if _RAW_SQL.match(question):
            sql = question  # typed SQL: runs only if the guard accepts it as one read-only SELECT
            answer.source = "sql"
        elif self.llm is not None:
            sql = self._llm_sql(question, context)
            if sql is not None:
                answer.source = "llm"
        if sql is None:
            try:
                frame = self.parser.parse(question, self.now or date.today(),
                                          context.frame if context is not None else None)
                sql = self.builder.build(frame)
            except NotUnderstood as error:
                answer.error = _not_understood(error, lang)
            except BuildError as error:
                answer.error = (f"不理解：无法把表 {error} 与其他表关联" if lang == "zh"
                                else f"not understood: cannot join table {error} to the others")
        if sql is not None:
            try:
                checked = check_select(sql, self.schema.dialect, self.db.max_rows)
                result = self.db.query(checked)
                answer.sql = checked
                answer.columns, answer.rows, answer.truncated = result.columns, result.rows, result.truncated
                share = frame is not None and any(m.func == "share" for m in frame.measures)
                ratio = frame is not None and any(m.func in ("ratio", "share") for m in frame.measures)
                answer.chart = chart_spec(result.columns, result.rows, share=share, title=question)
                answer.summary = summarise(result.columns, result.rows, lang, truncated=result.truncated,
                                           ratio=ratio, labels=_labels(frame, lang) if frame is not None else None)
                if context is not None:
                    context.frame = frame if frame is not None else context.frame
                    context.turns.append((question, checked))
            except UnsafeSQL as error:
                answer.error = f"拒绝执行：{error}" if lang == "zh" else f"refused: {error}"
            except QueryError as error:
                answer.error = f"查询失败：{error}" if lang == "zh" else f"query failed: {error}"
        answer.seconds = time.perf_counter() - started
        return answer

    # -- LLM -----------------------------------------------------------------------------------------------
    def schema_prompt(self) -> str:
        """The schema as compact text for a language model."""
        lines = []
        for table in self.schema.tables.values():
            head = f"TABLE {table.name}" + (f" -- {table.comment}" if table.comment else "")
            lines.append(head)
            for column in table.columns:
                extra = f" -- {column.comment}" if column.comment else ""
                if column.values:
                    extra += " values: " + ", ".join(column.values[:12])
                key = " PK" if column.name in table.primary_key else ""
                lines.append(f"  {column.name} {column.kind}{key}{extra}")
        for join in self.schema.joins:
            lines.append(f"JOIN {join.left}.{join.left_column} = {join.right}.{join.right_column}")
        return "\n".join(lines)

    def _llm_sql(self, question: str, context: Conversation | None) -> str | None:
        messages = [{"role": "system", "content": (
            f"You translate questions into ONE read-only SQL SELECT for {self.schema.dialect}. "
            f"Today is {(self.now or date.today()).isoformat()}. Answer with the SQL only.\n" + self.schema_prompt())}]
        for asked, sql in (context.turns[-3:] if context else []):
            messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": sql or ""}]
        messages.append({"role": "user", "content": question})
        try:
            reply = self.llm(messages)
        except Exception:  # noqa: BLE001 - an unreachable model falls back to the parser
            return None
        match = re.search(r"```(?:sql)?\s*(.*?)```", reply or "", re.DOTALL | re.IGNORECASE)
        sql = (match.group(1) if match else reply or "").strip()
        try:
            check_select(sql, self.schema.dialect, self.db.max_rows)
        except UnsafeSQL:
            return None
        return sql


_AGG_ZH = {"sum": "合计", "avg": "平均", "max": "最大", "min": "最小", "count": "数量", "count_distinct": "种数",
           "ratio": "比率", "share": "占比", "per": "单位比值", "metric": ""}


def _labels(frame: Frame, lang: str) -> dict[str, str]:
    """Readable names for the summary: a measure's alias → "合计 产量（件）" from the column comment."""
    if lang != "zh":
        return {}
    def zh_comment(column) -> str:
        return re.sub(r"[A-Za-z][A-Za-z ,/()\-]*$", "", column.comment).strip() if column is not None else ""

    labels: dict[str, str] = {}
    for measure in frame.measures:
        comment = zh_comment(measure.column)
        if measure.func == "metric":
            labels[measure.label] = measure.label
        elif measure.func in ("ratio", "per") and comment and zh_comment(measure.denominator):
            labels[measure.label] = f"{comment}/{zh_comment(measure.denominator)}"
        elif comment:
            labels[measure.label] = f"{_AGG_ZH.get(measure.func, '')}{comment}"
    return labels


def _not_understood(error: NotUnderstood, lang: str) -> str:
    words = "、".join(error.words) if lang == "zh" else ", ".join(error.words)
    if lang == "zh":
        return f"不理解：{words or error.reason}（无法对应到数据库中的表或字段）"
    return f"not understood: {words or error.reason} (no matching table or column in the database)"


__all__ = ["Answer", "Conversation", "DataInsight", "GlossaryError", "QueryError"]
