"""The OPC UA browse dialog of the Connectors page, against a real server and a real platform.

``zhizao sim --opcua PORT`` serves the demo plant over OPC UA; a ``zhizao run`` platform
whose plant has an ``opcua`` connector pointing there (and two equipment without tags)
is driven through Debian's chromium as an engineer: browse, tick two variables, rename
one tag, import into the ``mill`` and see the tags in ``/api/tags``; importing them again
shows the API's error. Screenshots land in ``screenshots/``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, ZHIZAO, free_port, running_platform, stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ENGINEER, PASSWORD = "eng", "console-test-9"
CNC1 = "zhizao/suzhou/machining/line1/turning/cnc1"
MILL = "acme/site1/area1/line1/cell1/mill"
PAGE_ERRORS: list[str] = []


@pytest.fixture(scope="module")
def opcua_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint of ``zhizao sim --opcua`` serving the demo plant."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    data = tmp_path_factory.mktemp("sim-data")
    proc = subprocess.Popen([str(ZHIZAO), "sim", "--opcua", str(free_port()), "--speed", "10", "--data-dir", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while not any("Ctrl-C" in line for line in lines):
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line or time.monotonic() > deadline:
                pytest.fail("zhizao sim did not come up:\n" + "".join(lines))
            lines.append(line)
        found = re.search(r"opc\.tcp://\S+", "".join(lines))
        assert found, "".join(lines)
        yield found.group(0)
    finally:
        stop(proc, signal.SIGINT)


@pytest.fixture(scope="module")
def server(opcua_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("zhizao-data")
    plant = data.parent / "browse-plant.yaml"
    plant.write_text(json.dumps({  # JSON is YAML
        "version": 1,
        "connectors": [{"name": "plc", "kind": "opcua", "config": {"endpoint": opcua_server}}],
        "enterprise": {"id": "acme", "sites": [{"id": "site1", "areas": [{"id": "area1", "lines": [
            {"id": "line1", "cells": [{"id": "cell1", "equipment": [
                {"id": "lathe", "kind": "cnc", "name": {"en": "Lathe", "zh": "车床"}},
                {"id": "mill", "kind": "cnc", "name": {"en": "Mill", "zh": "铣床"}}]}]}]}]}]},
    }), encoding="utf-8")
    env = {**os.environ, "ZHIZAO_DATA_DIR": str(data)}
    for cmd in (["plant", "import", str(plant)],
                ["user", "add", ENGINEER, "--role", "engineer", "--password", PASSWORD]):
        subprocess.run([str(ZHIZAO), *cmd], env=env, check=True, capture_output=True)
    with running_platform(data, env, "--data-dir", str(data)) as url:
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
        pg.add_init_script("localStorage.setItem('zhizao.lang', 'en')")
        yield pg
        chromium.close()


def test_browse_select_and_import_two_variables(page) -> None:
    page.goto("/")
    page.wait_for_url("**/login")
    page.fill("#username", ENGINEER)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/(#.*)?$"))
    page.goto("/#/connectors")
    page.click('button[data-browse="plc"]')
    dialog = page.locator("dialog.browse-dialog")
    dialog.wait_for()
    assert dialog.locator('[name="node"]').input_value() == "i=85"

    dialog.locator('[data-act="browse"]').click()
    temperature = dialog.locator(f'tr[data-path="{CNC1}/temperature"]')
    temperature.wait_for()
    assert "°C" in temperature.inner_text() and "ns=" in temperature.inner_text()
    assert re.search(r"\d+ variables at opc\.tcp://", dialog.locator(".bd-status").inner_text())
    dialog.locator('[name="filter"]').fill("cnc1/")
    assert dialog.locator(f'tr[data-path="{CNC1}/spindle_speed"]').is_visible()
    assert not dialog.locator('tr[data-path^="zhizao/suzhou/machining/line1/turning/cnc2/"]').first.is_visible()

    temperature.locator("input.bd-pick").check()
    speed = dialog.locator(f'tr[data-path="{CNC1}/spindle_speed"]')
    speed.locator("input.bd-pick").check()
    speed.locator("input.bd-tag-id").fill("spindle_rpm")
    assert dialog.locator(".bd-count").inner_text() == "2 selected"
    assert dialog.locator('[data-act="import"]').is_disabled()  # no equipment chosen yet
    dialog.locator("select.bd-equipment").select_option(MILL)
    page.screenshot(path=str(SHOTS / "opcua-browse.png"))

    with page.expect_response(lambda r: r.url.endswith("/api/connectors/plc/import")) as answer:
        dialog.locator('[data-act="import"]').click()
    assert answer.value.ok
    result = dialog.locator(".bd-result.ok")
    result.wait_for()
    assert f"Added 2 tags to {MILL}" in result.inner_text()
    page.screenshot(path=str(SHOTS / "opcua-browse-imported.png"))

    tags = {t["path"]: t for t in page.request.get("/api/tags", params={"prefix": MILL}).json()}
    assert set(tags) == {f"{MILL}/temperature", f"{MILL}/spindle_rpm"}
    node_id = temperature.locator("td").nth(2).inner_text()
    assert tags[f"{MILL}/temperature"]["source"]["connector"] == "plc"
    assert tags[f"{MILL}/temperature"]["source"]["address"] == node_id
    assert tags[f"{MILL}/temperature"]["unit"] == "°C"

    # The same tag again: the API's refusal is shown in the dialog.
    temperature.locator("input.bd-pick").check()
    dialog.locator('[data-act="import"]').click()
    failed = dialog.locator(".bd-result.form-error")
    failed.wait_for()
    assert "already has a tag 'temperature'" in failed.inner_text()
    assert not PAGE_ERRORS
