"""The SPC and energy pages in a real browser against the demo plant running at 600x.

Within a minute of wall time the simulated line has measured a few hundred bores (the SPC
baseline freezes on its own) and metered hours of energy, so both pages show real data.
Screenshots: ``screenshots/spc.png`` and ``screenshots/energy.png``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, ZHIZAO, running_platform

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USER, PASSWORD = "quality", "spc-energy-9"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    data = tmp_path_factory.mktemp("zhizao-spc-energy")
    env = {**os.environ, "ZHIZAO_DATA_DIR": str(data), "ZHIZAO_SIM_SPEED": "600"}
    subprocess.run([str(ZHIZAO), "user", "add", USER, "--role", "operator", "--password", PASSWORD],
                   env=env, check=True, capture_output=True)
    with running_platform(data, env, "--demo") as url:
        yield url


@pytest.fixture(scope="module")
def page(server: str):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=server)
        pg = context.new_page()
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.goto("/")
        pg.wait_for_url("**/login")
        pg.fill("#username", USER)
        pg.fill("#password", PASSWORD)
        pg.click("#login-form button[type=submit]")
        pg.wait_for_selector(".tile[data-eq]")
        pg.errors = errors  # type: ignore[attr-defined]
        yield pg
        browser.close()


def shoot(page, name: str) -> None:
    for folder in (SHOTS,):
        folder.mkdir(exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def wait_for_bores(server: str, page, count: int) -> None:
    """Until the historian holds ``count`` bore measurements of the last 8 h (plant clock)."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=server, cookies=cookies, timeout=10) as client:
        tag = client.get("/api/spc/tags").json()[0]["tag"]
        for _ in range(120):
            if client.get("/api/spc/chart", params={"tag": tag}).json()["points"] >= count:
                return
            page.wait_for_timeout(1000)
    pytest.fail(f"fewer than {count} bore measurements after 2 minutes")


def test_spc_page_shows_chart_capability_and_rules(server, page) -> None:
    wait_for_bores(server, page, 150)
    page.click('[data-nav="spc"]')
    page.wait_for_selector('[data-chart="main"] canvas')
    page.wait_for_function("() => document.querySelector('#spc-phase').textContent.trim() !== ''")
    page.wait_for_selector("#spc-cap dd")
    assert page.locator("#spc-rules tr").count() == 8
    facts = page.inner_text("#spc-facts")
    assert "规格上限" in facts and "25.015" in facts
    assert "Cpk" in page.inner_text("#spc-cap")
    page.click('[data-seg="spc-period"] button[data-value="24h"]')
    page.wait_for_timeout(2500)
    shoot(page, "spc")
    assert not page.errors


def test_energy_page_shows_bands_and_the_shifting_plan(page) -> None:
    page.click('[data-nav="energy"]')
    page.wait_for_selector('[data-chart="machines"] canvas')
    page.wait_for_function("() => document.querySelector('#energy-kpis').textContent.includes('kWh')")
    page.wait_for_function("() => document.querySelector('#energy-plan-facts').textContent.includes('%')",
                           timeout=90_000)
    assert "全部满足" in page.inner_text("#energy-plan-facts")
    page.wait_for_selector('[data-chart="optimised"] canvas')
    page.wait_for_timeout(2000)
    shoot(page, "energy")
    assert not page.errors
