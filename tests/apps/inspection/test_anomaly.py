"""Anomaly detection from good images only: detection, localisation, calibration, CLI and heat maps."""

from __future__ import annotations

import json

import numpy as np
from sklearn.metrics import roc_auc_score

from zhizao.apps.inspection.anomaly import fit_anomaly, load_anomaly, random_backbone, save_anomaly
from zhizao.apps.inspection.images import Preprocessing
from zhizao.apps.inspection.synthetic import DEFECT_KINDS, make_image

SIZE = 64


def _images(kinds, n, seed):
    rng = np.random.default_rng(seed)
    pairs = [make_image(kind, rng, SIZE) for kind in kinds for _ in range(n)]
    return (np.stack([p[0] for p in pairs]).astype(np.float32)[:, None] / 255, np.stack([p[1] for p in pairs]))


def test_detects_and_locates_defects_it_never_saw(tmp_path):
    good, _ = _images(["ok"], 30, seed=1)
    test_good, _ = _images(["ok"], 12, seed=2)
    bad, masks = _images(DEFECT_KINDS, 6, seed=3)
    prep = Preprocessing(SIZE, 1, (float(good.mean()),), (float(good.std()),))
    model = fit_anomaly(good, random_backbone(1), prep, quantile=0.95)
    scores_good, _ = model.scores(test_good)
    scores_bad, maps = model.scores(bad)
    auroc = roc_auc_score([0] * len(scores_good) + [1] * len(scores_bad), np.concatenate([scores_good, scores_bad]))
    print(f"image AUROC {auroc:.3f}")
    assert auroc >= 0.8
    # The map is highest where the defect is: pixel AUROC against the known masks.
    from PIL import Image

    up = np.stack([np.asarray(Image.fromarray(m.astype(np.float32)).resize((SIZE, SIZE), Image.BILINEAR))
                   for m in maps])
    pixel_auroc = roc_auc_score(masks.ravel(), up.ravel())
    print(f"pixel AUROC {pixel_auroc:.3f}")
    assert pixel_auroc >= 0.8
    # The threshold comes from good images it was not fitted on: most unseen good images pass.
    assert (scores_good <= model.threshold).mean() >= 0.75
    saved = load_anomaly(save_anomaly(model, tmp_path / "anomaly"))
    np.testing.assert_allclose(saved.scores(bad)[0], scores_bad, rtol=1e-3)


def test_anomaly_cli_writes_scores_and_heat_maps(tmp_path):
    from PIL import Image
    from typer.testing import CliRunner

    from zhizao.cli import app

    rng = np.random.default_rng(4)
    (tmp_path / "good").mkdir()
    for i in range(12):
        Image.fromarray(make_image("ok", rng, SIZE)[0]).save(tmp_path / "good" / f"g{i}.png")
    Image.fromarray(make_image("crack", rng, SIZE)[0]).save(tmp_path / "bad.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG nonsense")
    runner = CliRunner()
    fit = runner.invoke(app, ["inspect", "anomaly", "fit", "--good", str(tmp_path / "good"), "--model",
                              str(tmp_path / "am"), "--size", str(SIZE), "--json"])
    assert fit.exit_code == 0, fit.output
    assert json.loads(fit.stdout)["good_images"] == 12
    out = runner.invoke(app, ["inspect", "anomaly", "predict", "--model", str(tmp_path / "am"), "--heatmaps",
                              str(tmp_path / "heat"), "--json", str(tmp_path / "bad.png"),
                              str(tmp_path / "broken.png")])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert rows[0]["anomalous"] is True and rows[0]["score"] > rows[0]["threshold"]
    assert Image.open(rows[0]["heatmap"]).size == (SIZE, SIZE)
    assert "error" in rows[1]
