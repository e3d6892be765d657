"""Classifier: training, ONNX export, the batch predictor's output, calibration and the reject option."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from zhizao.apps.inspection.calibration import expected_calibration_error, fit_temperature, softmax
from zhizao.apps.inspection.images import ImageError, Preprocessing, load_image, normalise, scan_folder
from zhizao.apps.inspection.predictor import Classifier, ModelError


def test_model_folder_is_self_contained(tiny_model):
    folder, trained = tiny_model
    meta = json.loads((folder / "model.json").read_text())
    assert {p.name for p in folder.iterdir()} >= {"model.onnx", "weights.pt", "model.json"}
    assert meta["classes"] == ["crack", "ok", "patch", "pitted", "scratch"]
    assert meta["preprocessing"]["size"] == 48 and meta["preprocessing"]["channels"] == 1
    assert meta["data_fingerprint"] == "sha256:test"
    assert 0.05 <= meta["temperature"] <= 20
    assert {"ece_before", "ece_after", "holdout_accuracy", "reject_threshold"} <= meta["metrics"].keys()


def test_onnx_agrees_with_torch(tiny_model, tiny_data):
    folder, trained = tiny_model
    classifier = Classifier(folder)
    paths = sorted(tiny_data.glob("*/*.png"))[:12]
    batch = np.stack([load_image(p, classifier.prep) for p in paths])
    onnx_logits = classifier.logits(batch)
    torch_logits = trained.logits(normalise(batch, trained.prep))
    np.testing.assert_allclose(onnx_logits, torch_logits, rtol=1e-3, atol=1e-3)


def test_predict_cli_json_in_order_with_errors(tiny_model, tiny_data, tmp_path):
    from typer.testing import CliRunner

    from zhizao.cli import app

    folder, _ = tiny_model
    good = sorted(tiny_data.glob("*/*.png"))
    (tmp_path / "notes.png").write_text("not an image")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good[0].read_bytes()[:200])
    colour = tmp_path / "colour.jpg"  # other size, colour, jpg: still classified
    Image.new("RGB", (90, 70), (120, 110, 100)).save(colour)
    inputs = [str(good[3]), str(tmp_path / "notes.png"), str(truncated), str(tmp_path / "missing.bmp"),
              str(colour), str(good[20])]
    result = CliRunner().invoke(app, ["inspect", "predict", "--model", str(folder), "--json", *inputs])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert [entry["image"] for entry in out] == inputs
    for i in (0, 4, 5):
        assert out[i]["label"] in {"crack", "ok", "patch", "pitted", "scratch"}
        assert 0.2 <= out[i]["confidence"] <= 1.0
    for i, fragment in ((1, "not an image"), (2, "truncated"), (3, "no such file")):
        assert fragment in out[i]["error"] and inputs[i] in out[i]["error"]
        assert "label" not in out[i]


def test_reject_threshold_sends_unsure_images_to_review(tiny_model, tiny_data):
    folder, _ = tiny_model
    paths = sorted(tiny_data.glob("*/*.png"))[:10]
    strict = Classifier(folder, reject_threshold=1.0).predict_files(paths)
    lenient = Classifier(folder, reject_threshold=0.0).predict_files(paths)
    assert all(p.review for p in strict)
    assert not any(p.review for p in lenient)
    assert [p.label for p in strict] == [p.label for p in lenient]


def test_temperature_scaling_repairs_overconfidence():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 2000)
    logits = rng.normal(0, 1, (2000, 4))
    logits[np.arange(2000), labels] += 1.5  # informative but noisy ...
    overconfident = logits * 6  # ... and far too sure of itself
    temperature = fit_temperature(overconfident, labels)
    assert 2.5 < temperature < 10
    before = expected_calibration_error(softmax(overconfident), labels)
    after = expected_calibration_error(softmax(overconfident, temperature), labels)
    assert after < before / 3 and after < 0.05


def test_error_free_holdout_does_not_saturate_confidence():
    logits = np.array([[4.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 5.0]])
    temperature = fit_temperature(logits, np.array([0, 1, 2]))
    assert temperature == pytest.approx(0.5, rel=1e-3)
    assert softmax(logits, temperature).max(axis=1).min() < 0.999


def test_trained_calibration_does_not_get_worse(tiny_model):
    metrics = tiny_model[1].metrics
    assert metrics["ece_after"] <= metrics["ece_before"] + 0.02


def test_fit_cli_learns_separable_classes(tmp_path):
    """Two clearly different classes: a few epochs must separate them, via the real CLI."""
    from typer.testing import CliRunner

    from zhizao.apps.inspection.synthetic import write_dataset
    from zhizao.cli import app

    write_dataset(tmp_path / "d", 16, seed=5, size=48, classes=("ok", "patch"))
    out = tmp_path / "model"
    result = CliRunner().invoke(app, ["inspect", "fit", "--data", str(tmp_path / "d"), "--model", str(out),
                                      "--epochs", "8", "--size", "48", "--json", "--quiet", "--holdout", "0.25"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["classes"] == ["ok", "patch"] and summary["holdout_images"] == 8
    predictions = Classifier(out).predict_files(sorted((tmp_path / "d").glob("*/*.png")))
    truth = [p.parent.name for p in sorted((tmp_path / "d").glob("*/*.png"))]
    accuracy = np.mean([p.label == t for p, t in zip(predictions, truth, strict=True)])
    assert accuracy >= 0.85


def test_bad_inputs_are_named(tmp_path):
    (tmp_path / "only").mkdir()
    Image.new("L", (20, 20)).save(tmp_path / "only" / "a.png")
    with pytest.raises(ImageError, match="at least two class"):
        scan_folder(tmp_path)
    with pytest.raises(ImageError, match="too small"):
        Image.new("L", (4, 4)).save(tmp_path / "tiny.png")
        load_image(tmp_path / "tiny.png", Preprocessing())
    with pytest.raises(ModelError, match="model.json"):
        Classifier(tmp_path)
