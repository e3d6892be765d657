"""``zhizao inspect``: the batch CLI (stable: users script it and evaluation runs it).

    zhizao inspect fit --data DIR --model OUT          DIR/<class>/<images>; OUT is a model folder
    zhizao inspect predict --model OUT --json IMAGE...  [{"image", "label", "confidence"}, ...] in input order
    zhizao inspect anomaly fit --good DIR --model OUT [--backbone CLASSIFIER]
    zhizao inspect anomaly predict --model OUT [--heatmaps DIR] --json IMAGE...

Heavy libraries (torch, onnxruntime) are imported inside the commands: ``zhizao --help`` stays fast.
Progress goes to stderr; with ``--json`` stdout carries only the JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

inspect_app = typer.Typer(help="Visual inspection: train and run defect classifiers and anomaly detectors.",
                          no_args_is_help=True)
anomaly_app = typer.Typer(help="Anomaly detection from good samples only (PaDiM-style), with heat maps.",
                          no_args_is_help=True)
inspect_app.add_typer(anomaly_app, name="anomaly")


def register(cli: typer.Typer) -> None:
    cli.add_typer(inspect_app, name="inspect")


def _fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)


@contextmanager
def _progress(enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar on stderr; yields ``update(stage, fraction)``."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    if not enabled:
        yield None
        return
    bar = Progress(TextColumn("{task.description:<8}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=False)
    tasks: dict[str, Any] = {}

    def update(stage: str, fraction: float) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=1.0)
        bar.update(tasks[stage], completed=fraction)

    with bar:
        yield update


def _data_fingerprint(paths: tuple[Path, ...], labels: Any, root: Path) -> str:
    from zhizao.ml.registry import fingerprint

    return fingerprint(item for path, label in zip(paths, labels, strict=True)
                       for item in (f"{path.relative_to(root)}:{int(label)}", path))


@inspect_app.command("fit")
def fit(
    data: Path = typer.Option(..., "--data", help="Folder of class sub-folders with images (png/bmp/jpg)"),
    model: Path = typer.Option(..., "--model", help="Model folder to write (replaced atomically)"),
    epochs: int = typer.Option(30, min=1, help="Training epochs"),
    size: int = typer.Option(128, min=32, max=512, help="Square network input in pixels (images are resized)"),
    holdout: float = typer.Option(0.1, min=0.0, max=0.5, help="Share kept aside to calibrate confidence and "
                                  "the reject threshold"),
    max_error: float = typer.Option(0.005, min=0.0, max=0.5, help="Error rate allowed among images not sent to "
                                    "review; sets the reject threshold"),
    seed: int = typer.Option(0, help="Random seed"),
    threads: int = typer.Option(2, min=1, help="CPU threads"),
    json_out: bool = typer.Option(False, "--json", help="Print the model summary as JSON"),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar"),
) -> None:
    """Train a defect classifier (compact CNN, CPU) and export it to ONNX with calibrated confidence."""
    from zhizao.apps.inspection.images import ImageError, scan_folder
    from zhizao.apps.inspection.train import FitConfig, decode_dataset, fit_classifier, save_model

    try:
        dataset = scan_folder(data)
        with _progress(not quiet) as progress:
            images, _ = decode_dataset(dataset, size, progress)
            config = FitConfig(size=size, epochs=epochs, holdout=holdout, max_error=max_error, seed=seed,
                               threads=threads)
            trained = fit_classifier(images, dataset.labels, dataset.classes, config, progress)
    except ImageError as exc:
        _fail(f"training data: {exc}")
    counts = {c: int((dataset.labels == k).sum()) for k, c in enumerate(dataset.classes)}
    save_model(trained, model, data_fingerprint=_data_fingerprint(dataset.paths, dataset.labels, Path(data)),
               extra={"class_counts": counts})
    summary = {"model": str(model), "classes": list(dataset.classes), "images": counts, **trained.metrics}
    typer.echo(json.dumps(summary, indent=1, ensure_ascii=False) if json_out else
               "\n".join(f"{k}: {v}" for k, v in summary.items()))


@inspect_app.command("predict")
def predict(
    images: list[str] = typer.Argument(..., help="Image files"),
    model: Path = typer.Option(..., "--model", help="Model folder written by `zhizao inspect fit`"),
    json_out: bool = typer.Option(False, "--json", help="JSON list on stdout (one object per image, in order)"),
    threads: int = typer.Option(2, min=1, help="CPU threads"),
    reject_threshold: float = typer.Option(None, min=0.0, max=1.0, help="Override the model's reject threshold"),
) -> None:
    """Classify images: label and calibrated confidence; "review": true when below the reject threshold.
    A file that cannot be read gets {"image", "error"} and the others are still classified."""
    from zhizao.apps.inspection.predictor import Classifier, ModelError

    try:
        classifier = Classifier(model, threads=threads, reject_threshold=reject_threshold)
    except ModelError as exc:
        _fail(str(exc))
    results: list[dict[str, Any]] = []
    for path, outcome in zip(images, classifier.predict_files(images), strict=True):
        if isinstance(outcome, str):
            results.append({"image": path, "error": outcome})
            continue
        entry: dict[str, Any] = {"image": path, "label": outcome.label, "confidence": round(outcome.confidence, 6)}
        if outcome.review:
            entry["review"] = True
        results.append(entry)
    if json_out:
        sys.stdout.write(json.dumps(results, ensure_ascii=False) + "\n")
        return
    for entry in results:
        if "error" in entry:
            typer.echo(f"{entry['image']}\tERROR\t{entry['error']}")
        else:
            typer.echo(f"{entry['image']}\t{entry['label']}\t{entry['confidence']:.4f}"
                       + ("\treview" if entry.get("review") else ""))


@anomaly_app.command("fit")
def anomaly_fit(
    good: Path = typer.Option(..., "--good", help="Folder of good images (sub-folders are searched too)"),
    model: Path = typer.Option(..., "--model", help="Anomaly model folder to write"),
    backbone: Path = typer.Option(None, "--backbone", help="A classifier model folder whose features to use "
                                  "(default: fixed random features of the same network)"),
    mode: str = typer.Option("texture", help="texture: defects anywhere on a uniform surface; aligned: "
                             "fixtured parts, one Gaussian per position"),
    size: int = typer.Option(128, min=32, max=512, help="Input size when no backbone is given"),
    quantile: float = typer.Option(0.99, min=0.5, max=1.0, help="Threshold = this quantile of out-of-fold "
                                   "scores of the good images"),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
) -> None:
    """Learn what good looks like from good images only; calibrate the anomaly threshold."""
    from zhizao.apps.inspection.anomaly import fit_anomaly, random_backbone, save_anomaly
    from zhizao.apps.inspection.images import IMAGE_SUFFIXES, ImageError, Preprocessing, load_image
    from zhizao.apps.inspection.predictor import ModelError, read_model_json
    from zhizao.apps.inspection.train import decide_channels, load_network
    from zhizao.ml.registry import fingerprint

    if mode not in ("texture", "aligned"):
        _fail(f"--mode: '{mode}' is not texture or aligned")
    if not good.is_dir():
        _fail(f"--good: '{good}' is not a folder")
    paths = sorted(p for p in good.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if len(paths) < 2:
        _fail(f"--good: '{good}' has {len(paths)} images; at least two are needed")
    try:
        if backbone is not None:
            meta = read_model_json(backbone)
            prep = Preprocessing.from_json(meta["preprocessing"])
            network, backbone_name = load_network(backbone), str(backbone)
        else:
            channels = decide_channels(paths)
            network, backbone_name = random_backbone(channels), "random"
            prep = None
        decode_prep = prep or Preprocessing(size=size, channels=network.stem[0].in_channels)
        import numpy as np

        images = np.stack([load_image(p, decode_prep) for p in paths])
        if prep is None:  # random features: normalise with the good images' own statistics
            prep = Preprocessing(size, decode_prep.channels, tuple(float(images[:, c].mean()) for c in
                                 range(decode_prep.channels)), tuple(max(float(images[:, c].std()), 1e-3)
                                                                     for c in range(decode_prep.channels)))
        fitted = fit_anomaly(images, network, prep, mode=mode, backbone=backbone_name,  # type: ignore[arg-type]
                             quantile=quantile)
    except (ImageError, ModelError, ValueError) as exc:
        _fail(str(exc))
    save_anomaly(fitted, model, data_fingerprint=fingerprint(paths))
    summary = {"model": str(model), "mode": mode, "backbone": backbone_name, **fitted.metrics}
    typer.echo(json.dumps(summary, indent=1) if json_out else "\n".join(f"{k}: {v}" for k, v in summary.items()))


@anomaly_app.command("predict")
def anomaly_predict(
    images: list[str] = typer.Argument(..., help="Image files"),
    model: Path = typer.Option(..., "--model", help="Anomaly model folder"),
    heatmaps: Path = typer.Option(None, "--heatmaps", help="Write <image name>.heat.png here"),
    json_out: bool = typer.Option(False, "--json", help="JSON list on stdout"),
) -> None:
    """Score images: {"image", "score", "threshold", "anomalous"} (+ "heatmap" with --heatmaps)."""
    import numpy as np

    from zhizao.apps.inspection.anomaly import heat_map_png, load_anomaly
    from zhizao.apps.inspection.images import ImageError, load_image
    from zhizao.apps.inspection.predictor import ModelError

    try:
        detector = load_anomaly(model)
    except ModelError as exc:
        _fail(str(exc))
    if heatmaps is not None:
        heatmaps.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for path in images:
        try:
            image = load_image(path, detector.prep)
        except ImageError as exc:
            results.append({"image": path, "error": str(exc)})
            continue
        scores, maps = detector.scores(image[None])
        entry: dict[str, Any] = {"image": path, "score": round(float(scores[0]), 4),
                                 "threshold": round(detector.threshold, 4),
                                 "anomalous": bool(scores[0] > detector.threshold)}
        if heatmaps is not None:
            target = heatmaps / f"{Path(path).stem}.heat.png"
            heat_map_png(np.asarray(image), maps[0], detector.threshold, target)
            entry["heatmap"] = str(target)
        results.append(entry)
    if json_out:
        sys.stdout.write(json.dumps(results, ensure_ascii=False) + "\n")
        return
    for entry in results:
        typer.echo("\t".join(str(v) for v in entry.values()))
