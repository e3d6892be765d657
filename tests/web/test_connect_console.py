"""The connectivity pages of the console: write-back dialog, connectors and dead letters, file import.

The catalogue check runs everywhere; the browser tests start ``zhizao run --demo`` with the
demo plant plus a ``file`` connector watching a folder that already holds a file with bad
rows, and drive Debian's chromium as an engineer (and, at the end, an operator).
Screenshots land in ``screenshots/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, ZHIZAO, running_platform

from zhizao.assets.loader import demo_plant_text
from zhizao.core.i18n import LANGS
from zhizao.web.routes import WEB_DIR

ENGINEER, OPERATOR, PASSWORD = "eng", "op", "console-test-9"
CNC1 = "zhizao/suzhou/machining/line1/turning/cnc1"
PAGE_ERRORS: list[str] = []


def test_connect_catalogues_have_the_same_keys() -> None:
    texts = {lang: json.loads((WEB_DIR.parent / "i18n" / lang / "connect.json").read_text(encoding="utf-8"))
             for lang in LANGS}
    assert set(texts["en"]) == set(texts["zh-CN"])
    assert all(v.strip() for text in texts.values() for v in text.values())
    # keys the pages build from values
    states = ("stopped", "starting", "connected", "degraded", "disconnected", "error")
    built = [f"connect.state.{s}" for s in states] + [f"connect.import.type.{k}" for k in (
        "time", "float", "int", "bool", "string")] + [f"connect.import.match.{m}" for m in (
            "path", "suffix", "equipment_tag", "tag_id", "manual")] + ["connect.import.layout.wide",
                                                                       "connect.import.layout.long"]
    assert not [k for k in built if k not in texts["en"]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    data = tmp_path_factory.mktemp("zhizao-data")
    inbox = data / "inbox"
    inbox.mkdir()
    now = int(time.time()) * 1000
    (inbox / "shift-log.csv").write_text(
        f"time,cnc1/temperature,cnc1/vibration_rms\n{now - 60_000},61.5,2.1\n{now - 55_000},hot,2.2\n"
        f"yesterday,62.0,2.3\n{now - 45_000},62.5,2.4\n{now - 40_000},62.8,2.5\n", encoding="utf-8")
    (data / "plant.yaml").write_text(
        demo_plant_text() + f"\nconnectors:\n  - name: drop\n    kind: file\n"
        f"    config: {{path: '{inbox}', poll_s: 0.5, settle_s: 0}}\n", encoding="utf-8")
    env = {**os.environ, "ZHIZAO_DATA_DIR": str(data), "ZHIZAO_SIM_SPEED": "60"}
    for user, role in ((ENGINEER, "engineer"), (OPERATOR, "operator")):
        subprocess.run([str(ZHIZAO), "user", "add", user, "--role", role, "--password", PASSWORD],
                       env=env, check=True, capture_output=True)
    with running_platform(data, env, "--demo") as url:
        yield url, data


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1600, "height": 1000}, base_url=server[0])
        pg = context.new_page()
        pg.on("pageerror", lambda exc: PAGE_ERRORS.append(str(exc)))
        pg.add_init_script("localStorage.setItem('zhizao.lang', 'en')")
        yield pg
        chromium.close()


def login(page, user: str) -> None:
    page.goto("/")
    page.wait_for_url("**/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector(".tile[data-eq] .st-label")


@pytest.mark.browser
@pytest.mark.slow
def test_write_dialog_sets_the_feed_override_of_a_simulated_machine(page) -> None:
    login(page, ENGINEER)
    page.goto(f"/#/machine/{CNC1}")
    button = page.locator(f'button[data-write="{CNC1}/feed_override"]')
    button.wait_for()
    assert page.locator("button[data-write]").count() == 1  # only the writable tag
    button.click()
    dialog = page.locator("dialog.write-dialog")
    dialog.wait_for()
    page.wait_for_function("() => document.querySelector('.wd-current').textContent !== '--'")
    assert "50 … 120 %" in dialog.inner_text()

    page.fill('dialog.write-dialog [name="value"]', "130")
    page.click('dialog.write-dialog [data-act="next"]')
    assert "50 … 120" in page.inner_text("dialog.write-dialog .wd-error")
    page.fill('dialog.write-dialog [name="value"]', "90")
    page.click('dialog.write-dialog [data-act="next"]')
    confirm = page.inner_text("dialog.write-dialog .wd-confirm")
    assert confirm.startswith("Confirm writing 90 % to cnc1/feed_override")
    page.screenshot(path=str(SHOTS / "write-confirm.png"))

    with page.expect_response(lambda r: r.url.endswith("/feed_override/write")) as answer:
        page.click('dialog.write-dialog [data-act="write"]')
    assert answer.value.ok
    page.wait_for_selector('dialog.write-dialog .wd-result[data-verified="true"]')
    assert page.inner_text("dialog.write-dialog .wd-readback") == "90 %"
    page.screenshot(path=str(SHOTS / "write-result.png"))
    page.click('dialog.write-dialog [data-act="close"]')
    # the simulator publishes the new setpoint: the live table shows it
    page.wait_for_function(f"""() => document.querySelector('tr[data-tag="{CNC1}/feed_override"] .v')
                                      .textContent.startsWith('90')""")
    assert not PAGE_ERRORS


@pytest.mark.browser
@pytest.mark.slow
def test_connectors_page_shows_state_counters_and_dead_letters(page) -> None:
    page.click('[data-nav="connectors"]')
    row = page.locator('tr[data-connector="drop"]')
    row.wait_for()
    page.wait_for_function("""() => document.querySelector('tr[data-connector="drop"] [data-cause="files_done"]')""")
    assert "Connected" in row.inner_text() and "file" in row.inner_text()
    assert row.locator('[data-cause="wrong_type"]').inner_text().endswith("1")
    # dead letters: the file's bad rows with row and column
    page.wait_for_selector('#dl-counts tr[data-source="drop"][data-cause="bad_timestamp"]')
    items = page.inner_text("#dl-items")
    assert "shift-log.csv row 2 (line 3), column 'cnc1/temperature'" in items
    page.click('#dl-counts tr[data-source="drop"][data-cause="wrong_type"]')
    page.wait_for_function("() => document.querySelectorAll('#dl-items tr').length === 1")
    assert "wrong type" in page.inner_text("#dl-items")
    page.screenshot(path=str(SHOTS / "connectors.png"), full_page=True)

    with page.expect_response(lambda r: r.url.endswith("/restart")) as answer:
        row.locator("button[data-restart]").click()
    assert answer.value.ok
    assert not PAGE_ERRORS


@pytest.mark.browser
@pytest.mark.slow
def test_import_page_previews_maps_and_imports(page, server, tmp_path) -> None:
    now = int(time.time()) * 1000
    csv = tmp_path / "cnc2-history.csv"
    csv.write_text("timestamp,CNC lathe 2.temperature,cnc2/vibration_rms,comment\n" + "".join(
        f"{now - 600_000 + i * 1000},{60 + i % 7}.5,{2 + i % 3}.25,ok\n" for i in range(300))
        + f"{now},x,1.0,bad\n", encoding="utf-8")
    page.click('[data-nav="import"]')
    page.set_input_files("#imp-file", str(csv))
    page.click("#imp-upload")
    page.wait_for_selector("#imp-map select[data-map]")
    assert page.locator("table.sample tbody tr").count() == 20
    selects = page.eval_on_selector_all("select[data-map]", "els => els.map(e => [e.dataset.map, e.value])")
    assert dict(selects)["CNC lathe 2.temperature"].endswith("/cnc2/temperature")
    assert dict(selects)["comment"] == ""
    page.screenshot(path=str(SHOTS / "import-preview.png"), full_page=True)

    page.click("#imp-commit")
    page.wait_for_selector("#imp-result")
    assert page.inner_text("#imp-accepted") == "601"
    bad = page.locator("table.bad-rows tbody tr")
    assert bad.count() == 1
    assert bad.locator("td").all_inner_texts()[:4] == ["301", "302", "CNC lathe 2.temperature", "wrong type"]
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "import-result.png"))
    assert not PAGE_ERRORS


@pytest.mark.browser
@pytest.mark.slow
def test_chinese_texts_and_operator_rights(page) -> None:
    page.select_option("#lang-select", "zh-CN")
    page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
    page.click('[data-nav="connectors"]')
    page.wait_for_selector('tr[data-connector="drop"]')
    assert "已连接" in page.inner_text('tr[data-connector="drop"]')
    page.screenshot(path=str(SHOTS / "connectors-zh.png"), full_page=True)
    page.goto(f"/#/machine/{CNC1}")
    page.click(f'button[data-write="{CNC1}/feed_override"]')
    page.fill('dialog.write-dialog [name="value"]', "100")
    page.click('dialog.write-dialog [data-act="next"]')
    assert page.inner_text("dialog.write-dialog .wd-confirm").startswith("确认将 100 % 写入 cnc1/feed_override")
    page.screenshot(path=str(SHOTS / "write-confirm-zh.png"))
    page.click('dialog.write-dialog [data-act="back"]')
    page.click('dialog.write-dialog [data-act="cancel"]')

    page.click("#logout")
    page.wait_for_url("**/login")
    login(page, OPERATOR)
    assert page.locator('[data-nav="import"]').is_hidden()
    page.goto(f"/#/machine/{CNC1}")
    page.wait_for_selector("tr[data-tag]")
    assert page.locator("button[data-write]").count() == 0
    assert not PAGE_ERRORS
