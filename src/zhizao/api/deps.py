"""FastAPI dependencies shared by every router: the platform context and auth.

Every route but health and login needs a signed-in user (session cookie or
``Authorization: Bearer <token>``); write routes declare the least role they
need with ``Depends(require_role("operator"))``. Writes are audited by the
middleware in ``zhizao.api.app``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, HTTPException, Request, status

from zhizao.core.context import Context
from zhizao.core.i18n import pick_lang
from zhizao.security.model import ROLES, User, role_rank

SESSION_COOKIE = "zhizao_session"


def get_ctx(request: Request) -> Context:
    return request.app.state.ctx


def get_service(name: str) -> Callable[[Request], Any]:
    """Dependency returning the app service registered under ``name``."""

    def dep(request: Request) -> Any:
        svc = request.app.state.ctx.services.get(name)
        if svc is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"service '{name}' is not running")
        return svc

    return dep


def _secret_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def current_user(request: Request) -> User:
    secret = _secret_from(request)
    user = request.app.state.security.user_for_token(secret) if secret else None
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in: log in or send a Bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    request.state.user = user
    return user


def require_role(role: str) -> Callable[..., User]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def dep(user: User = Depends(current_user)) -> User:
        if role_rank(user.role) < role_rank(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role '{user.role}' may not do this; '{role}' or higher is needed")
        return user

    return dep


def request_lang(request: Request) -> str:
    """The language of a reply: ``?lang=``, else ``Accept-Language``, else the platform's setting."""
    asked = request.query_params.get("lang") or request.headers.get("accept-language")
    if asked:
        return pick_lang(asked)
    ctx = getattr(request.app.state, "ctx", None)
    return ctx.settings.lang if ctx is not None else pick_lang(None)
