"""A tiny synthetic data set and one small model trained on it, shared by the inspection tests."""

from __future__ import annotations

import pytest

from zhizao.apps.inspection.images import scan_folder
from zhizao.apps.inspection.synthetic import write_dataset
from zhizao.apps.inspection.train import FitConfig, decode_dataset, fit_classifier, save_model

SIZE = 48


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """root/<class>/*.png: 5 classes x 14 synthetic steel pictures of 64 px."""
    root = tmp_path_factory.mktemp("tiny") / "data"
    write_dataset(root, 14, seed=3, size=64)
    return root


@pytest.fixture(scope="session")
def tiny_model(tiny_data, tmp_path_factory):
    """(model folder, TrainedClassifier) after a few epochs on the tiny set."""
    dataset = scan_folder(tiny_data)
    images, _ = decode_dataset(dataset, SIZE)
    trained = fit_classifier(images, dataset.labels, dataset.classes,
                             FitConfig(size=SIZE, epochs=6, batch_size=16, holdout=0.2, threads=2))
    folder = save_model(trained, tmp_path_factory.mktemp("model") / "m", data_fingerprint="sha256:test")
    return folder, trained
