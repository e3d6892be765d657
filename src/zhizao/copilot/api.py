"""Copilot REST API: chat, the knowledge base (upload, list, ask), clearances and the tool-call log.

Messages come in the language of the question (chat) or of ``lang`` / ``Accept-Language``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile, status
from pydantic import BaseModel, Field

from zhizao.api.deps import current_user, get_service, require_role
from zhizao.copilot.kb import LEVELS, KbError
from zhizao.copilot.service import CopilotError, CopilotService
from zhizao.core.i18n import pick_lang, t
from zhizao.security.model import User, role_rank

router = APIRouter(prefix="/api/copilot", tags=["copilot"])
service_dep = Depends(get_service("copilot"))
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def request_lang(request: Request) -> str:
    asked = request.query_params.get("lang") or request.headers.get("accept-language")
    return pick_lang(asked) if asked else request.app.state.ctx.settings.lang


class ChatIn(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    conversation: str | None = Field(None, max_length=64, description="continue this conversation (multi-turn)")


class Citation(BaseModel):
    source: str
    text: str = Field(description="the quoted passage")
    position: str = Field(description="page and paragraph, e.g. p.3 ¶12")
    section: str = Field(description="heading path")
    classification: str
    score: float


class Draft(BaseModel):
    method: str
    url: str = Field(description="the platform API a person calls to confirm")
    body: dict[str, Any]
    label: str


class CallOut(BaseModel):
    tool: str
    arguments: dict[str, Any]
    ok: bool
    summary: str
    duration_ms: float


class ChatOut(BaseModel):
    conversation: str
    question: str
    kind: str = Field(description="sql | kb | tool | none (not answered: text says why)")
    text: str
    tool: str | None
    planner: str = Field(description="rules (offline) | llm")
    columns: list[str]
    rows: list[list[Any]]
    chart: dict[str, Any] | None = Field(description='{"type": bar|line|pie|number|table, "x", "y": [...], "title"}')
    sql: str | None
    citations: list[Citation]
    draft: Draft | None = Field(description="a work order or re-plan proposed for a person to confirm")
    calls: list[CallOut]


@router.post("/chat", response_model=ChatOut)
async def chat(body: ChatIn, user: User = Depends(current_user), svc: CopilotService = service_dep) -> Any:
    try:
        return await svc.chat(body.question, body.conversation, user.username, user.role)
    except CopilotError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


class DocumentOut(BaseModel):
    source: str
    classification: str
    kind: str = Field(description="document | records")
    chunks: int
    paragraphs: int
    pages: int | None
    added_ms: int


class UploadOut(BaseModel):
    added: list[DocumentOut]
    errors: list[dict[str, str]] = Field(description="files not added, with the reason naming the file")


@router.get("/kb", response_model=list[DocumentOut])
def list_documents(user: User = Depends(current_user), svc: CopilotService = service_dep) -> Any:
    """The documents and record sets the caller is cleared for."""
    return svc.documents(user.username, user.role)


@router.post("/kb", response_model=UploadOut)
async def upload_documents(
    files: list[UploadFile] = File(..., description="txt, md, html, pdf or docx"),
    classification: str = Form("internal", description="public | internal | confidential | secret"),
    lang: str = Depends(request_lang),
    _user: User = Depends(require_role("engineer")),
    svc: CopilotService = service_dep,
) -> Any:
    if classification not in LEVELS:
        raise HTTPException(422, t("copilot.error.classification", lang, value=classification,
                                   levels=", ".join(LEVELS)))
    payload = []
    for upload in files:
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise HTTPException(413, t("copilot.error.too_large", lang, file=upload.filename or "",
                                       mb=MAX_UPLOAD_BYTES // 2**20))
        payload.append((upload.filename or "", data))
    import asyncio

    return await asyncio.to_thread(svc.add_documents, payload, classification)


class ClassificationIn(BaseModel):
    classification: str = Field(description="public | internal | confidential | secret")


@router.patch("/kb/{source}", response_model=DocumentOut)
def reclassify(source: str, body: ClassificationIn, _user: User = Depends(require_role("engineer")),
               svc: CopilotService = service_dep) -> Any:
    try:
        return svc.set_classification(source, body.classification)
    except CopilotError as exc:
        code = 404 if exc.field == "source" else 422
        raise HTTPException(code, str(exc)) from None


@router.delete("/kb/{source}", status_code=status.HTTP_204_NO_CONTENT)
def remove_document(source: str, _user: User = Depends(require_role("engineer")),
                    svc: CopilotService = service_dep) -> None:
    try:
        svc.remove_document(source)
    except CopilotError as exc:
        raise HTTPException(404, str(exc)) from None


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    top: int = Field(3, ge=1, le=20, description="citations to return")


class AskOut(BaseModel):
    answer: str
    citations: list[Citation]


@router.post("/kb/ask", response_model=AskOut)
async def ask_documents(body: AskIn, user: User = Depends(current_user), svc: CopilotService = service_dep) -> Any:
    """The knowledge base alone (no routing): answer and citations, within the caller's clearance."""
    import asyncio

    try:
        clearance = await asyncio.to_thread(svc.clearance, user.username, user.role)
        answer = await asyncio.to_thread(svc.kb.ask, body.question, clearance, body.top)
    except KbError as exc:
        raise HTTPException(422, str(exc)) from None
    return answer.to_json()


class ClearanceOut(BaseModel):
    username: str
    level: str


class MeOut(BaseModel):
    username: str
    clearance: str
    llm: bool = Field(description="an LLM endpoint is configured (ZHIZAO_LLM_URL)")
    levels: list[str]


@router.get("/me", response_model=MeOut)
def me(user: User = Depends(current_user), svc: CopilotService = service_dep) -> Any:
    return {"username": user.username, "clearance": svc.clearance(user.username, user.role),
            "llm": svc.llm is not None, "levels": list(LEVELS)}


@router.get("/clearances", response_model=list[ClearanceOut])
def list_clearances(_user: User = Depends(require_role("admin")), svc: CopilotService = service_dep) -> Any:
    return svc.clearances()


@router.put("/clearances/{username}", response_model=ClearanceOut)
def set_clearance(username: str, body: ClearanceOut, user: User = Depends(require_role("admin")),
                  svc: CopilotService = service_dep) -> Any:
    if body.username != username:
        raise HTTPException(422, f"username: the body names {body.username!r}, the path {username!r}")
    try:
        return svc.set_clearance(username, body.level, user.username)
    except KbError as exc:
        raise HTTPException(422, str(exc)) from None


class ToolCallOut(BaseModel):
    id: int
    ts: int
    user: str
    conversation: str
    tool: str
    arguments: dict[str, Any]
    planner: str
    ok: bool
    summary: str
    duration_ms: float


@router.get("/toolcalls", response_model=list[ToolCallOut])
def tool_calls(limit: int = Query(100, ge=1, le=5000), user: User = Depends(current_user),
               svc: CopilotService = service_dep) -> Any:
    """Every tool call of the agent, newest first; engineers and admins see everyone's, others their own."""
    mine = None if role_rank(user.role) >= role_rank("engineer") else user.username
    return svc.tool_calls(limit, mine)
