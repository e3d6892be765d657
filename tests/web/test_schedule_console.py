"""Browser test of the scheduling page: the demo plant's open orders as a Gantt chart with KPIs."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, ZHIZAO, running_platform

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USER, PASSWORD = "planner", "schedule-test-9"
SHOT = SHOTS / "scheduling.png"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    data = tmp_path_factory.mktemp("zhizao-schedule")
    env = {**os.environ, "ZHIZAO_DATA_DIR": str(data), "ZHIZAO_SIM_SPEED": "120"}
    subprocess.run([str(ZHIZAO), "user", "add", USER, "--role", "engineer", "--password", PASSWORD],
                   env=env, check=True, capture_output=True)
    with running_platform(data, env, "--demo") as url:
        yield url


def test_schedule_page_shows_gantt_kpis_and_repairs_after_a_breakdown(server: str) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1600, "height": 1100}, base_url=server).new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/")
        page.wait_for_url("**/login")
        page.fill("#username", USER)
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector(".tile[data-eq]")
        page.click('[data-nav="schedule"]')
        # the first plan comes a few seconds after the simulator releases its first orders
        for _ in range(12):
            page.wait_for_timeout(5000)
            if page.locator('[data-chart="gantt"] canvas').count():
                break
            page.reload()
        page.wait_for_selector('[data-chart="gantt"] canvas', timeout=30_000)
        kpis = page.inner_text("#sch-kpis")
        assert "准时交付率" in kpis and "%" in kpis
        assert page.inner_text("#sch-status") in ("最优", "可行")
        assert page.locator("#sch-breakdown option").count() == 7
        page.wait_for_timeout(1000)
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOT), full_page=True)
        # hovering a bar of the first machine's row shows the operation
        box = page.locator('[data-chart="gantt"]').bounding_box()
        found = False
        for fy in (0.12, 0.15, 0.18, 0.21):
            for k in range(4, 40):
                row_y = box["y"] + box["height"] * fy
                page.mouse.move(box["x"] + box["width"] * k / 40, row_y)
                if page.locator('[data-chart="gantt"] div').filter(has_text="工序").count():
                    found = True
                    break
            if found:
                break
        assert found, "no tooltip on the Gantt chart"
        page.screenshot(path=str(SHOT.with_name("scheduling-tooltip.png")))
        # a reported breakdown re-plans and the page shows the comparison with the old plan
        history = "() => fetch('/api/schedule/history').then(r => r.json())"
        plans_before = len(page.evaluate(history))
        page.select_option("#sch-breakdown select", index=2)
        page.click("#sch-breakdown button")
        page.wait_for_function("() => document.querySelector('#sch-event-msg').textContent === ''", timeout=60_000)
        newest = next(h for h in page.evaluate(history)[: len(page.evaluate(history)) - plans_before]
                      if h["reason"] == "breakdown")
        assert newest["comparison"]["before"] and newest["comparison"]["after"]
        page.wait_for_function("() => document.querySelector('#sch-compare').textContent.includes('上一版')",
                               timeout=30_000)
        assert not errors, errors
        browser.close()
