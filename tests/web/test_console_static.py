"""The console's pages, static files and message keys (no browser needed)."""

from __future__ import annotations

import json
import re
import typing

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from zhizao.apps import console_pages
from zhizao.assets.model import EquipmentKind
from zhizao.core.i18n import LANGS, catalogue
from zhizao.security.model import ROLES
from zhizao.web.routes import WEB_DIR, mount_static, router

STATIC = WEB_DIR / "static"
JS_FILES = sorted((STATIC / "js").rglob("*.js"))


@pytest.fixture
def web_client() -> TestClient:
    app = FastAPI()
    app.include_router(router)
    mount_static(app)
    return TestClient(app)


def test_login_page_is_public(web_client: TestClient) -> None:
    res = web_client.get("/login")
    assert res.status_code == 200
    assert '<form id="login-form"' in res.text and "/static/js/login.js" in res.text


def test_console_redirects_to_login_without_session(web_client: TestClient) -> None:
    res = web_client.get("/", follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/login"


def test_console_shell_with_session_cookie(web_client: TestClient) -> None:
    web_client.cookies.set("zhizao_session", "anything")  # validity is checked by the API calls
    res = web_client.get("/")
    assert res.status_code == 200
    assert "/static/js/app.js" in res.text and 'id="page"' in res.text


def test_static_files_are_revalidated(web_client: TestClient) -> None:
    res = web_client.get("/static/js/app.js")
    assert res.status_code == 200
    assert "javascript" in res.headers["content-type"]
    assert res.headers["cache-control"] == "no-cache"
    assert web_client.get("/static/css/console.css").status_code == 200


def test_every_module_import_resolves() -> None:
    pattern = re.compile(r"""(?:from\s+|import\(\s*)['"]([^'"]+)['"]""")
    for file in JS_FILES:
        for spec in pattern.findall(file.read_text(encoding="utf-8")):
            local = spec.startswith("/static/")
            target = STATIC / spec.removeprefix("/static/") if local else file.parent / spec
            assert target.resolve().is_file(), f"{file.relative_to(STATIC)} imports missing {spec}"


def test_vendored_echarts_is_pinned_with_licence() -> None:
    vendor = STATIC / "vendor" / "echarts"
    lib = vendor / "echarts.esm.min.js"
    assert lib.stat().st_size < 2 * 1024 * 1024
    assert "Apache License" in (vendor / "LICENSE").read_text(encoding="utf-8")
    assert (vendor / "VERSION").read_text().strip() == "5.6.0"


def test_web_catalogues_have_the_same_keys() -> None:
    files = {lang: WEB_DIR.parent / "i18n" / lang / "web.json" for lang in LANGS}
    texts = {lang: json.loads(f.read_text(encoding="utf-8")) for lang, f in files.items()}
    assert set(texts["en"]) == set(texts["zh-CN"])
    assert all(v.strip() for t in texts.values() for v in t.values())


def _used_keys() -> set[str]:
    """Literal keys in t('...') calls and data-i18n attributes."""
    keys: set[str] = set()
    for file in JS_FILES:
        keys |= set(re.findall(r"\bt\(\s*'([a-z][\w.-]*)'", file.read_text(encoding="utf-8")))
    for file in (WEB_DIR / "templates").glob("*.html"):
        keys |= set(re.findall(r'data-i18n(?:-\w+)?="([^"{]+)"', file.read_text(encoding="utf-8")))
    return keys | {f"web.nav.{page.name}" for page in console_pages()}  # the apps' menu entries


# Keys the JS builds from a value (`web.kind.${kind}`): every value must have a text.
DYNAMIC_KEYS = {
    "web.kind": typing.get_args(EquipmentKind),
    "web.role": ROLES,
    "web.tile": ("temperature", "vibration_rms", "power", "part_count"),
    "web.range": ("1h", "8h", "24h"),
    "web.period": ("shift", "last_shift", "24h", "7d"),
    "web.alarms.filter": ("list", "active", "unacked", "shelved", "all"),
    "web.quality": ("good", "bad", "uncertain"),
    "state": ("running", "idle", "setup", "down", "maintenance", "off"),
    "alarms.state": ("normal", "unack_active", "ack_active", "unack_rtn", "shelved", "out_of_service"),
    "alarms.priority": ("urgent", "high", "medium", "low"),
    "oee": ("availability", "effectiveness", "quality"),
}


@pytest.mark.parametrize("lang", LANGS)
def test_every_console_text_is_in_the_catalogue(lang: str) -> None:
    merged = catalogue(lang)
    wanted = _used_keys() | {f"{prefix}.{v}" for prefix, values in DYNAMIC_KEYS.items() for v in values}
    missing = sorted(k for k in wanted if k not in merged)
    assert not missing, f"{lang}: missing {missing}"
