"""The copilot page in a real browser against ``zhizao run --demo``.

The knowledge base folder of the data directory is filled with ``zhizao kb add`` (two documents of
the benchmark set) before the platform starts; an engineer then asks a document question (answer with
quoted citations), a data question (SQL, table), a follow-up, and asks for a work order draft, which
the page confirms through the maintenance API. Screenshots: ``screenshots/copilot*.png``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, ZHIZAO, running_platform

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ENGINEER, PASSWORD = "eng", "console-test-9"
SOURCES = Path(__file__).resolve().parents[2] / "benchmarks" / "kb" / "sources"
PAGE_ERRORS: list[str] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    data = tmp_path_factory.mktemp("zhizao-data")
    env = {**os.environ, "ZHIZAO_DATA_DIR": str(data), "ZHIZAO_SIM_SPEED": "60"}
    env.pop("ZHIZAO_LLM_URL", None)
    subprocess.run([str(ZHIZAO), "user", "add", ENGINEER, "--role", "engineer", "--password", PASSWORD],
                   env=env, check=True, capture_output=True)
    added = subprocess.run([str(ZHIZAO), "kb", "add", "--kb", str(data / "kb"), str(SOURCES / "注塑机维护保养规程.md"),
                            str(SOURCES / "incident_reports_2025.md")], env=env, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    with running_platform(data, env, "--demo") as url:
        yield url


@pytest.fixture(scope="module")
def page(server: str):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1600, "height": 1000}, base_url=server)
        pg = context.new_page()
        pg.on("pageerror", lambda exc: PAGE_ERRORS.append(str(exc)))
        yield pg
        chromium.close()


def ask(page, question: str) -> None:
    before = page.locator(".cp-bot:not(.cp-waiting)").count()
    page.fill("#cp-q", question)
    page.press("#cp-q", "Enter")
    page.wait_for_function("n => document.querySelectorAll('.cp-bot:not(.cp-waiting)').length > n", arg=before,
                           timeout=60_000)


def test_chat_answers_with_citations_sql_and_drafts(page) -> None:
    page.goto("/")
    page.wait_for_url("**/login")
    page.fill("#username", ENGINEER)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector(".tile[data-eq]")
    page.click('[data-nav="copilot"]')
    page.wait_for_selector("#cp-docs tbody tr")
    assert "注塑机维护保养规程.md" in page.inner_text("#cp-docs")

    ask(page, "液压油滤芯多久更换一次？")
    last = page.locator(".cp-bot").last
    assert "3 个月" in last.locator(".cp-text").inner_text()
    assert "注塑机维护保养规程.md" in last.locator(".cp-cites").inner_text()
    assert "3 个月" in last.locator(".cp-cites blockquote").first.inner_text()

    ask(page, "How many alarms are there per priority?")
    last = page.locator(".cp-bot").last
    assert last.locator(".cp-sql").count() == 1, last.inner_text()
    assert "priority" in last.locator(".cp-sql pre").text_content()
    # a table (per priority) or a single number: what the parser makes of it depends on the data so far
    assert last.locator("table.data thead th").count() >= 1 or last.locator(".cp-number").count() == 1, \
        last.inner_text()
    if last.locator(".cp-chart").count():
        last.locator(".cp-chart canvas").wait_for()
    last.screenshot(path=str(SHOTS / "copilot-data.png"))

    ask(page, "What was the root cause of the CV-12 motor failure?")
    assert "bearing" in page.locator(".cp-bot").last.locator(".cp-text").inner_text()

    ask(page, "Please create a work order for cnc1: spindle bearing noise")
    last = page.locator(".cp-bot").last
    last.locator(".cp-draft").wait_for()
    with page.expect_response(lambda r: r.url.endswith("/api/maintenance/workorders")) as created:
        last.locator(".cp-confirm").click()
    assert created.value.status == 201
    last.locator(".cp-confirm-result.good").wait_for()
    page.wait_for_function("() => document.querySelectorAll('#cp-calls tbody tr').length >= 4")
    page.screenshot(path=str(SHOTS / "copilot.png"), full_page=True)
    assert not PAGE_ERRORS
