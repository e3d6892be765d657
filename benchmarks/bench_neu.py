"""NEU steel surface defects: CNN vs classical baseline (same CV folds), fit time, inference speed,
anomaly mode; writes benchmarks/results/neu.json.

    .venv/bin/python benchmarks/bench_neu.py [--data ../shared/data/neu] [--folds 5] [--epochs 30]

1. Accuracy on unseen images: stratified k-fold cross-validation over train+valid (each fold's model
   is trained — and calibrated on its own held-out split — without the fold's test images); mean,
   standard deviation and the per-fold figures, for the CNN and for LBP+HOG with logistic regression
   on exactly the same folds. Also the ECE of the calibrated CNN on each test fold.
2. The valid split: ``zhizao inspect fit`` on train/ (the real CLI, timed: wall clock and CPU time,
   with the load average, because the machine may be shared), accuracy on valid/.
3. Inference: ``Classifier.predict_files`` over every image (decoding included), 2 threads, ms/image.
4. Anomaly mode: each class in turn is "good": fit on its train/ images, score its valid/ images
   against the other classes' valid/ images (image AUROC); backbones: fixed random features (know
   nothing of NEU) and the valid-split classifier (trained on NEU labels: optimistic, said so in the
   JSON). Localisation: NEU has no masks, so synthetic defects with known masks are painted on the
   good class's valid/ images; pixel AUROC of the heat map against those masks.

Parts run in the order valid split, inference, anomaly, CV; the JSON is rewritten after each part
(and each fold), so a long run on a busy machine leaves its figures so far.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "neu.json"
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "neu"


def cpu_seconds() -> float:
    """CPU time of this process and its finished children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def machine() -> dict:
    return {"python": platform.python_version(), "cpu_count": os.cpu_count(), "processor": platform.processor(),
            "loadavg": os.getloadavg()}


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def cross_validate(images, images_native, labels, classes, args, result) -> None:
    from sklearn.model_selection import StratifiedKFold

    from zhizao.apps.inspection.baseline import fit_baseline, lbp_hog_features
    from zhizao.apps.inspection.calibration import expected_calibration_error, softmax
    from zhizao.apps.inspection.images import normalise
    from zhizao.apps.inspection.train import FitConfig, fit_classifier

    t0 = time.perf_counter()
    features = lbp_hog_features(images_native)
    baseline_feature_s = time.perf_counter() - t0
    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=args.seed).split(images, labels))
    cnn, base = [], []
    for k, (train, test) in enumerate(folds):
        started, cpu = time.perf_counter(), cpu_seconds()
        trained = fit_classifier(images[train], labels[train], classes, FitConfig(size=args.size, epochs=args.epochs,
                                                                                  seed=args.seed))
        wall = time.perf_counter() - started
        probs = softmax(trained.logits(normalise(images[test], trained.prep)), trained.temperature)
        accuracy = float((probs.argmax(1) == labels[test]).mean())
        cnn.append({"fold": k + 1, "accuracy": accuracy, "errors": int((probs.argmax(1) != labels[test]).sum()),
                    "test_images": len(test), "ece": round(expected_calibration_error(probs, labels[test]), 4),
                    "review_rate": float((probs.max(1) < trained.threshold).mean()),
                    "fit_wall_s": round(wall, 1), "fit_cpu_s": round(cpu_seconds() - cpu, 1),
                    "loadavg": os.getloadavg()[0]})
        model = fit_baseline(features[train], labels[train])
        base.append({"fold": k + 1, "accuracy": float((model.predict(features[test]) == labels[test]).mean())})
        log(f"fold {k + 1}/{args.folds}: CNN {accuracy:.4f} ({wall:.0f}s), baseline {base[-1]['accuracy']:.4f}")
        result["cv"] = summarise(cnn, base, args, baseline_feature_s)
        write(result)


