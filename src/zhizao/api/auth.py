"""Sign-in, users, API tokens and the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from zhizao.api.deps import SESSION_COOKIE, current_user, require_role
from zhizao.security.model import ROLES, User
from zhizao.security.service import SESSION_HOURS, UserError

router = APIRouter(prefix="/api", tags=["auth"])


class Login(BaseModel):
    username: str
    password: str


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8)
    role: str = Field(pattern="^(" + "|".join(ROLES) + ")$")
    display_name: str = ""


class NewToken(BaseModel):
    name: str = ""


def user_json(user: User) -> dict:
    return {"username": user.username, "role": user.role, "display_name": user.display_name}


@router.post("/auth/login")
async def login(body: Login, request: Request, response: Response) -> dict:
    security = request.app.state.security
    user = await run_in_threadpool(security.authenticate, body.username, body.password)
    if user is None:
        raise HTTPException(401, "username or password is wrong")
    request.state.user = user
    secret = await run_in_threadpool(security.issue_token, user, "session", "browser")
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="strict",
                        max_age=SESSION_HOURS * 3600, path="/")
    return user_json(user)


@router.post("/auth/logout")
def logout(request: Request, response: Response, user: User = Depends(current_user)) -> dict:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        request.app.state.security.revoke_token(secret)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"ok": True}


@router.get("/auth/me")
def me(user: User = Depends(current_user)) -> dict:
    return user_json(user)


@router.get("/users")
def list_users(request: Request, _: User = Depends(require_role("admin"))) -> list[dict]:
    return [user_json(u) for u in request.app.state.security.list_users()]


@router.post("/users", status_code=201)
def add_user(body: NewUser, request: Request, _: User = Depends(require_role("admin"))) -> dict:
    try:
        user = request.app.state.security.add_user(body.username, body.password, body.role, body.display_name)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    return user_json(user)


@router.post("/tokens", status_code=201)
def new_token(body: NewToken, request: Request, user: User = Depends(current_user)) -> dict:
    """An API token with the caller's role; the secret is shown only in this response."""
    token = request.app.state.security.issue_token(user, "api", body.name)
    return {"token": token, "username": user.username, "role": user.role}


@router.get("/audit")
def audit_log(request: Request, limit: int = 200, _: User = Depends(require_role("admin"))) -> list[dict]:
    return [
        {"ts": e.ts_ms, "username": e.username, "action": e.action, "target": e.target,
         "status": e.status, "client": e.client, "detail": e.detail}
        for e in request.app.state.security.audit_log(limit)
    ]
