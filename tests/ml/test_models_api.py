"""The model registry's API: list, versions with metrics, promote and rollback by an engineer."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import auth

from zhizao.ml import ModelRegistry


def _register(reg: ModelRegistry, tmp: Path, text: str, rmse: float) -> None:
    folder = tmp / f"art-{text}"
    folder.mkdir()
    (folder / "model.txt").write_text(text)
    reg.register("health", "cnc1", folder, metrics={"rmse": rmse}, params={"k": 1}, data_fingerprint="sha256:ab")


def test_list_promote_rollback(platform_app, client, tokens, tmp_path: Path) -> None:
    app, _ = platform_app
    reg = ModelRegistry(app.state.ctx.settings.data_dir / "models")
    assert client.get("/api/models", headers=auth(tokens["viewer"])).json() == []
    _register(reg, tmp_path, "a", 13.0)
    _register(reg, tmp_path, "b", 11.0)
    listed = client.get("/api/models", headers=auth(tokens["viewer"])).json()
    assert listed[0]["kind"] == "health" and listed[0]["deployed"] == 1 and listed[0]["versions"] == 2
    assert listed[0]["metrics"] == {"rmse": 13.0}
    detail = client.get("/api/models/health/cnc1", headers=auth(tokens["viewer"])).json()
    assert [v["version"] for v in detail["items"]] == [2, 1]
    assert detail["items"][1]["deployed"] and detail["items"][1]["data_fingerprint"] == "sha256:ab"
    assert "path" not in detail["items"][0]

    url = "/api/models/health/cnc1"
    assert client.post(f"{url}/promote", json={"version": 2}, headers=auth(tokens["operator"])).status_code == 403
    assert client.post(f"{url}/promote", json={"version": 7}, headers=auth(tokens["engineer"])).status_code == 404
    promoted = client.post(f"{url}/promote", json={"version": 2}, headers=auth(tokens["engineer"])).json()
    assert promoted["deployed"] == 2 and reg.deployed("health", "cnc1") == 2
    rolled = client.post(f"{url}/rollback", headers=auth(tokens["engineer"])).json()
    assert rolled["deployed"] == 1
    assert [h["action"] for h in rolled["history"]] == ["promote", "promote", "rollback"]
    assert client.get("/api/models/health/nope", headers=auth(tokens["viewer"])).status_code == 404
    bad = client.get("/api/models/health/bad name", headers=auth(tokens["viewer"]))
    assert bad.status_code == 422 and "name" in bad.json()["detail"]
