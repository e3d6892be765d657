"""The copilot's agent: tools over the platform, who picks them, and the log of every call.

Tools (each returns a ``ToolResult``; none changes the plant or a plan by itself):

- ``query_data``: a data question answered by NL→SQL (``copilot.sql.DataInsight``) over the
  platform's own database, multi-turn through the conversation.
- ``tag_values``: current values (and the last hour) of the tags of the equipment named, from the historian.
- ``asset_health``: health index and remaining useful life from the maintenance app, one machine or the fleet.
- ``schedule_whatif``: the current plan's KPIs and late orders from the scheduling app, and for a rush
  order or a breakdown a proposed re-plan that a planner confirms (``POST /api/scheduling/reschedule``).
- ``search_kb``: an answer with citations from the documents and incident records the user is cleared for.
- ``draft_work_order``: a work order draft that a person confirms (``POST /api/maintenance/workorders``).

Planning. With an LLM configured (``copilot.llm``) the model gets the tools as OpenAI tool
definitions and decides the calls (up to ``MAX_LLM_ROUNDS``); offline, or when the model fails,
``route`` picks the tool by bilingual intent rules, and a data question that cannot be
understood falls back to the knowledge base. Every call is logged through ``record``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from zhizao.copilot.kb.text import has_cjk
from zhizao.copilot.llm import LlmClient, LlmError
from zhizao.core.i18n import t

log = logging.getLogger(__name__)

MAX_LLM_ROUNDS = 3
TOOL_NAMES = ("query_data", "tag_values", "asset_health", "schedule_whatif", "search_kb", "draft_work_order")

# Intent rules, checked in this order; each matches Chinese and English wording.
INTENTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(pattern, re.I)) for name, pattern in (
    ("draft_work_order", r"(?:创建|新建|开|起草|生成|提交|下|填)\s*(?:一个|一张|个|张)?\s*"
                         r"(?:维修|保养)?(?:工单|维修单)|报修|派工|(?:create|open|raise|draft|make|file|write)\s+(?:a\s+|an\s+)?(?:new\s+)?"
                         r"(?:maintenance\s+|repair\s+)?(?:work ?order|repair request|ticket)"),
    ("schedule_whatif", r"插单|急单|加急|排产|排程|交期|拖期|延期交付|what[- ]if|rush order|reschedul|schedule|"
                        r"due date|late orders?|假如|如果.{0,12}(?:停机|故障|坏了|插入)"),
    ("asset_health", r"健康|剩余寿命|寿命|\bRUL\b|预测性维护|故障风险|风险最高|退化|health|remaining useful|"
                     r"\brisk|degradat|likely to fail"),
    ("tag_values", r"当前|现在|实时|目前|此刻|\blatest\b|\bcurrent(?:ly)?\b|right now|\blive\b|\bnow\b"),
    ("search_kb", r"如何|怎么|怎样|为什么|原因|步骤|规程|手册|规定|要求|标准|程序|处理方法|注意事项|作业指导|安全|"
                  r"多久|周期|更换|保养|点检|润滑|检修|"
                  r"事故|事件|SOP|how (?:do|to|should|often|long)|\bwhy\b|procedure|manual|instruction|"
                  r"what does .{1,40} mean|\bsteps?\b|policy|root cause|incident|according to"),
    ("query_data", r"多少|统计|每台|每天|每月|每周|每条|趋势|排名|前\s*\d+|最高|最低|平均|总[数量计]|合计|占比|比例|"
                   r"[^\s]率|how many|how much|average|total|\bper\b|\bby\b|\btop \d+|trend|\brate\b|count|\bsum\b|"
                   r"highest|lowest|\blist\b|\bshow\b"),
))
FOLLOW_UP = re.compile(r"^\s*(?:那|那么|再看|换成|改成|只看|仅看|and\b|what about|how about|only\b|same\b)|"
                       r"呢\s*[？?]?\s*$", re.I)
SENSOR_WORDS = {"温度": "temp", "temperature": "temp", "振动": "vib", "vibration": "vib", "压力": "press",
                "pressure": "press", "电流": "current", "current": "current", "转速": "speed", "speed": "speed",
                "功率": "power", "power": "power", "能耗": "energy", "energy": "energy", "状态": "state",
                "state": "state", "计数": "count", "count": "count"}


def lang_of(text: str) -> str:
    return "zh-CN" if has_cjk(text) else "en"


def route(question: str, previous_tool: str | None = None) -> str | None:
    """The tool for a question by intent rules (offline planning); None when no rule matches."""
    if previous_tool in ("query_data", "search_kb") and FOLLOW_UP.search(question):
        return previous_tool
    for name, pattern in INTENTS:
        if pattern.search(question):
            return name
    return None


@dataclass
class ToolResult:
    ok: bool
    kind: str  # sql | kb | tool
    text: str
    summary: str = ""  # one line for the log
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    chart: dict[str, Any] | None = None
    sql: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    draft: dict[str, Any] | None = None  # an action a person confirms: {"method", "url", "body", "label"}

    def for_llm(self) -> str:
        """What the model reads back from the tool (kept short)."""
        data: dict[str, Any] = {"ok": self.ok, "text": self.text}
        if self.columns:
            data["columns"], data["rows"] = self.columns, self.rows[:20]
        if self.sql:
            data["sql"] = self.sql
        if self.citations:
            data["citations"] = [{"source": c["source"], "text": c["text"][:300]} for c in self.citations[:3]]
        if self.draft:
            data["draft"] = self.draft
        return json.dumps(data, ensure_ascii=False, default=str)[:6000]


@dataclass
class CallEntry:
    """One logged tool call."""

    ts_ms: int
    username: str
    conversation: str
    tool: str
    arguments: dict[str, Any]
    planner: str
    ok: bool
    summary: str
    duration_ms: float


@dataclass
class Turn:
    question: str
    tool: str
    text: str


@dataclass
class ConversationState:
    """Multi-turn memory: the data conversation (follow-ups reuse its frame) and the turns so far."""

    id: str
    data: Any = None  # copilot.sql Conversation, made on first data question
    turns: list[Turn] = field(default_factory=list)


@dataclass
class Caller:
    username: str
    role: str
    clearance: str
    lang: str


@dataclass
class ChatAnswer:
    conversation: str
    question: str
    kind: str  # sql | kb | tool | none
    text: str
    tool: str | None
    planner: str  # rules | llm
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    chart: dict[str, Any] | None = None
    sql: str | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    draft: dict[str, Any] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)


TOOL_SCHEMAS: dict[str, tuple[str, dict[str, Any]]] = {
    "query_data": ("Answer a question about production data (orders, output, downtime, alarms, OEE...) with SQL "
                   "over the platform database. Pass the user's question, in their words.",
                   {"question": {"type": "string"}}),
    "tag_values": ("Current values and last hour of the sensor tags of a piece of equipment.",
                   {"equipment": {"type": "string", "description": "equipment id or name"},
                    "sensor": {"type": "string", "description": "optional: temperature, vibration, pressure..."}}),
    "asset_health": ("Health index (0-100) and remaining useful life of one machine, or of the whole fleet "
                     "(riskiest first) when no equipment is given.",
                     {"equipment": {"type": "string", "description": "optional equipment id or name"}}),
    "schedule_whatif": ("The production plan's KPIs and late orders; with a scenario (rush order of a product and "
                        "quantity, or a machine breakdown of some minutes) a proposed re-plan a planner confirms.",
                        {"scenario": {"type": "string", "enum": ["none", "rush_order", "breakdown"]},
                         "product": {"type": "string"}, "qty": {"type": "integer"},
                         "equipment": {"type": "string"}, "repair_min": {"type": "integer"}}),
    "search_kb": ("Search the plant's documents (manuals, SOPs, quality procedures) and incident records "
                  "(work orders, alarms, failures); returns an answer with citations.",
                  {"question": {"type": "string"}}),
    "draft_work_order": ("Draft a maintenance work order for a person to confirm (never created directly).",
                         {"equipment": {"type": "string"}, "title": {"type": "string"},
                          "description": {"type": "string"},
                          "priority": {"type": "string", "enum": ["low", "medium", "high", "urgent"]}}),
}


def openai_tools() -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": name, "description": description,
                                              "parameters": {"type": "object", "properties": properties}}}
            for name, (description, properties) in TOOL_SCHEMAS.items()]


class Toolbox:
    """The tools' implementations over the platform context. Runs in a worker thread; coroutines of
    other services are run on the platform's event loop."""

    def __init__(self, ctx: Any, kb: Any, insight: Callable[[], Any], loop: asyncio.AbstractEventLoop | None) -> None:
        self.ctx = ctx
        self.kb = kb
        self.insight = insight  # () -> DataInsight over the platform database (built lazily)
        self.loop = loop

    def _await(self, coroutine: Any, timeout: float = 30.0) -> Any:
        if self.loop is None:
            return asyncio.run(coroutine)
        future: Future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    # -- equipment lookup ------------------------------------------------------------------------------------
    def find_equipment(self, text: str) -> Any | None:
        """The equipment whose id or name appears in ``text`` (the longest match)."""
        if not text:
            return None
        lowered = text.lower()
        best, best_len = None, 0
        for *_, eq in self.ctx.plant.iter_equipment():
            names = {eq.id, eq.id.replace("_", "-"), eq.id.replace("-", "_"), eq.id.replace("_", " "),
                     eq.name.en, eq.name.zh}
            for name in names:
                if name and len(name) > best_len and name.lower() in lowered:
                    best, best_len = eq, len(name)
        return best

    # -- tools ------------------------------------------------------------------------------------------------
    def query_data(self, args: dict[str, Any], caller: Caller, state: ConversationState) -> ToolResult:
        question = str(args.get("question") or "")
        try:
            insight = self.insight()
        except Exception as exc:  # noqa: BLE001 - an unavailable database is an answer, not a crash
            return ToolResult(False, "sql", t("copilot.error.data_unavailable", caller.lang, error=str(exc)),
                              summary=f"unavailable: {exc}")
        if state.data is None:
            from zhizao.copilot.sql import Conversation

            state.data = Conversation()
        answer = insight.ask(question, state.data)
        if answer.error:
            return ToolResult(False, "sql", answer.error, summary=answer.error[:200])
        return ToolResult(True, "sql", answer.summary, summary=f"{len(answer.rows)} rows: {answer.sql}"[:300],
                          columns=list(answer.columns), rows=[list(r) for r in answer.rows], chart=answer.chart,
                          sql=answer.sql)

    def tag_values(self, args: dict[str, Any], caller: Caller, state: ConversationState) -> ToolResult:
        text = " ".join(str(v) for v in args.values() if v)
        eq = self.find_equipment(text)
        if eq is None:
            return ToolResult(False, "tool", t("copilot.error.no_equipment", caller.lang), summary="no equipment")
        words = [word for word in SENSOR_WORDS if word in text.lower()]

        def asked(tag: Any) -> bool:
            described = f"{tag.description.en} {tag.description.zh}".lower()
            return any(SENSOR_WORDS[word] in tag.id or word in described for word in words)

        tags = [tag for tag in eq.all_tags if not words or asked(tag)] or eq.all_tags
        paths = [tag.path for tag in tags]
        latest = self.ctx.historian.latest(paths)
        rows = [[tag.id, latest[tag.path].v if tag.path in latest else None, tag.unit,
                 _iso(latest[tag.path].ts) if tag.path in latest else None] for tag in tags]
        columns = [t("copilot.col.tag", caller.lang), t("copilot.col.value", caller.lang),
                   t("copilot.col.unit", caller.lang), t("copilot.col.time", caller.lang)]
        chart = None
        numeric = [tag for tag in tags if tag.data_type in ("float", "int") and tag.path in latest][:4]
        if numeric:
            end = self.ctx.clock.now_ms()
            series = self.ctx.historian.read_agg([tag.path for tag in numeric], end - 3_600_000, end, 60_000, "avg")
            times = sorted({ts for points in series.values() for ts, _ in points})
            if len(times) > 1:
                by_tag = {path: dict(points) for path, points in series.items()}
                chart = {"type": "line", "x": "time", "y": [tag.id for tag in numeric],
                         "title": eq.name.zh if caller.lang == "zh-CN" and eq.name.zh else (eq.name.en or eq.id),
                         "columns": ["time"] + [tag.id for tag in numeric],
                         "rows": [[_iso(ts)] + [by_tag[tag.path].get(ts) for tag in numeric] for ts in times]}
        shown = "; ".join(f"{r[0]} = {_fmt(r[1])} {r[2]}".strip() for r in rows if r[1] is not None)
        text_out = t("copilot.tags.answer", caller.lang, equipment=eq.id, values=shown or "—")
        return ToolResult(True, "tool", text_out, summary=f"{eq.id}: {len(rows)} tags", columns=columns, rows=rows,
                          chart=chart)

    def asset_health(self, args: dict[str, Any], caller: Caller, state: ConversationState) -> ToolResult:
        maintenance = self.ctx.services.get("maintenance")
        if maintenance is None or not hasattr(maintenance, "fleet"):
            return ToolResult(False, "tool", t("copilot.error.no_service", caller.lang, service="maintenance"),
                              summary="maintenance not running")
        eq = self.find_equipment(" ".join(str(v) for v in args.values() if v))
        if eq is not None and hasattr(maintenance, "machine"):
            try:
                data = maintenance.machine(eq.id)
            except Exception as exc:  # noqa: BLE001 - not monitored: say so
                return ToolResult(False, "tool", str(getattr(exc, "detail", None) or exc), summary=str(exc)[:200])
            rows_data = [data]
        else:
            rows_data = maintenance.fleet()[:20]
        columns = [t("copilot.col.equipment", caller.lang), t("copilot.col.health", caller.lang),
                   t("copilot.col.rul_h", caller.lang), t("copilot.col.state", caller.lang)]
        rows = [[r.get("machine") or r.get("equipment"), _round(r.get("health")),
                 _round((r.get("rul_h") or {}).get("median")), r.get("state")] for r in rows_data]
        if not rows:
            return ToolResult(True, "tool", t("copilot.health.none", caller.lang), summary="no machines")
        if all(r[1] is None for r in rows):
            return ToolResult(True, "tool", t("copilot.health.pending", caller.lang, n=len(rows)),
                              summary=f"{len(rows)} machines, no health yet", columns=columns, rows=rows)
        worst = next(r for r in rows if r[1] is not None)
        text = t("copilot.health.answer", caller.lang, equipment=worst[0], health=_fmt(worst[1]),
                 rul=_fmt(worst[2]) if worst[2] is not None else "—", n=len(rows))
        if eq is not None and rows_data[0].get("faults"):
            faults = ", ".join(f"{f['mode']} ({f['probability']:.0%})" for f in rows_data[0]["faults"])
            text += " " + t("copilot.health.faults", caller.lang, faults=faults)
        chart = {"type": "bar", "x": columns[0], "y": [columns[1]], "title": t("copilot.health.title", caller.lang)}
        return ToolResult(True, "tool", text, summary=f"{len(rows)} machines, lowest health {worst[0]}",
                          columns=columns, rows=rows, chart=chart if len(rows) > 1 else None)

    def schedule_whatif(self, args: dict[str, Any], caller: Caller, state: ConversationState) -> ToolResult:
        scheduling = self.ctx.services.get("scheduling")
        if scheduling is None or not hasattr(scheduling, "snapshot"):
            return ToolResult(False, "tool", t("copilot.error.no_service", caller.lang, service="scheduling"),
                              summary="scheduling not running")
        snapshot = scheduling.snapshot()
        late = scheduling.explanations().get("late_orders", []) if hasattr(scheduling, "explanations") else []
        kpis = snapshot.get("kpis") or {}
        columns = [t("copilot.col.kpi", caller.lang), t("copilot.col.value", caller.lang)]
        rows = [[k, _round(v)] for k, v in kpis.items()]
        text = t("copilot.schedule.answer", caller.lang, status=snapshot.get("status"),
                 orders=snapshot.get("orders", 0), late=len(late))
        if late:
            text += " " + t("copilot.schedule.late", caller.lang, orders=", ".join(str(x.get("order", x.get("job", "")))
                                                                                    for x in late[:5]))
        draft = self._schedule_draft(args, caller)
        if draft is not None:
            text += " " + t("copilot.schedule.proposal", caller.lang)
        return ToolResult(True, "tool", text, summary=f"plan {snapshot.get('status')}, {len(late)} late",
                          columns=columns, rows=rows, draft=draft)

    def _schedule_draft(self, args: dict[str, Any], caller: Caller) -> dict[str, Any] | None:
        """A re-plan request for a rush order or a breakdown named in the question, for a planner to confirm."""
        text = " ".join(str(v) for v in args.values() if v)
        scenario = args.get("scenario")
        if scenario in (None, "", "none"):
            if re.search(r"插单|急单|加急|rush", text, re.I):
                scenario = "rush_order"
            elif re.search(r"停机|故障|坏|breakdown|break down|goes down|fails?", text, re.I):
                scenario = "breakdown"
        if scenario == "breakdown":
            eq = self.find_equipment(text)
            if eq is None:
                return None
            minutes = args.get("repair_min") or _minutes(text) or 60
            body = {"event": "breakdown", "equipment": eq.path, "repair_min": int(minutes)}
        elif scenario == "rush_order":
            product = args.get("product") or next(
                (p.id for p in self.ctx.plant.products if p.id.lower() in text.lower()), None)
            if product is None:
                return None
            qty = args.get("qty") or _quantity(text) or 10
            due = self.ctx.clock.now_ms() + 24 * 3_600_000
            body = {"event": "rush_order", "product": product, "qty": int(qty), "due": due}
        else:
            return None
        return {"method": "POST", "url": "/api/scheduling/reschedule", "body": body,
                "label": t(f"copilot.draft.{scenario}", caller.lang)}

    def search_kb(self, args: dict[str, Any], caller: Caller, state: ConversationState) -> ToolResult:
        question = str(args.get("question") or "")
        previous = state.turns[-1] if state.turns else None
        follow_up = previous is not None and previous.tool == "search_kb" and FOLLOW_UP.search(question)
        answer = self.kb.ask(question, clearance=caller.clearance, citations=3,
                             context=previous.question if follow_up else "")
        if not answer.answer:
            return ToolResult(False, "kb", t("copilot.kb.nothing", caller.lang), summary="no passage")
        citations = [c.to_json() for c in answer.citations]
        return ToolResult(True, "kb", answer.answer, citations=citations,
                          summary=f"{len(citations)} citations, best {citations[0]['source']} "
                                  f"{citations[0]['position']}")

    def draft_work_order(self, args: dict[str, Any], caller: Caller, state: ConversationState) -> ToolResult:
        text = " ".join(str(v) for v in args.values() if v)
        eq = self.find_equipment(text)
        if eq is None:
            return ToolResult(False, "tool", t("copilot.error.no_equipment", caller.lang), summary="no equipment")
        priority = args.get("priority")
        if priority not in ("low", "medium", "high", "urgent"):
            priority = ("urgent" if re.search(r"紧急|立即|马上|urgent|immediately|asap", text, re.I) else
                        "high" if re.search(r"尽快|优先|high|soon", text, re.I) else "medium")
        title = str(args.get("title") or "").strip() or _title_from(str(args.get("question") or text), eq)
        description = str(args.get("description") or args.get("question") or text)
        maintenance = self.ctx.services.get("maintenance")
        if maintenance is not None and hasattr(maintenance, "machine"):
            try:
                health = maintenance.machine(eq.id)
                if health.get("health") is not None:
                    description += "\n" + t("copilot.draft.health", caller.lang, health=_fmt(_round(health["health"])),
                                            sensor=health.get("top_sensor") or "—")
            except Exception:  # noqa: BLE001 - a machine the maintenance app does not monitor: no health line
                pass
        body = {"equipment": eq.path, "title": title[:256], "description": description[:4000],
                "priority": priority, "duration_min": 60}
        draft = {"method": "POST", "url": "/api/maintenance/workorders", "body": body,
                 "label": t("copilot.draft.work_order", caller.lang)}
        text_out = t("copilot.draft.answer", caller.lang, equipment=eq.id, title=body["title"], priority=priority)
        return ToolResult(True, "tool", text_out, summary=f"draft for {eq.id}: {body['title']}"[:300], draft=draft)


