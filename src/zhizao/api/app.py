"""The FastAPI application: routers, auth, audit of writes, console and lifecycle."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from zhizao import __version__
from zhizao.core.config import Settings
from zhizao.core.i18n import LANGS, catalogue
from zhizao.runtime import Platform

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def create_app(settings: Settings | None = None, platform: Platform | None = None) -> FastAPI:
    platform = platform or Platform(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await platform.start()
        try:
            yield
        finally:
            await platform.stop()

    app = FastAPI(title="Zhizao 智造", version=__version__, lifespan=lifespan,
                  description="Open AI platform for intelligent manufacturing. Tag paths are UNS paths.")
    app.state.platform = platform
    app.state.ctx = platform.ctx
    app.state.security = platform.security

    @app.middleware("http")
    async def audit_writes(request: Request, call_next):
        response = await call_next(request)
        if request.method in WRITE_METHODS and request.url.path.startswith("/api/"):
            user = getattr(request.state, "user", None)
            await run_in_threadpool(
                platform.security.audit, user.username if user else None, request.method,
                request.url.path, response.status_code, request.client.host if request.client else None,
                dict(request.query_params) or None,
            )
        return response

    @app.get("/api/health", tags=["platform"])
    def health() -> dict:
        ctx = platform.ctx
        return {
            "status": "ok",
            "version": __version__,
            "clock": ctx.clock.now_ms(),
            "wall_clock": time.time_ns() // 1_000_000,
            "demo": ctx.settings.demo,
            "services": sorted(ctx.services),
            "tags": len(ctx.plant.tags()),
            "historian": ctx.historian.stats(),
        }

    @app.get("/api/i18n/{lang}", tags=["platform"])
    def i18n(lang: str) -> dict[str, str]:
        if lang not in LANGS:
            raise HTTPException(404, f"lang: '{lang}' is not one of {', '.join(LANGS)}")
        return catalogue(lang)

    from zhizao.api import assets, auth, tags, writeback
    from zhizao.apps import parts
    from zhizao.connect.api import router as connect_router
    from zhizao.connect.file.api import router as import_router
    from zhizao.connect.ingest_api import router as ingest_router
    from zhizao.connect.opcua.api import router as opcua_router
    from zhizao.sim.api import router as sim_router
    from zhizao.web.routes import mount_static
    from zhizao.web.routes import router as web_router

    app_routers = [router for _, router in parts("router")]
    for router in (auth.router, assets.router, tags.router, *app_routers, sim_router, connect_router,
                   writeback.router, import_router, ingest_router, opcua_router, web_router):
        app.include_router(router)
    mount_static(app)
    return app
