"""The copilot in the platform: chat turns, the knowledge base with clearances, incident records, the call log.

- Knowledge base: ``<data>/kb`` (the same folder format as ``zhizao kb --kb DIR``). Uploaded files
  are kept in ``<data>/kb/files``. Each document has a classification; a reader's clearance is
  kept in ``copilot_clearances`` (default ``internal``; admins read everything).
- Incident records: maintenance work orders (read from the database table the maintenance app
  keeps), alarm activations (``_events/alarm/...``) and machine failures (``_events/failure/...``)
  are stored in ``copilot_records`` and indexed as one knowledge base document per kind and month
  (``records-failure-2026-11``...), refreshed every ``REFRESH_S`` seconds.
- Data questions go to NL→SQL over the platform's own database, without the tables of users,
  tokens, audit and the copilot's own log (``PRIVATE_TABLES``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select, text

from zhizao.copilot.agent import Agent, CallEntry, Caller, ChatAnswer, ConversationState, Toolbox, lang_of
from zhizao.copilot.kb import LEVELS, KbError, KnowledgeBase, check_level, levels_for
from zhizao.copilot.kb.model import Block
from zhizao.copilot.llm import LlmClient
from zhizao.copilot.model import Clearance, IncidentRecord, ToolCall
from zhizao.core.context import Context

log = logging.getLogger(__name__)

DEFAULT_CLEARANCE = "internal"
REFRESH_S = 30.0
MAX_CONVERSATIONS = 500
RECORDS_CLASSIFICATION = "internal"
PRIVATE_TABLES = frozenset({"users", "api_tokens", "audit_log", "alembic_version", "copilot_clearances",
                            "copilot_tool_calls"})
WORK_ORDER_TABLE = "maintenance_work_orders"
ACTIVATION_STATES = frozenset({"unack_active"})


class CopilotError(Exception):
    """A refused request; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class CopilotService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.kb = KnowledgeBase(Path(ctx.settings.data_dir) / "kb")
        self.llm = LlmClient.from_env()
        self.conversations: OrderedDict[str, ConversationState] = OrderedDict()
        self._insight: Any = None
        self._insight_lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []  # records from bus events, stored by the refresh task
        self._pending_lock = threading.Lock()
        self._work_orders_seen = -1
        self._offs: list[Any] = []
        self._task: asyncio.Task | None = None
        self.agent: Agent | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        toolbox = Toolbox(self.ctx, self.kb, self.insight, asyncio.get_running_loop())
        self.agent = Agent(toolbox, self.llm, self._record_call, self.ctx.clock.now_ms)
        self._offs = [self.ctx.bus.on("_events/alarm/#", self._on_alarm),
                      self.ctx.bus.on("_events/failure/#", self._on_failure)]
        self._task = asyncio.create_task(self._refresh_loop(), name="copilot-records")

    async def stop(self) -> None:
        for off in self._offs:
            off()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._insight is not None:
            with contextlib.suppress(Exception):
                self._insight.close()
        if self.llm is not None:
            self.llm.close()

    # -- NL→SQL over the platform database -----------------------------------------------------------------------
    def insight(self) -> Any:
        """DataInsight over the platform database (introspected on first use), private tables left out."""
        with self._insight_lock:
            if self._insight is None:
                from zhizao.copilot.sql.db import Database
                from zhizao.copilot.sql.insight import DataInsight
                from zhizao.copilot.sql.schema import introspect

                db = Database(self.ctx.db.url.replace("+psycopg", "").replace("+pysqlite", ""))
                schema = introspect(db)
                schema.tables = {name: table for name, table in schema.tables.items()
                                 if name.lower() not in PRIVATE_TABLES}
                schema.joins = [j for j in schema.joins if j.left in schema.tables and j.right in schema.tables]
                self._insight = _PrivateTablesGuard(DataInsight(db, schema, llm=self.llm))
            return self._insight

    # -- clearance ------------------------------------------------------------------------------------------------
    def clearance(self, username: str, role: str) -> str:
        if role == "admin":
            return LEVELS[-1]
        with self.ctx.db.session() as s:
            row = s.get(Clearance, username)
            return row.level if row else DEFAULT_CLEARANCE

    def set_clearance(self, username: str, level: str, by: str) -> dict[str, Any]:
        level = check_level(level, "level")
        with self.ctx.db.session() as s:
            row = s.get(Clearance, username)
            if row is None:
                row = Clearance(username=username, level=level, updated_by=by, updated_ms=self.ctx.clock.now_ms())
                s.add(row)
            else:
                row.level, row.updated_by, row.updated_ms = level, by, self.ctx.clock.now_ms()
        return {"username": username, "level": level}

    def clearances(self) -> list[dict[str, Any]]:
        with self.ctx.db.session() as s:
            return [{"username": r.username, "level": r.level, "updated_by": r.updated_by,
                     "updated_ms": r.updated_ms} for r in s.scalars(select(Clearance).order_by(Clearance.username))]

    # -- chat --------------------------------------------------------------------------------------------------
    def conversation(self, conversation_id: str | None) -> ConversationState:
        key = conversation_id or uuid.uuid4().hex[:16]
        state = self.conversations.get(key)
        if state is None:
            state = ConversationState(key)
            self.conversations[key] = state
            while len(self.conversations) > MAX_CONVERSATIONS:
                self.conversations.popitem(last=False)
        self.conversations.move_to_end(key)
        return state

    async def chat(self, question: str, conversation_id: str | None, username: str, role: str) -> ChatAnswer:
        question = (question or "").strip()
        if not question:
            raise CopilotError("question", "question: empty")
        assert self.agent is not None, "the copilot service is not started"
        state = self.conversation(conversation_id)
        caller = Caller(username, role, await asyncio.to_thread(self.clearance, username, role), lang_of(question))
        return await asyncio.to_thread(self.agent.answer, question, caller, state)

    def _record_call(self, entry: CallEntry) -> None:
        with self.ctx.db.session() as s:
            s.add(ToolCall(**{**asdict(entry), "summary": entry.summary[:1024]}))

    def tool_calls(self, limit: int = 100, username: str | None = None) -> list[dict[str, Any]]:
        with self.ctx.db.session() as s:
            query = select(ToolCall).order_by(ToolCall.id.desc()).limit(limit)
            if username is not None:
                query = query.where(ToolCall.username == username)
            return [{"id": r.id, "ts": r.ts_ms, "user": r.username, "conversation": r.conversation, "tool": r.tool,
                     "arguments": r.arguments, "planner": r.planner, "ok": r.ok, "summary": r.summary,
                     "duration_ms": r.duration_ms} for r in s.scalars(query)]

    # -- knowledge base ----------------------------------------------------------------------------------------
    def documents(self, username: str, role: str) -> list[dict[str, Any]]:
        allowed = set(levels_for(self.clearance(username, role)))
        return sorted((d for d in self.kb.documents().values() if d["classification"] in allowed),
                      key=lambda d: (d.get("kind") != "document", d["source"]))

    def add_documents(self, files: list[tuple[str, bytes]], classification: str) -> dict[str, Any]:
        """Store uploaded files in ``<kb>/files`` and index them; a bad file is reported, the others added."""
        classification = check_level(classification)
        folder = self.kb.folder / "files"
        folder.mkdir(parents=True, exist_ok=True)
        report: dict[str, Any] = {"added": [], "errors": []}
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for name, data in files:
                safe = Path(name or "").name
                if not safe or safe.startswith("."):
                    report["errors"].append({"file": name, "error": f"{name!r}: not a file name"})
                    continue
                path = Path(tmp) / safe
                path.write_bytes(data)
                paths.append(path)
            result = self.kb.add_files(paths, classification)
            for entry in result.added:
                shutil.copyfile(Path(tmp) / entry["source"], folder / entry["source"])
            report["added"] += result.added
            report["errors"] += [{"file": Path(e["file"]).name, "error": e["error"]} for e in result.errors]
        return report

    def remove_document(self, source: str) -> None:
        if not self.kb.remove(source):
            raise CopilotError("source", f"source: no document {source!r}")
        (self.kb.folder / "files" / Path(source).name).unlink(missing_ok=True)

    def set_classification(self, source: str, classification: str) -> dict[str, Any]:
        try:
            return self.kb.set_classification(source, classification)
        except KbError as exc:
            raise CopilotError("classification" if "level" in str(exc) else "source", str(exc)) from None

    # -- incident records ------------------------------------------------------------------------------------------
    def _on_alarm(self, msg: Any) -> None:
        p = msg.payload if isinstance(msg.payload, dict) else {}
        if p.get("state") not in ACTIVATION_STATES or "ts" not in p:
            return
        ts = int(p["ts"])
        tag = str(p.get("tag") or msg.topic.removeprefix("_events/alarm/"))
        title = f"{_iso(ts)} alarm / 报警 {p.get('limit', '')} {tag}"
        body = (f"Alarm {p.get('limit', '')} on {tag}, priority {p.get('priority', '')}, value {p.get('value')}"
                f" at {_iso(ts)}. {p.get('message') or ''}".strip())
        self._queue({"kind": "alarm", "ref": f"{p.get('id', tag)}-{ts}", "ts_ms": ts,
                     "equipment": tag.rsplit("/", 1)[0], "title": title, "body": body})

    def _on_failure(self, msg: Any) -> None:
        p = msg.payload if isinstance(msg.payload, dict) else {}
        equipment = str(p.get("equipment") or msg.topic.removeprefix("_events/failure/"))
        ts = int(p.get("ts") or self.ctx.clock.now_ms())
        mode = p.get("mode", "unknown")
        self._queue({"kind": "failure", "ref": f"{equipment}-{ts}", "ts_ms": ts, "equipment": equipment,
                     "title": f"{_iso(ts)} failure / 故障 {mode} {equipment.rsplit('/', 1)[-1]}",
                     "body": f"Machine failure / 设备故障: {equipment} stopped with failure mode {mode} "
                             f"at {_iso(ts)}."})

    def _queue(self, record: dict[str, Any]) -> None:
        with self._pending_lock:
            self._pending.append(record)

    def _warm_up(self) -> None:
        """Load jieba's dictionary and the index now, so the first question does not wait for them."""
        from zhizao.copilot.kb.text import tokenize

        tokenize("预热 warm-up")
        self.kb.search("warm-up")

    async def _refresh_loop(self) -> None:
        try:
            await asyncio.to_thread(self._warm_up)
        except Exception:
            log.exception("copilot: knowledge base not loaded")
        while True:
            try:
                await asyncio.to_thread(self.refresh_records)
            except Exception:
                log.exception("copilot: incident records not refreshed")
            await asyncio.sleep(REFRESH_S)

    def refresh_records(self) -> int:
        """Store new records (bus events, changed work orders) and re-index the months they fall in."""
        with self._pending_lock:
            records, self._pending = self._pending, []
        records += self._changed_work_orders()
        if not records:
            return 0
        touched: set[tuple[str, str]] = set()
        with self.ctx.db.session() as s:
            for record in records:
                row = s.scalars(select(IncidentRecord).where(IncidentRecord.kind == record["kind"],
                                                            IncidentRecord.ref == record["ref"])).first()
                if row is None:
                    s.add(IncidentRecord(**record))
                else:
                    for key, value in record.items():
                        setattr(row, key, value)
                touched.add((record["kind"], _month(record["ts_ms"])))
        for kind, month in touched:
            self._index_month(kind, month)
        return len(records)

    def _index_month(self, kind: str, month: str) -> None:
        start = int(datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC).timestamp() * 1000)
        end_month = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
        end_month = end_month.replace(year=end_month.year + (end_month.month == 12), month=end_month.month % 12 + 1)
        end = int(end_month.timestamp() * 1000)
        with self.ctx.db.session() as s:
            rows = s.scalars(select(IncidentRecord).where(IncidentRecord.kind == kind, IncidentRecord.ts_ms >= start,
                                                          IncidentRecord.ts_ms < end).order_by(IncidentRecord.ts_ms))
            blocks: list[Block] = [Block("heading", f"{kind} records / 记录 {month}", level=1)]
            for row in rows:
                blocks += [Block("heading", row.title, level=2), Block("text", row.body or row.title)]
        if len(blocks) > 1:
            self.kb.add_blocks(f"records-{kind}-{month}", blocks, RECORDS_CLASSIFICATION, kind="records")

    def _changed_work_orders(self) -> list[dict[str, Any]]:
        """Work orders created or changed since the last look, read from the maintenance app's table."""
        engine = self.ctx.db.engine
        if not inspect(engine).has_table(WORK_ORDER_TABLE):
            return []
        query = text(f"SELECT id, equipment, title, description, priority, state, assignee, spare_parts, notes, "
                     f"created_by, created_ms, updated_ms, completed_ms FROM {WORK_ORDER_TABLE} "
                     f"WHERE updated_ms > :seen ORDER BY updated_ms")
        with engine.connect() as conn:
            rows = conn.execute(query, {"seen": self._work_orders_seen}).mappings().all()
        out = []
        for r in rows:
            self._work_orders_seen = max(self._work_orders_seen, int(r["updated_ms"]))
            notes = _json_list(r["notes"])
            parts = _json_list(r["spare_parts"])
            body = (f"Work order / 工单 #{r['id']} on {r['equipment']}: {r['title']}. "
                    f"Priority {r['priority']}, state {r['state']}, created by {r['created_by']} at "
                    f"{_iso(r['created_ms'])}"
                    + (f", completed at {_iso(r['completed_ms'])}" if r["completed_ms"] else "")
                    + (f", assignee {r['assignee']}" if r["assignee"] else "") + ".\n" + (r["description"] or ""))
            if parts:
                body += "\nSpare parts / 备件: " + ", ".join(f"{p.get('part')} x{p.get('qty')}" for p in parts)
            for note in notes:
                body += f"\nNote / 备注 ({note.get('user', '')}): {note.get('text', '')}"
            out.append({"kind": "workorder", "ref": str(r["id"]), "ts_ms": int(r["created_ms"]),
                        "equipment": r["equipment"], "title": f"{_iso(r['created_ms'])} #{r['id']} {r['title']}",
                        "body": body})
        return out


class _PrivateTablesGuard:
    """DataInsight that refuses SQL naming a private table (an LLM could write one the schema left out)."""

    def __init__(self, insight: Any) -> None:
        self._insight = insight

    def ask(self, question: str, context: Any = None) -> Any:
        answer = self._insight.ask(question, context)
        if answer.sql and _names_private_table(answer.sql, self._insight.schema.dialect):
            answer.error = "refused: the query reads a private table / 拒绝：查询涉及受保护的表"
            answer.columns, answer.rows, answer.sql = [], [], None
        return answer

    def close(self) -> None:
        self._insight.close()


def _names_private_table(sql: str, dialect: str) -> bool:
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.ParseError:
        return True
    return any(table.name.lower() in PRIVATE_TABLES for table in tree.find_all(exp.Table))


def _json_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [v for v in value or [] if isinstance(v, dict)]


def _iso(ts: int | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(int(ts) / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _month(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m")


