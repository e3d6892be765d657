"""The copilot in a real platform (SQLite + DuckDB, no simulator): chat routing, the knowledge base
with clearances, incident records, work order drafts, the tool-call log, and LLM tool calling."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from tests.conftest import PASSWORD, ROLES, auth, make_settings

from zhizao.copilot.agent import route

SOP = ("# Hydraulic unit HU-3 maintenance\n\n## Filters\n\nThe return-line filter of the hydraulic unit is "
       "replaced every 1,500 operating hours.\n\n## Oil\n\nUse ISO VG 46 hydraulic oil; the tank holds 220 litres.\n")
SECRET = "# Recipe R-9\n\n## Curing\n\nThe curing oven runs at 182 °C for 41 minutes.\n"


@pytest.fixture(scope="module")
def platform_app(tmp_path_factory: pytest.TempPathFactory):
    """One platform for the module (building one per test costs seconds on a busy machine)."""
    from zhizao.api.app import create_app

    app = create_app(make_settings(tmp_path_factory.mktemp("copilot")))
    tokens = {role: app.state.security.issue_token(app.state.security.add_user(f"{role}1", PASSWORD, role), "api", "t")
              for role in ROLES}
    return app, tokens


@pytest.fixture(scope="module")
def client(platform_app):
    from fastapi.testclient import TestClient

    with TestClient(platform_app[0]) as c:
        yield c


@pytest.fixture(scope="module")
def tokens(platform_app):
    return platform_app[1]


def upload(client, token: str, name: str, text: str, classification: str) -> httpx.Response:
    return client.post("/api/copilot/kb", headers=auth(token), data={"classification": classification},
                       files=[("files", (name, text.encode("utf-8")))])


def chat(client, token: str, question: str, conversation: str | None = None) -> dict:
    response = client.post("/api/copilot/chat", headers=auth(token),
                           json={"question": question, "conversation": conversation})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("question", "tool"), [
    ("液压油滤芯多久更换一次？", "search_kb"),
    ("How should the die be changed according to the SOP?", "search_kb"),
    ("各优先级的工单分别有多少？", "query_data"),
    ("How many alarms per priority?", "query_data"),
    ("哪些设备的健康度最低？", "asset_health"),
    ("What is the remaining useful life of cnc1?", "asset_health"),
    ("cnc1 当前温度是多少？", "tag_values"),
    ("What is the current spindle speed of cnc2?", "tag_values"),
    ("如果插入一个急单，交期会怎样？", "schedule_whatif"),
    ("What if cnc1 breaks down for 2 hours?", "schedule_whatif"),
    ("给 cnc1 创建一个维修工单：主轴异响", "draft_work_order"),
    ("Please open a work order for press1: oil leak", "draft_work_order"),
])
def test_intent_rules_are_bilingual(question: str, tool: str) -> None:
    assert route(question) == tool


def test_follow_up_stays_with_the_previous_tool() -> None:
    assert route("那2月呢？", previous_tool="query_data") == "query_data"
    assert route("only line L1", previous_tool="query_data") == "query_data"
    assert route("那空气滤芯呢？", previous_tool="search_kb") == "search_kb"
    assert route("Why is it hot?", previous_tool="query_data") == "search_kb"


def test_documents_answer_with_citations_within_clearance(client, tokens) -> None:
    assert upload(client, tokens["viewer"], "hu3.md", SOP, "internal").status_code == 403
    bad = upload(client, tokens["engineer"], "hu3.md", SOP, "top-secret")
    assert bad.status_code == 422 and "classification" in bad.json()["detail"]
    added = upload(client, tokens["engineer"], "hu3.md", SOP, "internal").json()
    assert [d["source"] for d in added["added"]] == ["hu3.md"] and added["errors"] == []
    assert upload(client, tokens["engineer"], "recipe.md", SECRET, "confidential").status_code == 200
    mixed = client.post("/api/copilot/kb", headers=auth(tokens["engineer"]), data={"classification": "public"},
                        files=[("files", ("notes.xls", b"x")), ("files", ("ok.md", b"# Ok\n\nFine text here.\n"))])
    assert [d["source"] for d in mixed.json()["added"]] == ["ok.md"]
    assert "notes.xls" in mixed.json()["errors"][0]["error"]

    answer = chat(client, tokens["viewer"], "How often is the return-line filter replaced?")
    assert answer["kind"] == "kb" and answer["tool"] == "search_kb" and answer["planner"] == "rules"
    assert "1,500" in answer["text"]
    assert answer["citations"][0]["source"] == "hu3.md" and "1,500" in answer["citations"][0]["text"]

    # the viewer (default clearance internal) neither lists nor retrieves the confidential recipe
    listed = client.get("/api/copilot/kb", headers=auth(tokens["viewer"])).json()
    assert "recipe.md" not in [d["source"] for d in listed]
    hidden = chat(client, tokens["viewer"], "At what temperature does the curing oven run?")
    assert "182" not in hidden["text"] and all(c["source"] != "recipe.md" for c in hidden["citations"])
    assert client.put("/api/copilot/clearances/viewer1", headers=auth(tokens["engineer"]),
                      json={"username": "viewer1", "level": "confidential"}).status_code == 403
    assert client.put("/api/copilot/clearances/viewer1", headers=auth(tokens["admin"]),
                      json={"username": "viewer1", "level": "confidential"}).status_code == 200
    shown = chat(client, tokens["viewer"], "At what temperature does the curing oven run?")
    assert "182 °C" in shown["text"] and shown["citations"][0]["source"] == "recipe.md"
    # a follow-up in the same conversation reads the previous question for context
    follow = chat(client, tokens["viewer"], "and for how long?", shown["conversation"])
    assert follow["tool"] == "search_kb" and "41 minutes" in follow["text"]
    assert client.get("/api/copilot/me", headers=auth(tokens["viewer"])).json()["clearance"] == "confidential"


def test_data_questions_give_sql_table_and_chart(client, tokens) -> None:
    answer = chat(client, tokens["operator"], "How many alarms are there?")
    assert answer["kind"] == "sql", answer
    assert answer["sql"].upper().startswith("SELECT") and "alarm" in answer["sql"]
    assert answer["rows"] == [[0]] and answer["chart"]["type"] == "number"
    refused = chat(client, tokens["operator"], "How many users are there?")
    assert refused["kind"] == "none" and "users" in refused["text"]  # the users table is not offered to NL→SQL


def test_work_order_is_only_drafted(client, tokens, platform_app) -> None:
    answer = chat(client, tokens["operator"], "Please create a work order for cnc1: spindle bearing noise, urgent")
    assert answer["kind"] == "tool" and answer["tool"] == "draft_work_order"
    draft = answer["draft"]
    assert draft["url"] == "/api/maintenance/workorders" and draft["method"] == "POST"
    assert draft["body"]["equipment"].endswith("/cnc1") and draft["body"]["priority"] == "urgent"
    assert "spindle bearing noise" in draft["body"]["title"]
    svc = platform_app[0].state.ctx.services.get("maintenance")
    if svc is not None:  # nothing was created by the copilot itself
        import asyncio

        assert asyncio.run(svc.work_orders()) == []


def test_every_tool_call_is_logged(client, tokens) -> None:
    chat(client, tokens["viewer"], "哪些设备的健康度最低？")
    chat(client, tokens["operator"], "cnc1 当前温度是多少？")
    mine = client.get("/api/copilot/toolcalls", headers=auth(tokens["viewer"])).json()
    assert {c["user"] for c in mine} == {"viewer1"}
    assert mine[0]["tool"] == "asset_health" and mine[0]["arguments"] == {"question": "哪些设备的健康度最低？"}
    every = client.get("/api/copilot/toolcalls", headers=auth(tokens["engineer"])).json()
    assert {"viewer1", "operator1"} <= {c["user"] for c in every}
    tags = next(c for c in every if c["tool"] == "tag_values")
    assert tags["ok"] and "cnc1" in tags["summary"] and tags["duration_ms"] >= 0


def test_failures_and_alarms_become_searchable_records(client, tokens, platform_app) -> None:
    ctx = platform_app[0].state.ctx
    svc = ctx.services["copilot"]
    path = next(eq.path for *_, eq in ctx.plant.iter_equipment() if eq.id == "cnc1")
    ctx.bus.publish(f"_events/failure/{path}", {"ts": 1_767_225_600_000, "equipment": path, "mode": "spindle"})
    ctx.bus.publish(f"_events/alarm/{path}/temperature", {
        "ts": 1_767_229_200_000, "id": 7, "tag": f"{path}/temperature", "state": "unack_active", "limit": "hi",
        "value": 88.5, "priority": "high", "message": "Bearing temperature high"})
    assert svc.refresh_records() == 2
    sources = [d["source"] for d in client.get("/api/copilot/kb", headers=auth(tokens["viewer"])).json()]
    assert {"records-failure-2026-01", "records-alarm-2026-01"} <= set(sources)
    answer = chat(client, tokens["viewer"], "When did cnc1 fail with a spindle failure?")
    assert answer["kind"] == "kb" and "2026-01-01" in answer["text"]
    assert answer["citations"][0]["source"] == "records-failure-2026-01"


def test_llm_plans_tool_calls(client, tokens, platform_app) -> None:
    """An OpenAI-compatible endpoint (served in-process) asks for search_kb, then writes the answer."""
    from zhizao.copilot.llm import LlmClient

    upload(client, tokens["engineer"], "hu3.md", SOP, "internal")
    seen: list[dict] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        assert request.url.path == "/v1/chat/completions" and body["tools"]
        if body["messages"][-1]["role"] == "user":
            call = {"id": "c1", "type": "function",
                    "function": {"name": "search_kb", "arguments": json.dumps({"question": "tank volume"})}}
            return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": None,
                                                                      "tool_calls": [call]}}]})
        tool_reply = json.loads(body["messages"][-1]["content"])
        return httpx.Response(200, json={"choices": [{"message": {
            "role": "assistant", "content": f"LLM: {tool_reply['citations'][0]['source']} says 220 litres."}}]})

    svc = platform_app[0].state.ctx.services["copilot"]
    svc.agent.llm = LlmClient("http://llm.local/v1", "qwen", transport=httpx.MockTransport(endpoint))
    answer = chat(client, tokens["operator"], "How much oil does the HU-3 tank hold?")
    assert answer["planner"] == "llm" and answer["tool"] == "search_kb"
    assert answer["text"] == "LLM: hu3.md says 220 litres."
    assert answer["citations"][0]["source"] == "hu3.md" and len(seen) == 2
    logged = client.get("/api/copilot/toolcalls", headers=auth(tokens["operator"])).json()[0]
    assert logged["planner"] == "llm" and logged["arguments"]["question"] == "tank volume"

    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="overloaded")

    svc.agent.llm = LlmClient("http://llm.local/v1", "qwen", transport=httpx.MockTransport(down))
    try:
        fallback = chat(client, tokens["operator"], "How much oil does the HU-3 tank hold?")
    finally:
        svc.agent.llm = None
    assert fallback["planner"] == "rules" and "220 litres" in fallback["text"]


def test_empty_question_is_refused(client, tokens) -> None:
    response = client.post("/api/copilot/chat", headers=auth(tokens["viewer"]), json={"question": "   "})
    assert response.status_code == 422 and "question" in response.text


def test_uploaded_files_are_kept(client, tokens, platform_app) -> None:
    upload(client, tokens["engineer"], "hu3.md", SOP, "public")
    data_dir = Path(platform_app[0].state.ctx.settings.data_dir)
    assert (data_dir / "kb" / "files" / "hu3.md").read_text(encoding="utf-8") == SOP
    assert client.delete("/api/copilot/kb/hu3.md", headers=auth(tokens["engineer"])).status_code == 204
    assert not (data_dir / "kb" / "files" / "hu3.md").exists()
    assert client.delete("/api/copilot/kb/hu3.md", headers=auth(tokens["engineer"])).status_code == 404