def summarise(cnn: list, base: list, args, baseline_feature_s: float) -> dict:
    def stats(rows):
        acc = np.array([r["accuracy"] for r in rows])
        return {"mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                "min": float(acc.min()), "max": float(acc.max())}

    return {"folds": args.folds, "folds_done": len(cnn), "images": None, "seed": args.seed,
            "cnn": {**stats(cnn), "input_px": args.size, "epochs": args.epochs, "per_fold": cnn,
                    "mean_test_ece": float(np.mean([r["ece"] for r in cnn]))},
            "baseline_lbp_hog_logreg": {**stats(base), "per_fold": base,
                                        "feature_seconds_all_images": round(baseline_feature_s, 1)}}


def valid_split(data: Path, args, result) -> Path:
    """The real CLI on train/, timed; accuracy on valid/."""
    from zhizao.apps.inspection.predictor import Classifier

    model_dir = Path(tempfile.mkdtemp(prefix="neu-model-"))
    command = [sys.executable, "-m", "zhizao.cli", "inspect", "fit", "--data", str(data / "train"), "--model",
               str(model_dir / "m"), "--epochs", str(args.epochs), "--size", str(args.size), "--json", "--quiet"]
    load_before, started, cpu = os.getloadavg(), time.perf_counter(), cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    wall, used = time.perf_counter() - started, cpu_seconds() - cpu
    summary = json.loads(done.stdout)
    classifier = Classifier(model_dir / "m")
    valid = sorted((data / "valid").glob("*/*"))
    predictions = classifier.predict_files(valid)
    correct = [p.label == path.parent.name for p, path in zip(predictions, valid, strict=True)]
    result["valid_split"] = {
        "train_images": summary["train_images"] + summary["holdout_images"], "valid_images": len(valid),
        "accuracy": float(np.mean(correct)), "errors": int(len(correct) - sum(correct)),
        "review_rate": float(np.mean([p.review for p in predictions])),
        "holdout_ece_before": summary.get("ece_before"), "holdout_ece_after": summary.get("ece_after"),
        "temperature": summary.get("temperature"), "reject_threshold": summary.get("reject_threshold"),
        "fit_command": " ".join(["zhizao", *command[3:]]),
        "fit_wall_s": round(wall, 1), "fit_cpu_s": round(used, 1),
        "fit_wall_s_if_alone_on_2_cores_estimate": round(used / 2, 1),
        "loadavg_before": load_before, "loadavg_after": os.getloadavg()}
    write(result)
    return model_dir / "m"


def inference_speed(model: Path, data: Path, result) -> None:
    from zhizao.apps.inspection.predictor import Classifier

    classifier = Classifier(model, threads=2)
    paths = sorted(data.glob("*/*/*"))
    classifier.predict_files(paths[:64])  # warm-up
    runs = []
    for _ in range(3):
        started, cpu = time.perf_counter(), cpu_seconds()
        classifier.predict_files(paths)
        runs.append((time.perf_counter() - started, cpu_seconds() - cpu))
    best = min(runs)
    result["inference"] = {"images": len(paths), "image_px": "200x200 grayscale PNG", "threads": 2,
                           "ms_per_image_wall_best_of_3": round(best[0] / len(paths) * 1000, 3),
                           "ms_per_image_cpu": round(best[1] / len(paths) * 1000, 3),
                           "includes": "file read + PNG decode + resize + onnxruntime + softmax",
                           "loadavg": os.getloadavg()}
    write(result)


def anomaly_mode(data: Path, size: int, model: Path | None, args, result) -> None:
    """Each class in turn is good: fit on its train/ images, test on valid/ (its own vs the others')."""
    from PIL import Image
    from sklearn.metrics import roc_auc_score

    from zhizao.apps.inspection.anomaly import fit_anomaly, random_backbone
    from zhizao.apps.inspection.images import Preprocessing, scan_folder
    from zhizao.apps.inspection.predictor import read_model_json
    from zhizao.apps.inspection.synthetic import DEFECT_KINDS, defect_mask, paint_defect
    from zhizao.apps.inspection.train import decode_dataset, load_network

    rng = np.random.default_rng(args.seed)
    train, valid = scan_folder(data / "train"), scan_folder(data / "valid")
    train_images, valid_images = decode_dataset(train, size)[0], decode_dataset(valid, size)[0]
    backbones = {"random_features": None}
    if model is not None:
        backbones["neu_classifier"] = (Preprocessing.from_json(read_model_json(model)["preprocessing"]),
                                       load_network(model))
    out: dict = {"note": "fit on one class's train/ images as good; image AUROC: that class's valid/ images vs "
                 "the other classes' valid/ images (nothing of valid/ was seen by any model); pixel AUROC: "
                 "synthetic defects with known masks painted on the good class's valid/ images (NEU has no "
                 "masks), so localisation is measured on synthetic defects only. The neu_classifier backbone "
                 "is the valid-split CLI model, trained with labels of all six classes: optimistic for truly "
                 "new defects; random features know nothing of NEU.", "per_class": {}}
    for k, name in enumerate(train.classes):
        good_fit = train_images[train.labels == k]
        held = valid_images[valid.labels == k]
        others = valid_images[valid.labels != k]
        painted, masks = [], []
        for i, image in enumerate(held):
            kind = DEFECT_KINDS[i % len(DEFECT_KINDS)]
            mask = defect_mask(kind, rng, size)
            painted.append(paint_defect(image[0].astype(np.float64), mask, kind, rng)[None])
            masks.append(mask)
        painted = np.stack(painted).astype(np.float32)
        row = {}
        for backbone_name, backbone in backbones.items():
            if backbone is None:
                prep = Preprocessing(size, 1, (float(good_fit.mean()),), (float(good_fit.std()),))
                network = random_backbone(1)
            else:
                prep, network = backbone
            detector = fit_anomaly(good_fit, network, prep, quantile=0.99, seed=args.seed)
            good_scores, bad_scores = detector.scores(held)[0], detector.scores(others)[0]
            image_auroc = roc_auc_score(np.r_[np.zeros(len(held)), np.ones(len(others))],
                                        np.r_[good_scores, bad_scores])
            maps = detector.scores(painted)[1]
            up = np.stack([np.asarray(Image.fromarray(m.astype(np.float32)).resize((size, size), Image.BILINEAR))
                           for m in maps])
            row[backbone_name] = {
                "image_auroc": round(float(image_auroc), 4),
                "pixel_auroc_synthetic": round(float(roc_auc_score(np.stack(masks).ravel(), up.ravel())), 4),
                "good_pass_rate_at_threshold": round(float((good_scores <= detector.threshold).mean()), 4),
                "defect_catch_rate_at_threshold": round(float((bad_scores > detector.threshold).mean()), 4)}
        out["per_class"][name] = row
        log(f"anomaly good={name}: {row}")
    for backbone_name in backbones:
        vals = [out["per_class"][c][backbone_name] for c in train.classes]
        out[f"mean_{backbone_name}"] = {key: round(float(np.mean([v[key] for v in vals])), 4) for key in vals[0]}
    result["anomaly"] = out
    write(result)


def write(result: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ZHIZAO_NEU_DIR", DEFAULT_DATA)))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["cv", "valid", "inference", "anomaly"])
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write (default results/neu.json)")
    args = parser.parse_args()
    if args.out is not None:
        global RESULTS
        RESULTS = args.out
    import torch

    from zhizao.apps.inspection.images import scan_folder
    from zhizao.apps.inspection.train import decode_dataset

    torch.set_num_threads(2)
    data = args.data.resolve()
    train, valid = scan_folder(data / "train"), scan_folder(data / "valid")
    assert train.classes == valid.classes, "train/ and valid/ must have the same classes"
    images = np.concatenate([decode_dataset(train, args.size)[0], decode_dataset(valid, args.size)[0]])
    labels = np.concatenate([train.labels, valid.labels])
    result: dict = {"benchmark": "neu", "data": str(data), "classes": list(train.classes), "images": len(labels),
                    "machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    model = None
    if "valid" not in args.skip:
        model = valid_split(data, args, result)
    if "inference" not in args.skip and model is not None:
        inference_speed(model, data, result)
    if "anomaly" not in args.skip:
        anomaly_mode(data, args.size, model, args, result)
    if "cv" not in args.skip:
        native = np.concatenate([decode_dataset(train, 200)[0], decode_dataset(valid, 200)[0]])
        cross_validate(images, native, labels, train.classes, args, result)
        result["cv"]["images"] = len(labels)
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result["machine"]["loadavg_end"] = os.getloadavg()
    write(result)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
