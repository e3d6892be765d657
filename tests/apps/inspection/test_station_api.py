"""The inspection station behind the API: upload, results, roles, review into the training set,
figures, bus events, and model promote/rollback."""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from tests.conftest import auth

from zhizao.apps.inspection.synthetic import make_image
from zhizao.ml.registry import ModelRegistry


def _png(kind: str, seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(make_image(kind, np.random.default_rng(seed), 64)[0]).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def station(platform_app, tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIZAO_INSPECTION_IMAGE_SIZE", "48")  # retraining stays quick
    app, tokens = platform_app
    registry = ModelRegistry(tmp_path / "data" / "models")
    registry.register("inspection", "station", tiny_model[0], metrics={"holdout_accuracy": 0.5})
    registry.register("inspection", "station", tiny_model[0], metrics={"holdout_accuracy": 0.6})
    with TestClient(app) as client:
        yield client, tokens, app


def test_upload_review_and_figures(station, tmp_path):
    client, tokens, app = station
    events = []
    app.state.ctx.bus.on("_events/inspection/#", events.append)
    files = {"file": ("part.png", _png("scratch", 1), "image/png")}
    form = {"station": "acme/s1/a/l1/c1/cam1", "part": "P-1", "batch": "B7", "order": "WO-9"}
    denied = client.post("/api/inspection/images", files=files, data=form, headers=auth(tokens["viewer"]))
    assert denied.status_code == 403
    response = client.post("/api/inspection/images", files=files, data=form, headers=auth(tokens["operator"]))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["label"] in {"crack", "ok", "patch", "pitted", "scratch"} and result["model_version"] == 1
    assert result["part"] == "P-1" and result["order"] == "WO-9" and result["has_image"]
    assert events and events[0].topic == "_events/inspection/acme/s1/a/l1/c1/cam1"
    assert {"ts", "station", "image_id", "label", "confidence", "verdict", "part", "batch", "order",
            "model_version"} <= events[0].payload.keys()
    image = client.get(f"/api/inspection/results/{result['id']}/image", headers=auth(tokens["viewer"]))
    assert image.status_code == 200 and image.content == files["file"][1]

    bad = client.post("/api/inspection/images", files={"file": ("x.png", b"nonsense", "image/png")},
                      headers=auth(tokens["operator"]))
    assert bad.status_code == 422 and "file" in bad.json()["detail"]

    # Review: a wrong label is refused naming the field; a right one lands in the training set.
    refused = client.post(f"/api/inspection/results/{result['id']}/review", json={"label": "dent"},
                          headers=auth(tokens["operator"]))
    assert refused.status_code == 422 and "label" in refused.json()["detail"]
    reviewed = client.post(f"/api/inspection/results/{result['id']}/review", json={"label": "scratch"},
                           headers=auth(tokens["operator"]))
    assert reviewed.status_code == 200
    assert reviewed.json()["final_label"] == "scratch" and reviewed.json()["final_verdict"] == "fail"
    assert list((tmp_path / "data" / "inspection" / "training" / "scratch").glob("review_*.png"))

    ok = client.post("/api/inspection/images", files={"file": ("g.png", _png("ok", 2), "image/png")},
                     data={"part": "P-2"}, headers=auth(tokens["operator"])).json()
    client.post(f"/api/inspection/results/{ok['id']}/review", json={"label": "ok"}, headers=auth(tokens["operator"]))
    stats = client.get("/api/inspection/stats", headers=auth(tokens["viewer"])).json()
    assert stats["inspected"] == 2 and stats["passed"] == 1 and stats["failed"] == 1
    assert stats["first_pass_yield"] == pytest.approx(0.5) and stats["quality"] == pytest.approx(0.5)
    assert stats["pareto"][0]["label"] == "scratch" and stats["pareto"][0]["cumulative"] == pytest.approx(1.0)
    assert stats["rejected_files"] == 1

    # Retraining on the reviewed images registers a new version; it is not deployed by itself.
    assert client.post("/api/inspection/models/retrain", json={"epochs": 2},
                       headers=auth(tokens["operator"])).status_code == 403
    started = client.post("/api/inspection/models/retrain", json={"epochs": 2}, headers=auth(tokens["engineer"]))
    assert started.status_code == 200 and started.json()["state"] == "running"
    deadline = time.monotonic() + 300
    while (info := client.get("/api/inspection/models", headers=auth(tokens["viewer"])).json())["training"][
            "state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert info["training"]["state"] == "done", info["training"]
    assert [v["version"] for v in info["versions"]] == [1, 2, 3] and info["deployed"] == 1
    assert info["versions"][-1]["params"]["classes"] == ["ok", "scratch"]
    assert info["versions"][-1]["notes"] == "retrained with reviews"


def test_review_queue_holds_unsure_results(station):
    client, tokens, app = station
    svc = app.state.ctx.services["inspection"]
    svc._loaded.classifier.threshold = 1.01  # every prediction is unsure now
    posted = client.post("/api/inspection/images", files={"file": ("a.png", _png("pitted", 3), "image/png")},
                         headers=auth(tokens["operator"])).json()
    assert posted["verdict"] == "review"
    queue = client.get("/api/inspection/results", params={"pending_review": True}, headers=auth(tokens["viewer"]))
    assert [r["id"] for r in queue.json()] == [posted["id"]]
    assert client.get("/api/inspection/stats", headers=auth(tokens["viewer"])).json()["pending_review"] == 1
    client.post(f"/api/inspection/results/{posted['id']}/review", json={"label": "pitted"},
                headers=auth(tokens["operator"]))
    assert client.get("/api/inspection/results", params={"pending_review": True},
                      headers=auth(tokens["viewer"])).json() == []


def test_promote_and_rollback_need_an_engineer(station):
    client, tokens, _ = station
    info = client.get("/api/inspection/models", headers=auth(tokens["viewer"])).json()
    assert info["deployed"] == 1 and [v["version"] for v in info["versions"]] == [1, 2]
    assert client.post("/api/inspection/models/2/promote", headers=auth(tokens["operator"])).status_code == 403
    assert client.post("/api/inspection/models/2/promote", headers=auth(tokens["engineer"])).json()["deployed"] == 2
    uploaded = client.post("/api/inspection/images", files={"file": ("a.png", _png("ok", 5), "image/png")},
                           headers=auth(tokens["operator"])).json()
    assert uploaded["model_version"] == 2
    assert client.post("/api/inspection/models/rollback", headers=auth(tokens["engineer"])).json()["deployed"] == 1
    missing = client.post("/api/inspection/models/9/promote", headers=auth(tokens["engineer"]))
    assert missing.status_code == 404 and "version" in missing.json()["detail"]


def test_watched_folder(platform_app, tiny_model, tmp_path, monkeypatch):
    watch = tmp_path / "watch"
    watch.mkdir()
    monkeypatch.setenv("ZHIZAO_INSPECTION_WATCH_DIR", str(watch))
    monkeypatch.setenv("ZHIZAO_INSPECTION_WATCH_INTERVAL_S", "0.2")
    app, tokens = platform_app
    ModelRegistry(tmp_path / "data" / "models").register("inspection", "station", tiny_model[0])
    (watch / "P-77.png").write_bytes(_png("crack", 9))
    (watch / "notes.txt").write_text("not an image")
    past = time.time() - 10
    for path in watch.iterdir():
        os.utime(path, (past, past))
    with TestClient(app) as client:
        deadline = time.monotonic() + 60
        while not (watch / "done" / "P-77.png").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        results = client.get("/api/inspection/results", headers=auth(tokens["viewer"])).json()
    assert [(r["source"], r["part"]) for r in results] == [("folder", "P-77")]
    assert (watch / "rejected" / "notes.txt").exists()
