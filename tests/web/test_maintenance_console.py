"""Equipment health, work orders and the model registry in a real browser against the demo plant.

The platform runs the simulator at 600x with 5-minute health windows, so the health
models are trained within a minute of start; then an engineer opens a work order for
a machine, moves it through the board to done (the machine goes into corrective
maintenance), and rolls a retrained model back on the models page. Screenshots go to
``screenshots/`` for a person to look at.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, ZHIZAO, running_platform

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ENGINEER, PASSWORD = "maint-eng", "console-test-9"
PAGE_ERRORS: list[str] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    data = tmp_path_factory.mktemp("zhizao-data")
    env = {**os.environ, "ZHIZAO_DATA_DIR": str(data), "ZHIZAO_SIM_SPEED": "600",
           "ZHIZAO_MAINTENANCE_WINDOW_MIN": "5", "ZHIZAO_MAINTENANCE_CHECK_S": "2"}
    subprocess.run([str(ZHIZAO), "user", "add", ENGINEER, "--role", "engineer", "--password", PASSWORD],
                   env=env, check=True, capture_output=True)
    with running_platform(data, env, "--demo") as url:
        yield url


@pytest.fixture(scope="module")
def page(server: str):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1600, "height": 1100}, base_url=server)
        pg = context.new_page()
        pg.on("pageerror", lambda exc: PAGE_ERRORS.append(str(exc)))
        pg.add_init_script("localStorage.setItem('zhizao.lang', 'en')")
        pg.goto("/")
        pg.wait_for_url("**/login")
        pg.fill("#username", ENGINEER)
        pg.fill("#password", PASSWORD)
        pg.click("#login-form button[type=submit]")
        pg.wait_for_selector(".tile[data-eq]")
        yield pg
        chromium.close()


def test_health_page_ranks_the_fleet_and_explains_a_machine(page) -> None:
    page.goto("/#/health")
    page.wait_for_selector("#hl-fleet tr[data-machine]")
    assert page.locator("#hl-fleet tr[data-machine]").count() == 7
    # models are learnt from the live data within a minute or two of simulated running
    page.wait_for_function("""() => [...document.querySelectorAll('#hl-fleet tr[data-machine] td.num b')]
                                 .every(b => b.textContent !== '--')""", timeout=240_000)
    values = [float(v) for v in page.locator("#hl-fleet tr[data-machine] td.num b").all_inner_texts()]
    assert values == sorted(values) and all(0 <= v <= 100 for v in values)  # ranked by risk, riskiest first
    page.click("#hl-fleet tr[data-machine] >> nth=0")
    page.wait_for_selector('[data-chart="trend"] canvas')
    page.wait_for_selector('[data-chart="contrib"] canvas')
    assert page.inner_text("#hl-index") != "--"
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "health.png"), full_page=True)
    assert not PAGE_ERRORS


def test_work_order_from_open_to_done_restores_the_machine(page) -> None:
    page.goto("/#/workorders/new/cnc2")
    page.wait_for_selector("#wo-dialog[open]")
    page.fill("#wo-form [name=title]", "Spindle bearing noise")
    page.fill("#wo-form [name=parts]", "spindle_bearing × 1\nseal_kit × 2")
    page.fill("#wo-form [name=duration_min]", "20")
    page.click("#wo-form button[type=submit]")
    card = page.locator('[data-col="open"] .wo-card', has_text="Spindle bearing noise")
    card.wait_for()
    assert "spindle_bearing × 1" in card.inner_text()
    page.once("dialog", lambda d: d.accept("wang_qiang"))
    card.locator('button[data-act="assign"]').click()
    card = page.locator('[data-col="assigned"] .wo-card', has_text="Spindle bearing noise")
    card.locator('button[data-act="start"]').click()
    card = page.locator('[data-col="in_progress"] .wo-card', has_text="Spindle bearing noise")
    card.locator('button[data-act="complete"]').click()
    done = page.locator('[data-col="done"] .wo-card', has_text="Spindle bearing noise")
    done.wait_for()
    assert "Machine restored" in done.inner_text() and "wang_qiang" in done.inner_text()
    page.wait_for_selector("#wo-kpis tr")
    page.wait_for_timeout(800)
    page.screenshot(path=str(SHOTS / "workorders.png"), full_page=True)
    assert not PAGE_ERRORS


def test_models_page_shows_versions_and_rolls_back(page) -> None:
    answer = page.request.post("/api/maintenance/machines/cnc1/train")
    assert answer.ok, answer.text()
    assert answer.json()["version"] >= 2
    page.goto("/#/models/health/cnc1")
    page.wait_for_selector(".md-versions tr[data-version]")
    deployed = page.locator(".md-versions tr.md-deployed").get_attribute("data-version")
    assert deployed == str(answer.json()["version"])
    assert "healthy_windows" in page.inner_text(".md-versions")
    page.click("#md-rollback")
    page.wait_for_function(
        "v => document.querySelector('.md-versions tr.md-deployed')?.dataset.version !== v", arg=deployed)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SHOTS / "models.png"), full_page=True)
    assert not PAGE_ERRORS
