from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zhizao.ml import ModelRegistry, RegistryError, fingerprint


def _artefact(tmp: Path, text: str) -> Path:
    folder = tmp / f"art-{text}"
    folder.mkdir()
    (folder / "model.txt").write_text(text)
    return folder


def test_versions_promote_rollback(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "models")
    v1 = reg.register("rul", "fd001", _artefact(tmp_path, "a"), metrics={"rmse": 13.0}, data_fingerprint="x")
    assert v1.version == 1 and reg.deployed("rul", "fd001") == 1  # the first version deploys itself
    v2 = reg.register("rul", "fd001", _artefact(tmp_path, "b"), metrics={"rmse": 11.5})
    assert v2.version == 2 and reg.deployed("rul", "fd001") == 1
    reg.promote("rul", "fd001", 2)
    assert (reg.get("rul", "fd001").path / "model.txt").read_text() == "b"
    assert reg.get("rul", "fd001", 1).metrics == {"rmse": 13.0}
    assert reg.rollback("rul", "fd001") == 1
    assert [h["action"] for h in reg.history("rul", "fd001")] == ["promote", "promote", "rollback"]
    assert reg.models() == [("rul", "fd001")]


def test_errors_name_the_problem(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    with pytest.raises(RegistryError, match="name"):
        reg.register("rul", "../evil", _artefact(tmp_path, "a"))
    with pytest.raises(RegistryError, match="nothing is registered"):
        reg.get("rul", "none")
    reg.register("rul", "m", _artefact(tmp_path, "b"))
    with pytest.raises(RegistryError, match="no version 7"):
        reg.promote("rul", "m", 7)
    with pytest.raises(RegistryError, match="roll back"):
        reg.rollback("rul", "m")


def test_fingerprint_changes_with_the_data(tmp_path: Path) -> None:
    a = np.arange(10.0)
    assert fingerprint([a]) == fingerprint([a.copy()])
    assert fingerprint([a]) != fingerprint([a + 1])
    f = tmp_path / "f.bin"
    f.write_bytes(b"123")
    assert fingerprint([f]).startswith("sha256:")
