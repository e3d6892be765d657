"""The stable batch CLI end to end: fit and predict on small synthetic C-MAPSS files (real training, few epochs)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.apps.maintenance.rul_helpers import write_synthetic
from typer.testing import CliRunner

from zhizao.apps.maintenance.rul.cli import rul_app
from zhizao.ml.registry import ModelRegistry

pytestmark = pytest.mark.slow
runner = CliRunner()
FAST = ["--seeds", "2", "--epochs", "4", "--window", "12", "--threads", "1", "--no-progress"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A model fitted through the CLI on 14 synthetic engines (one with a bad row), registered too."""
    folder = tmp_path_factory.mktemp("rul")
    train = folder / "train_SYN.txt"
    write_synthetic(train, units=14, seed=1)
    lines = train.read_text().splitlines()
    lines.insert(5, "1 6 garbage")
    train.write_text("\n".join(lines) + "\n")
    result = runner.invoke(rul_app, ["fit", "--train", str(train), "--model", str(folder / "model"),
                                     "--registry", str(folder / "registry"), "--json", *FAST])
    assert result.exit_code == 0, result.output
    return folder, result


def test_fit_writes_a_self_contained_model_folder_and_registers_it(fitted):
    folder, result = fitted
    assert "line 6: expected 26 columns" in result.stderr and "skipped 1 row(s)" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["units"] == 14 and summary["skipped_rows"] == 1 and summary["regimes"] == 1
    assert set(summary["sensors"]) == {"s2", "s3", "s4", "s7", "s11", "s13", "s15"}
    meta = json.loads((folder / "model" / "meta.json").read_text())
    assert meta["data"]["fingerprint"].startswith("sha256:") and meta["params"]["window"] == 12
    assert meta["metrics"]["inner_val_rmse_mean"] > 0
    assert sorted(p.name for p in (folder / "model").iterdir()) == [
        "baseline-0.txt", "baseline-1.txt", "baseline-2.txt", "meta.json", "network.pt", "preprocess.json"]
    version = ModelRegistry(folder / "registry").get("rul", "train_SYN")
    assert version.version == summary["registry"]["version"] == 1
    assert version.data_fingerprint == meta["data"]["fingerprint"] and version.params["seeds"] == 2


def test_predict_prints_one_json_object_per_test_unit(fitted, tmp_path):
    folder, _ = fitted
    test = tmp_path / "test_SYN.txt"
    truth = write_synthetic(test, units=9, seed=7, truncate=True)
    # the model folder must not depend on the training file
    (folder / "train_SYN.txt").rename(folder / "moved.txt")
    result = runner.invoke(rul_app, ["predict", "--model", str(folder / "model"), "--test", str(test), "--json"])
    assert result.exit_code == 0, result.output
    predicted = json.loads(result.stdout)
    assert list(predicted) == [str(u) for u in range(1, 10)]
    assert all(isinstance(v, float) and 0 <= v <= 125 for v in predicted.values())
    # the model follows the degradation: its error is well below always guessing the mean
    errors = np.array([predicted[str(u)] - t for u, t in truth.items()])
    spread = np.array(list(truth.values()), dtype=float)
    assert np.sqrt(np.mean(errors**2)) < 0.8 * spread.std()
    cnn = runner.invoke(rul_app, ["predict", "--model", str(folder / "model"), "--test", str(test), "--json",
                                  "--only", "cnn"])
    assert cnn.exit_code == 0, cnn.output
    by_cnn = json.loads(cnn.stdout)
    assert list(by_cnn) == list(predicted) and by_cnn != predicted  # the other side of the model


def test_predict_handles_missing_values_and_short_units(fitted, tmp_path):
    folder, _ = fitted
    test = tmp_path / "short.txt"
    write_synthetic(test, units=3, seed=9, truncate=True, min_life=40, max_life=45)
    lines = test.read_text().splitlines()
    lines[2] = " ".join(t if i not in (6, 7) else "nan" for i, t in enumerate(lines[2].split()))
    test.write_text("\n".join(lines[:3] + [ln for ln in lines if ln.startswith(("2 ", "3 "))]) + "\n")
    result = runner.invoke(rul_app, ["predict", "--model", str(folder / "model"), "--test", str(test), "--json"])
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)) == ["1", "2", "3"]


def test_clear_errors(fitted, tmp_path):
    folder, _ = fitted
    bad = tmp_path / "bad.txt"
    bad.write_text("not a c-mapss file\n")
    result = runner.invoke(rul_app, ["predict", "--model", str(folder / "model"), "--test", str(bad), "--json"])
    assert result.exit_code == 1 and "--test:" in result.stderr and "line 1" in result.stderr
    assert result.stdout == ""
    result = runner.invoke(rul_app, ["predict", "--model", str(tmp_path / "nothing"), "--test", str(bad)])
    assert result.exit_code == 1 and "--model:" in result.stderr and "no such model folder" in result.stderr
    result = runner.invoke(rul_app, ["predict", "--model", str(folder / "model"), "--test", str(bad), "--only", "x"])
    assert result.exit_code == 1 and "--only: 'x'" in result.stderr
