"""Console pages (the app shell at ``/`` and ``/login``) and the static files they load.

The console is a small single-page app: the shell loads ES modules from ``/static``
which fetch everything else from the JSON API. Pages behind login redirect to
``/login`` when there is no session cookie; the browser code does the same when
the API answers 401 (an expired or revoked session).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from zhizao.api.deps import SESSION_COOKIE

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)


class RevalidatedStaticFiles(StaticFiles):
    """Static files the browser must revalidate (cheap 304s) so an upgrade is seen at once."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


@router.get("/", response_class=HTMLResponse)
def console(request: Request) -> Response:
    if not request.cookies.get(SESSION_COOKIE):
        return RedirectResponse("/login", status_code=303)
    from zhizao.apps import console_pages

    return templates.TemplateResponse(request, "console.html", {"app_pages": console_pages()})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return templates.TemplateResponse(request, "login.html")


def mount_static(app: FastAPI) -> None:
    """Serve ``src/zhizao/web/static`` at ``/static``."""
    app.mount("/static", RevalidatedStaticFiles(directory=WEB_DIR / "static"), name="static")