def _iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _round(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _minutes(text: str) -> int | None:
    match = re.search(r"(\d+(?:\.\d+)?)\s*(小时|h\b|hours?|分钟|min)", text, re.I)
    if not match:
        return None
    value = float(match.group(1))
    return round(value * 60) if match.group(2).lower().startswith(("小", "h")) else round(value)


def _quantity(text: str) -> int | None:
    match = re.search(r"(\d+)\s*(?:件|个|台|pcs|pieces|units)?", text)
    return int(match.group(1)) if match else None


def _title_from(question: str, eq: Any) -> str:
    """A work order title from the request: the question without the request wording."""
    cleaned = re.sub(r"(请|帮我|给|为|创建|新建|开|起草|生成|一个|一张|工单|维修单|报修|"
                     r"please|create|draft|open|raise|make|a |an |work ?order|for )", " ", question, flags=re.I)
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" ，,。.:：")
    return cleaned or eq.id


class Agent:
    """Answers one chat turn: plans (LLM or rules), calls tools, logs each call."""

    def __init__(self, toolbox: Toolbox, llm: LlmClient | None, record: Callable[[CallEntry], None],
                 now_ms: Callable[[], int]) -> None:
        self.toolbox = toolbox
        self.llm = llm
        self.record = record
        self.now_ms = now_ms

    def _call(self, name: str, args: dict[str, Any], caller: Caller, state: ConversationState,
              planner: str) -> tuple[ToolResult, dict[str, Any]]:
        started = time.perf_counter()
        try:
            result = getattr(self.toolbox, name)(args, caller, state)
        except Exception as exc:  # a tool failing is logged and answered, never a 500
            log.exception("copilot tool %s failed", name)
            result = ToolResult(False, "tool", t("copilot.error.tool", caller.lang, tool=name, error=str(exc)),
                                summary=f"{type(exc).__name__}: {exc}"[:300])
        duration = round((time.perf_counter() - started) * 1000, 1)
        entry = CallEntry(self.now_ms(), caller.username, state.id, name, args, planner, result.ok,
                          result.summary or result.text[:300], duration)
        try:
            self.record(entry)
        except Exception:
            log.exception("copilot: tool call not logged")
        return result, {"tool": name, "arguments": args, "ok": result.ok, "summary": entry.summary,
                        "duration_ms": duration}

    def answer(self, question: str, caller: Caller, state: ConversationState) -> ChatAnswer:
        planned = None
        if self.llm is not None:
            try:
                planned = self._answer_with_llm(question, caller, state)
            except LlmError as exc:
                log.warning("copilot: LLM unavailable, answering by rules: %s", exc)
        result = planned or self._answer_by_rules(question, caller, state)
        state.turns.append(Turn(question, result.tool or "", result.text))
        return result

    def _answer_by_rules(self, question: str, caller: Caller, state: ConversationState) -> ChatAnswer:
        previous = state.turns[-1].tool if state.turns else None
        routed = route(question, previous)
        # A data question the parser does not understand may be answered by the documents, and back;
        # with no rule matching, the documents go first (they answer only above a relevance threshold).
        if routed == "query_data":
            order = ["query_data", "search_kb"]
        elif routed in ("search_kb", None):
            order = ["search_kb", "query_data"]
        else:
            order = [routed]
        calls: list[dict[str, Any]] = []
        results: list[ToolResult] = []
        for name in order:
            result, call = self._call(name, {"question": question}, caller, state, "rules")
            calls.append(call)
            results.append(result)
            if result.ok:
                break
        if not result.ok and len(results) > 1:
            # Neither understood it: say what each did not find, the first choice first.
            text = "\n".join(dict.fromkeys(r.text for r in results))
            return ChatAnswer(state.id, question, "none", text, None, "rules", calls=calls)
        return self._chat_answer(question, state, result, calls, order[len(calls) - 1], "rules")

    def _chat_answer(self, question: str, state: ConversationState, result: ToolResult, calls: list[dict[str, Any]],
                     tool: str, planner: str, text: str | None = None) -> ChatAnswer:
        return ChatAnswer(state.id, question, result.kind if result.ok else "none", text or result.text, tool, planner,
                          columns=result.columns, rows=result.rows, chart=result.chart, sql=result.sql,
                          citations=result.citations, draft=result.draft, calls=calls)

    def _answer_with_llm(self, question: str, caller: Caller, state: ConversationState) -> ChatAnswer | None:
        assert self.llm is not None
        messages: list[dict[str, Any]] = [{"role": "system", "content": (
            "You are the industrial copilot of a manufacturing plant. Use the tools to answer; never invent "
            "figures. Work orders and re-plans are only drafted for a person to confirm. Answer in the user's "
            f"language ({'Chinese' if caller.lang == 'zh-CN' else 'English'}), briefly.")}]
        for turn in state.turns[-4:]:
            messages += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": turn.text}]
        messages.append({"role": "user", "content": question})
        calls: list[dict[str, Any]] = []
        last: tuple[str, ToolResult] | None = None
        for _ in range(MAX_LLM_ROUNDS):
            reply = self.llm.chat(messages, tools=openai_tools())
            if not reply.tool_calls:
                if last is None:
                    if not reply.content:
                        return None
                    return ChatAnswer(state.id, question, "tool", reply.content, None, "llm", calls=calls)
                name, result = last
                return self._chat_answer(question, state, result, calls, name, "llm", reply.content or None)
            messages.append({"role": "assistant", "content": reply.content or "",
                             "tool_calls": reply.raw_message.get("tool_calls")})
            for request in reply.tool_calls:
                if request.name not in TOOL_NAMES:
                    messages.append({"role": "tool", "tool_call_id": request.id,
                                     "content": json.dumps({"ok": False, "text": f"unknown tool {request.name}"})})
                    continue
                args = dict(request.arguments)
                args.setdefault("question", question)
                result, call = self._call(request.name, args, caller, state, "llm")
                calls.append(call)
                if result.ok or last is None:
                    last = (request.name, result)
                messages.append({"role": "tool", "tool_call_id": request.id, "content": result.for_llm()})
        if last is None:
            return None
        name, result = last
        return self._chat_answer(question, state, result, calls, name, "llm")
