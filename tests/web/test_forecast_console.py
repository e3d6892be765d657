"""The demand forecast and inventory/MRP pages in a browser: ``zhizao run --demo``, log in as an
engineer, wait for the demo forecast, and check the chart, the chosen model and the MRP grid."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, ZHIZAO, running_platform

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USER, PASSWORD = "planner", "console-test-9"
PAGE_ERRORS: list[str] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    data = tmp_path_factory.mktemp("zhizao-data")
    env = {**os.environ, "ZHIZAO_DATA_DIR": str(data), "ZHIZAO_SIM_SPEED": "60"}
    subprocess.run([str(ZHIZAO), "user", "add", USER, "--role", "engineer", "--password", PASSWORD],
                   env=env, check=True, capture_output=True)
    with running_platform(data, env, "--demo") as url:
        yield url


@pytest.fixture(scope="module")
def page(server: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1600, "height": 1100}, base_url=server)
        pg = context.new_page()
        pg.on("pageerror", lambda exc: PAGE_ERRORS.append(str(exc)))
        pg.add_init_script("localStorage.setItem('zhizao.lang', 'en')")
        pg.goto("/")
        pg.wait_for_url("**/login")
        pg.fill("#username", USER)
        pg.fill("#password", PASSWORD)
        pg.click("#login-form button[type=submit]")
        pg.wait_for_selector(".tile[data-eq] .st-label")
        yield pg
        chromium.close()


def test_forecast_page_shows_chart_model_and_backtest(page) -> None:
    page.click('[data-nav="forecast"]')
    page.wait_for_selector('#fc-table tr[data-id="ph100"]')
    # the demo forecast runs in the background after start: wait for the chosen model
    page.wait_for_function("() => document.querySelector('#fc-status').textContent.includes('Up to date')",
                           timeout=240_000)
    page.wait_for_function("() => document.querySelectorAll('#fc-candidates tbody tr').length > 2", timeout=30_000)
    facts = page.inner_text("#fc-facts")
    assert "sMAPE" in facts and "Model" in facts and "–" not in facts.split("Model")[1].split("\n")[1]
    assert page.locator("#fc-chart canvas").count() == 1
    page.click('#fc-table tr[data-id="spindle_bearing"]')
    page.wait_for_function("() => document.querySelector('#fc-title').textContent.includes('spare part')")
    page.wait_for_function("() => document.querySelector('#fc-facts').textContent.includes('intermittent')")
    page.click('#fc-table tr[data-id="ph100"]')
    page.wait_for_function("() => document.querySelector('#fc-title').textContent.includes('PH-100')")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "forecasting.png"), full_page=True)
    assert not PAGE_ERRORS


def test_planning_page_shows_policies_and_mrp_grid(page) -> None:
    page.click('[data-nav="planning"]')
    page.wait_for_selector("table.pl-grid")
    grid = page.inner_text("#pl-grid")
    for label in ("Gross requirements", "Scheduled receipts", "Projected on hand", "Net requirements",
                  "Planned order receipts", "Planned order releases", "Housing casting A"):
        assert label in grid
    policy = page.inner_text("#pl-policy")
    assert "Pump housing PH-100" in policy and "Spindle bearing set" in policy
    page.wait_for_function("() => document.querySelectorAll('#pl-production tbody tr:not(.empty)').length > 0")
    page.screenshot(path=str(SHOTS / "planning.png"), full_page=True)
    assert not PAGE_ERRORS
