"""What-if and process-optimisation pages in a real browser against the real platform."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, ZHIZAO, running_platform

pytestmark = [pytest.mark.browser, pytest.mark.slow]
USER, PASSWORD = "planner", "what-if-test-9"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    data = tmp_path_factory.mktemp("zhizao-whatif")
    env = {**os.environ, "ZHIZAO_DATA_DIR": str(data)}
    subprocess.run([str(ZHIZAO), "user", "add", USER, "--role", "engineer", "--password", PASSWORD],
                   env=env, check=True, capture_output=True)
    errors: list[str] = []
    with running_platform(data, env, "--demo") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        pg = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=url).new_page()
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.goto("/login")
        pg.fill("#login-form input[name=username]", USER)
        pg.fill("#login-form input[name=password]", PASSWORD)
        pg.click("#login-form button[type=submit]")
        pg.wait_for_selector("[data-nav=whatif]")
        yield pg
        browser.close()
    assert not errors, errors


def test_whatif_page_runs_a_comparison(page) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.goto("/#/whatif")
    page.wait_for_selector("#wi-form select[name=extra] option[value=mc1]", state="attached")
    page.select_option("#wi-form select[name=extra]", "mc1")
    page.fill("#wi-form input[name=days]", "1")
    page.fill("#wi-form input[name=reps]", "2")
    page.click("#wi-run")
    page.wait_for_selector("#wi-table tbody tr:nth-child(6)", timeout=180_000)
    rows = page.locator("#wi-table tbody tr").all_inner_texts()
    assert len(rows) == 6 and any("±" in r for r in rows)
    assert page.locator("#wi-history tr").count() == 1
    page.screenshot(path=str(SHOTS / "whatif.png"), full_page=True)


def test_process_page_shows_key_parameters_and_setpoints(page) -> None:
    page.goto("/#/process")
    page.wait_for_selector("#po-rec tbody tr.po-outcome", timeout=120_000)
    assert page.locator("#po-rec tbody tr").count() == 7  # six parameters and the outcome
    assert page.locator("#po-importance canvas").count() == 1
    assert "±" in page.locator("#po-rec tr.po-outcome").inner_text()
    page.screenshot(path=str(SHOTS / "process.png"), full_page=True)
