"""The console in a real browser against the real platform.

Starts ``zhizao run --demo`` in a subprocess (temporary data folder, simulator at
600x so machine states change within seconds), then drives Debian's chromium
through Playwright: log in, watch the overview change live, switch language,
open a machine page, the OEE page and the alarm list. Screenshots land in
``screenshots/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots"
ZHIZAO = Path(sys.executable).with_name("zhizao")
USER, PASSWORD = "tester", "console-test-9"
STATE_CHANGE_TIMEOUT_MS = 60_000
STATE_LABELS_ZH = {"运行", "空闲", "换型", "故障停机", "维护", "关机"}
PAGE_ERRORS: list[str] = []  # uncaught errors in the console's JS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_platform(data: Path, env: dict[str, str], *args: str) -> Iterator[str]:
    """``zhizao run`` on a free port (log in ``data/server.log``) until its health answers; its URL."""
    port = free_port()
    with (data / "server.log").open("w") as log:
        proc = subprocess.Popen([str(ZHIZAO), "run", "--port", str(port), *args], env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"zhizao run exited with {proc.returncode}:\n{(data / 'server.log').read_text()}")
                try:
                    if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"no /api/health within 60 s:\n{(data / 'server.log').read_text()}")
                time.sleep(0.3)
            yield url
        finally:
            stop(proc, signal.SIGTERM)


def stop(proc: subprocess.Popen, sig: int) -> None:
    """Signal a process group started with ``start_new_session``; kill it if it lingers."""
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    data = tmp_path_factory.mktemp("zhizao-data")
    env = {**os.environ, "ZHIZAO_DATA_DIR": str(data), "ZHIZAO_SIM_SPEED": "600"}
    subprocess.run([str(ZHIZAO), "user", "add", USER, "--role", "operator", "--password", PASSWORD],
                   env=env, check=True, capture_output=True)
    with running_platform(data, env, "--demo") as url:
        yield url


@pytest.fixture(scope="module")
def page(server: str):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=server)
        pg = context.new_page()
        pg.on("pageerror", lambda exc: PAGE_ERRORS.append(str(exc)))
        yield pg
        browser.close()


def tile_states(page) -> dict[str, str]:
    """Machine path -> the state class of its tile on the overview."""
    return page.eval_on_selector_all(
        ".tile[data-eq]", "els => Object.fromEntries(els.map(e => [e.dataset.eq, e.className]))")


def test_login_then_overview_updates_live(page) -> None:
    page.goto("/")
    page.wait_for_url("**/login")
    page.fill("#username", USER)
    page.fill("#password", "wrong-password")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    page.screenshot(path=str(SHOTS / "login.png"))

    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector(".tile[data-eq] .st-label")
    assert page.locator(".tile[data-eq]").count() == 7
    assert page.locator(".buffer").count() == 6
    assert page.inner_text("#user-name") == USER
    # every machine shows a state once the simulator has published one
    page.wait_for_function("() => !document.querySelector('.tile[data-eq].st-unknown')")
    assert page.inner_text(".tile[data-eq] .st-label") in STATE_LABELS_ZH

    before = tile_states(page)
    clock_before = page.inner_text("#hdr-clock")
    page.wait_for_function(
        """before => [...document.querySelectorAll('.tile[data-eq]')]
             .some(e => e.className !== before[e.dataset.eq])""",
        arg=before, timeout=STATE_CHANGE_TIMEOUT_MS)
    page.wait_for_function("c => document.querySelector('#hdr-clock').textContent !== c", arg=clock_before)
    assert page.inner_text("#hdr-link").strip()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "overview-zh.png"), full_page=True)
    assert not PAGE_ERRORS


def test_language_switch_is_remembered(page) -> None:
    label = page.locator('label[data-i18n="web.header.clock"]')
    assert label.inner_text() == "工厂时钟"
    page.select_option("#lang-select", "en")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert label.inner_text() == "Plant clock"
    assert page.inner_text('[data-nav="alarms"] [data-i18n]') == "Alarms"
    page.reload()
    page.wait_for_selector(".tile[data-eq] .st-label")
    assert label.inner_text() == "Plant clock"
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "overview-en.png"), full_page=True)


def test_machine_page_shows_live_tags_and_trends(page) -> None:
    page.click(".tile[data-eq]")
    page.wait_for_url("**/#/machine/**")
    page.wait_for_selector("tr[data-tag]")
    # live values fill the tag table, and the trend charts draw on canvases
    page.wait_for_function("""() => [...document.querySelectorAll('tr[data-tag] .v')]
                                 .filter(e => e.textContent !== '--').length > 5""")
    page.wait_for_selector(".trend .chart canvas")
    page.click('[data-seg="range"] button[data-value="8h"]')
    page.wait_for_timeout(2500)
    assert page.locator('[data-seg="range"] button.on').get_attribute("data-value") == "8h"
    page.screenshot(path=str(SHOTS / "machine.png"), full_page=True)
    assert not PAGE_ERRORS


def test_oee_page_draws_charts(page) -> None:
    page.click('[data-nav="oee"]')
    page.wait_for_selector('[data-chart="equipment"] canvas')
    page.wait_for_timeout(2500)
    page.screenshot(path=str(SHOTS / "oee.png"), full_page=True)
    assert not PAGE_ERRORS


def test_alarms_page_lists_and_acknowledges(page) -> None:
    page.click('[data-nav="alarms"]')
    page.wait_for_selector("#al-count:not(:empty)")
    # "all" lists every alarm point of the plant, in whatever state
    with page.expect_response(lambda r: "/api/alarms?state=all" in r.url):
        page.click('[data-seg="filter"] button[data-value="all"]')
    page.wait_for_selector("#al-body tr:not(.empty)")
    with page.expect_response(lambda r: r.url.endswith("/api/alarms")):
        page.click('[data-seg="filter"] button[data-value="list"]')
    page.wait_for_timeout(500)
    # an operator acknowledges; shelving needs an engineer, so no shelve buttons here
    assert page.locator("button[data-shelve]").count() == 0
    ack = page.locator("button[data-ack]")
    if ack.count():
        with page.expect_response(lambda r: r.url.endswith("/ack")) as answer:
            ack.first.click()
        assert answer.value.ok
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "alarms.png"), full_page=True)
    assert not PAGE_ERRORS


def test_logout_returns_to_login(page) -> None:
    page.click("#logout")
    page.wait_for_url("**/login")
    page.goto("/")
    page.wait_for_url("**/login")
