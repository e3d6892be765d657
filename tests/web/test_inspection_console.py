"""The inspection and review pages in a real browser against ``zhizao run --demo``.

A small classifier (with an anomaly detector for heat maps) is registered in the data folder before
the platform starts, so the demo's inspection camera classifies parts at once (the demo would
otherwise train its own first model in the background). The page must show results with
thumbnails and figures; the review page must list unsure results and take a decision.
Screenshots: ``screenshots/inspection.png`` and ``screenshots/review.png``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.test_console_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, ZHIZAO, running_platform

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USER, PASSWORD = "qe", "inspection-test-9"


def register_small_model(data: Path) -> None:
    import numpy as np

    from zhizao.apps.inspection.anomaly import fit_anomaly, save_anomaly
    from zhizao.apps.inspection.images import scan_folder
    from zhizao.apps.inspection.synthetic import write_dataset
    from zhizao.apps.inspection.train import FitConfig, decode_dataset, fit_classifier, save_model
    from zhizao.ml.registry import ModelRegistry

    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(Path(tmp) / "d", 20, seed=11, size=64)
        dataset = scan_folder(Path(tmp) / "d")
        images, _ = decode_dataset(dataset, 48)
        trained = fit_classifier(images, dataset.labels, dataset.classes,
                                 FitConfig(size=48, epochs=10, batch_size=16, holdout=0.2))
        folder = save_model(trained, Path(tmp) / "m")
        good = images[dataset.labels == dataset.classes.index("ok")]
        save_anomaly(fit_anomaly(good, trained.network, trained.prep, backbone="classifier"), folder / "anomaly")
        assert np.isfinite(trained.metrics["ece_after"])
        ModelRegistry(data / "models").register("inspection", "station", folder, metrics=trained.metrics,
                                                notes="browser test model")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    data = tmp_path_factory.mktemp("zhizao-insp")
    register_small_model(data)
    env = {**os.environ, "ZHIZAO_DATA_DIR": str(data), "ZHIZAO_SIM_SPEED": "600"}
    subprocess.run([str(ZHIZAO), "user", "add", USER, "--role", "engineer", "--password", PASSWORD],
                   env=env, check=True, capture_output=True)
    with running_platform(data, env, "--demo") as url:
        yield url


def test_inspection_and_review_pages(server: str) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=server).new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/login")
        page.fill("#username", USER)
        page.fill("#password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector(".tile[data-eq]")

        page.goto("/#/inspection")
        page.wait_for_selector(".insp-card img", timeout=90_000)
        page.wait_for_function("() => document.querySelector('.insp-card img').naturalWidth > 0")
        kpis = page.inner_text("#insp-kpis")
        assert "一次合格率" in kpis
        assert "v1" in page.inner_text("#insp-model")
        assert page.locator("#insp-models tbody tr").count() >= 1
        page.wait_for_timeout(1000)
        page.screenshot(path=str(SHOTS / "inspection.png"), full_page=True)

        page.goto("/#/review")
        page.wait_for_selector(".rv-item", timeout=90_000)
        first = page.locator(".rv-item").first
        result_id = first.get_attribute("data-id")
        assert first.locator("img").count() == 2  # the image and its anomaly heat map
        page.wait_for_function("() => [...document.querySelectorAll('.rv-item img')].slice(0, 4)"
                               ".every(img => img.complete && img.naturalWidth > 0)")
        page.screenshot(path=str(SHOTS / "review.png"), full_page=True)
        first.locator("[data-confirm]").click()
        page.wait_for_function("id => !document.querySelector(`.rv-item[data-id=\"${id}\"]`)", arg=result_id)
        page.wait_for_selector("#rv-done tbody tr:not(.empty)")
        assert USER in page.inner_text("#rv-done")
        browser.close()
    assert not errors, errors
