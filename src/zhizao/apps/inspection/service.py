"""The inspection station: images in, verdicts out, people in the loop.

Images arrive three ways: ``POST /api/inspection/images`` (``submit``), a watched folder
(``ZHIZAO_INSPECTION_WATCH_DIR``: new files are inspected, then moved to ``done/`` or, when not
readable images, to ``rejected/``), and in demo mode the simulated plant's inspection camera: for each
part an inspection machine reports (``_events/part/...``), a steel-like picture is drawn with the
defect the simulator decided (``synthetic``), so the model sees what the plant made.

Each image is classified by the deployed model version (registry kind ``inspection``, name
``ZHIZAO_INSPECTION_MODEL``, default ``station``); confidence below the model's reject threshold
gives verdict ``review``. When the model has a good class ("ok", ...) and an anomaly detector was
fitted on its good images, a heat map is stored too. Every result is stored (image file, verdict,
label, confidence, model version, part/batch/order/line/time) and published on
``_events/inspection/<station>`` for SPC and others.

People review: confirming or overruling stores their label and copies the image into the training
set (``<data>/inspection/training/<label>/``); ``retrain`` fits a new version on that set and
registers it (not deployed: an engineer promotes it, and can roll back).

In demo mode with no model yet, a first model is trained in a background thread on synthetic
pictures (the platform starts at once; until the model exists, camera parts are counted as dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, select

from zhizao.apps.inspection.model import (
    InspectionResult,
    InspectionStats,
    ParetoRow,
    ResultOut,
    is_good_label,
)
from zhizao.core.context import Context
from zhizao.ml.registry import ModelRegistry, RegistryError

log = logging.getLogger(__name__)

KIND = "inspection"
PART_PREFIX = "_events/part/"
EVENT_PREFIX = "_events/inspection/"
DEMO_IMAGES_PER_CLASS = 60
DEMO_EPOCHS = 20
IMAGE_SIZE = 128


class InspectionSettings(BaseSettings):
    """``ZHIZAO_INSPECTION_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="ZHIZAO_INSPECTION_", extra="ignore")
    model: str = "station"  # registry name of the station's classifier
    watch_dir: Path | None = None
    watch_station: str = "watched-folder"
    watch_interval_s: float = 2.0
    keep_images: int = 20_000  # older image files are deleted (their results stay)
    demo_camera: bool = True  # in demo mode, draw a picture per part of each inspection machine
    image_size: int = IMAGE_SIZE  # network input of the models the station trains


class InspectionError(ValueError):
    """A refused request; ``key`` is the i18n message, ``params`` fill it in."""

    def __init__(self, key: str, status: int = 422, **params: object) -> None:
        self.key, self.status, self.params = key, status, params
        super().__init__(f"{key} {params}")


@dataclass
class _Loaded:
    version: int
    classifier: Any  # predictor.Classifier
    detector: Any | None  # anomaly.AnomalyModel fitted on the good class


class InspectionService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.settings = InspectionSettings()
        self.root = Path(ctx.settings.data_dir) / "inspection"
        self.registry = ModelRegistry(Path(ctx.settings.data_dir) / "models")
        self.model_name = self.settings.model
        self._loaded: _Loaded | None = None
        self._infer_lock = threading.Lock()
        self._tasks: list[asyncio.Task] = []
        self._cameras: list[Any] = []  # bus subscriptions to the inspection machines' parts
        self.dropped = 0
        self.rejected_files = 0
        self.training: dict[str, Any] = {"state": "idle"}
        self._stored_images = 0

    # ---- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        for folder in ("images", "heatmaps", "training"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        with self.ctx.db.session() as s:
            self._stored_images = s.scalar(select(func.count()).where(InspectionResult.image_path.is_not(None))) or 0
        await asyncio.to_thread(self._load_deployed)
        if self.ctx.settings.demo and self.settings.demo_camera:
            for eq in self.ctx.plant.equipment_by_id().values():
                if eq.kind == "inspection":
                    subscription = self.ctx.bus.subscribe(PART_PREFIX + eq.path, maxsize=1000)
                    self._cameras.append(subscription)
                    self._tasks.append(asyncio.create_task(self._camera_loop(subscription, eq.path)))
            if self._loaded is None:
                self.retrain_async(bootstrap=True)
        if self.settings.watch_dir is not None:
            self._tasks.append(asyncio.create_task(self._watch_loop(Path(self.settings.watch_dir))))

    async def stop(self) -> None:
        for subscription in self._cameras:
            subscription.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    # ---- models ------------------------------------------------------------------
    def _load_deployed(self) -> None:
        from zhizao.apps.inspection.predictor import Classifier

        try:
            version = self.registry.get(KIND, self.model_name)
        except RegistryError:
            self._loaded = None
            return
        detector = None
        if (version.path / "anomaly" / "anomaly.json").exists():
            from zhizao.apps.inspection.anomaly import load_anomaly

            detector = load_anomaly(version.path / "anomaly")
        loaded = _Loaded(version.version, Classifier(version.path), detector)
        with self._infer_lock:
            self._loaded = loaded

    def model_info(self) -> dict[str, Any]:
        try:
            versions = self.registry.versions(KIND, self.model_name)
            history = self.registry.history(KIND, self.model_name)
            deployed = self.registry.deployed(KIND, self.model_name)
        except RegistryError:
            versions, history, deployed = [], [], None
        loaded = self._loaded
        return {"name": self.model_name, "deployed": deployed, "history": history, "training": dict(self.training),
                "classes": loaded.classifier.classes if loaded else [],
                "reject_threshold": loaded.classifier.threshold if loaded else None,
                "versions": [{"version": v.version, "created_ms": v.created_ms, "metrics": v.metrics,
                              "params": v.params, "data_fingerprint": v.data_fingerprint, "notes": v.notes}
                             for v in versions]}

    async def promote(self, version: int) -> dict[str, Any]:
        try:
            self.registry.promote(KIND, self.model_name, version)
        except RegistryError as exc:
            raise InspectionError("inspection.error.registry", 404, detail=str(exc)) from None
        await asyncio.to_thread(self._load_deployed)
        return self.model_info()

    async def rollback(self) -> dict[str, Any]:
        try:
            self.registry.rollback(KIND, self.model_name)
        except RegistryError as exc:
            raise InspectionError("inspection.error.registry", 409, detail=str(exc)) from None
        await asyncio.to_thread(self._load_deployed)
        return self.model_info()

    def retrain_async(self, *, bootstrap: bool = False, epochs: int | None = None) -> dict[str, Any]:
        """Start training on the training set in a thread; ``bootstrap`` first draws a synthetic set."""
        if self.training.get("state") == "running":
            raise InspectionError("inspection.error.training_running", 409)
        self.training = {"state": "running", "started_ms": int(time.time() * 1000), "progress": 0.0,
                         "bootstrap": bootstrap}
        thread = threading.Thread(target=self._retrain, args=(bootstrap, epochs), name="inspection-train",
                                  daemon=True)
        thread.start()
        return dict(self.training)

    def _retrain(self, bootstrap: bool, epochs: int | None) -> None:
        try:
            self.training["version"] = self.train_now(bootstrap=bootstrap, epochs=epochs)
            self.training["state"] = "done"
        except Exception as exc:  # reported in the API, the station keeps its model
            log.exception("inspection training failed")
            self.training.update(state="failed", detail=str(exc))
        self.training["finished_ms"] = int(time.time() * 1000)

    def train_now(self, *, bootstrap: bool = False, epochs: int | None = None) -> int:
        """Fit on ``<data>/inspection/training`` and register a version (deployed when it is the first,
        or when bootstrapping). Blocking; returns the version."""
        import tempfile

        import numpy as np

        from zhizao.apps.inspection.anomaly import fit_anomaly, save_anomaly
        from zhizao.apps.inspection.images import scan_folder
        from zhizao.apps.inspection.synthetic import write_dataset
        from zhizao.apps.inspection.train import FitConfig, decode_dataset, fit_classifier, save_model
        from zhizao.ml.registry import fingerprint

        training_dir = self.root / "training"
        if bootstrap and not any(training_dir.glob("*/*")):
            write_dataset(training_dir, DEMO_IMAGES_PER_CLASS, seed=7, size=IMAGE_SIZE)
        size = self.settings.image_size
        dataset = scan_folder(training_dir)

        def progress(stage: str, fraction: float) -> None:
            self.training.update(stage=stage, progress=round(fraction, 3))

        images, _ = decode_dataset(dataset, size, progress)
        config = FitConfig(size=size, epochs=epochs or (DEMO_EPOCHS if bootstrap else 20), threads=1)
        trained = fit_classifier(images, dataset.labels, dataset.classes, config, progress)
        data_print = fingerprint(item for p, k in zip(dataset.paths, dataset.labels, strict=True)
                                 for item in (f"{p.relative_to(training_dir)}:{int(k)}", p))
        with tempfile.TemporaryDirectory(dir=self.root) as tmp:
            folder = save_model(trained, Path(tmp) / "model", data_fingerprint=data_print)
            good = [k for k, c in enumerate(dataset.classes) if is_good_label(c)]
            if good:
                mask = np.isin(dataset.labels, good)
                if mask.sum() >= 4:
                    detector = fit_anomaly(images[mask], trained.network, trained.prep, backbone="classifier")
                    save_anomaly(detector, folder / "anomaly")
            first = self.registry.deployed(KIND, self.model_name) is None
            version = self.registry.register(
                KIND, self.model_name, folder, metrics=trained.metrics,
                params={"epochs": config.epochs, "size": size, "classes": list(dataset.classes)},
                data_fingerprint=data_print, notes="synthetic demo images" if bootstrap else "retrained with reviews",
                deploy=bootstrap or first)
        if bootstrap or first:
            self._load_deployed()
        return version.version

    # ---- inspecting -----------------------------------------------------------------
    def inspect_bytes(self, data: bytes, *, source: str, station: str, suffix: str = ".png",
                      part: str | None = None, batch: str | None = None, order: str | None = None,
                      product: str | None = None, line: str | None = None, ts: int | None = None) -> ResultOut:
        """Classify one image (blocking: call from a thread), store and publish the result."""
        from zhizao.apps.inspection.anomaly import heat_map_png
        from zhizao.apps.inspection.images import ImageError, load_image

        loaded = self._loaded
        if loaded is None:
            raise InspectionError("inspection.error.no_model", 503)
        try:
            image = load_image(data, loaded.classifier.prep)
        except ImageError as exc:
            self.rejected_files += 1
            raise InspectionError("inspection.error.bad_image", 422, detail=str(exc)) from None
        with self._infer_lock:
            prediction = loaded.classifier.predict_arrays(image[None])[0]
            score_map = anomaly_score = None
            if loaded.detector is not None:
                scores, maps = loaded.detector.scores(image[None])
                anomaly_score, score_map = float(scores[0]), maps[0]
        ts = ts if ts is not None else self.ctx.clock.now_ms()
        image_id = uuid.uuid4().hex
        day = time.strftime("%Y%m%d", time.gmtime(ts / 1000))
        relative = Path("images") / day / f"{image_id}{suffix.lower() if suffix else '.png'}"
        (self.root / relative).parent.mkdir(parents=True, exist_ok=True)
        (self.root / relative).write_bytes(data)
        heat_relative = None
        if score_map is not None and loaded.detector is not None:
            heat_relative = Path("heatmaps") / day / f"{image_id}.png"
            (self.root / heat_relative).parent.mkdir(parents=True, exist_ok=True)
            heat_map_png(image, score_map, loaded.detector.threshold, self.root / heat_relative)
        verdict = "review" if prediction.review else ("pass" if is_good_label(prediction.label) else "fail")
        row = InspectionResult(ts_ms=ts, station=station, source=source, image_id=image_id,
                               image_path=str(relative), heatmap_path=str(heat_relative) if heat_relative else None,
                               label=prediction.label, confidence=prediction.confidence, verdict=verdict,
                               anomaly_score=anomaly_score, model_version=loaded.version, part=part, batch=batch,
                               order=order, product=product, line=line)
        with self.ctx.db.session() as s:
            s.add(row)
            s.commit()
        self._stored_images += 1
        if self._stored_images > self.settings.keep_images * 1.1:
            self._prune_images()
        self.ctx.bus.publish(EVENT_PREFIX + station, {
            "ts": ts, "station": station, "image_id": image_id, "label": prediction.label,
            "confidence": round(prediction.confidence, 6), "verdict": verdict, "part": part, "batch": batch,
            "order": order, "model_version": loaded.version})
        return to_out(row)

    def _prune_images(self) -> None:
        """Delete the oldest image files beyond ``keep_images`` (their results stay, without a picture)."""
        with self.ctx.db.session() as s:
            rows = s.scalars(select(InspectionResult).where(InspectionResult.image_path.is_not(None))
                             .where(InspectionResult.reviewed_ms.is_not(None) | (InspectionResult.verdict != "review"))
                             .order_by(InspectionResult.id)
                             .limit(max(0, self._stored_images - self.settings.keep_images))).all()
            for row in rows:
                for rel in (row.image_path, row.heatmap_path):
                    if rel:
                        (self.root / rel).unlink(missing_ok=True)
                row.image_path = row.heatmap_path = None
            s.commit()
        self._stored_images -= len(rows)

    async def submit(self, data: bytes, **trace: Any) -> ResultOut:
        return await asyncio.to_thread(self.inspect_bytes, data, **trace)

    async def _camera_loop(self, subscription: Any, station: str) -> None:
        import io

        import numpy as np
        from PIL import Image

        from zhizao.apps.inspection.synthetic import SIM_DEFECT_TO_KIND, make_image

        rng = np.random.default_rng(self.ctx.settings.sim_seed)

        def draw(kind: str) -> bytes:
            buffer = io.BytesIO()
            Image.fromarray(make_image(kind, rng, IMAGE_SIZE)[0]).save(buffer, format="PNG")
            return buffer.getvalue()

        async for msg in subscription:
            if self._loaded is None or subscription.queue.qsize() > 500:
                self.dropped += 1  # no model yet, or the station cannot keep up
                continue
            event = msg.payload
            kind = "ok" if event.get("good", True) else SIM_DEFECT_TO_KIND.get(event.get("defect") or "", "patch")
            picture = await asyncio.to_thread(draw, kind)
            order = event.get("order")
            line = "/".join(station.split("/")[:4])
            try:
                await self.submit(picture, source="camera", station=station,
                                  part=f"{order}-{event.get('ts')}", batch=order, order=order,
                                  product=event.get("product"), line=line,
                                  ts=event.get("ts"))
            except InspectionError:
                self.dropped += 1
            except Exception:
                log.exception("inspection camera: a part could not be inspected")
                self.dropped += 1

    async def _watch_loop(self, folder: Path) -> None:
        from zhizao.apps.inspection.images import IMAGE_SUFFIXES

        for sub in ("done", "rejected"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        while True:
            settled = time.time() - 1.0  # a file still being written is left for the next round
            files = sorted(p for p in folder.iterdir()
                           if p.is_file() and not p.name.startswith(".") and p.stat().st_mtime < settled)
            for path in files:
                if self._loaded is None:
                    break
                target = "rejected"
                try:
                    if path.suffix.lower() in IMAGE_SUFFIXES:
                        await self.submit(path.read_bytes(), source="folder", station=self.settings.watch_station,
                                          suffix=path.suffix, part=path.stem)
                        target = "done"
                    else:
                        self.rejected_files += 1
                except InspectionError:
                    pass
                except Exception:
                    log.exception("inspection: watched file %s failed", path)
                with contextlib.suppress(OSError):
                    shutil.move(str(path), folder / target / path.name)
            await asyncio.sleep(self.settings.watch_interval_s)

    # ---- results, review, figures ----------------------------------------------------------
    def results(self, *, limit: int = 50, pending_review: bool = False, verdict: str | None = None) -> list[ResultOut]:
        query = select(InspectionResult).order_by(InspectionResult.id.desc()).limit(limit)
        if pending_review:
            query = query.where(InspectionResult.verdict == "review", InspectionResult.reviewed_ms.is_(None))
        if verdict:
            query = query.where(InspectionResult.verdict == verdict)
        with self.ctx.db.session() as s:
            return [to_out(r) for r in s.scalars(query).all()]

    def get(self, result_id: int) -> InspectionResult:
        with self.ctx.db.session() as s:
            row = s.get(InspectionResult, result_id)
        if row is None:
            raise InspectionError("inspection.error.no_result", 404, id=result_id)
        return row

    def file_of(self, result_id: int, which: str) -> Path:
        row = self.get(result_id)
        rel = row.image_path if which == "image" else row.heatmap_path
        if not rel or not (self.root / rel).is_file():
            raise InspectionError("inspection.error.no_file", 404, id=result_id)
        return self.root / rel

    def review(self, result_id: int, label: str, user: str) -> ResultOut:
        """A person's label for a result (confirm = the model's label, overrule = another class);
        the image joins the training set under that label."""
        loaded = self._loaded
        classes = loaded.classifier.classes if loaded else []
        label = label.strip()
        if not label or (classes and label not in classes):
            raise InspectionError("inspection.error.bad_label", 422, label=label, classes=", ".join(classes))
        with self.ctx.db.session() as s:
            row = s.get(InspectionResult, result_id)
            if row is None:
                raise InspectionError("inspection.error.no_result", 404, id=result_id)
            row.reviewed_label, row.reviewed_by, row.reviewed_ms = label, user, self.ctx.clock.now_ms()
            s.commit()
            if row.image_path and (self.root / row.image_path).is_file():
                target = self.root / "training" / label / f"review_{row.image_id}{Path(row.image_path).suffix}"
                target.parent.mkdir(parents=True, exist_ok=True)
                for other in (self.root / "training").glob(f"*/review_{row.image_id}.*"):
                    other.unlink()  # a second review moves the image to its new label
                shutil.copyfile(self.root / row.image_path, target)
            return to_out(row)

    def stats(self, start: int | None = None, end: int | None = None, station: str | None = None) -> InspectionStats:
        end = end if end is not None else self.ctx.clock.now_ms() + 1
        start = start if start is not None else end - 8 * 3_600_000
        query = select(InspectionResult.part, InspectionResult.verdict, InspectionResult.label,
                       InspectionResult.reviewed_label).where(InspectionResult.ts_ms >= start,
                                                              InspectionResult.ts_ms < end)
        if station:
            query = query.where(InspectionResult.station.startswith(station))
        with self.ctx.db.session() as s:
            rows = s.execute(query.order_by(InspectionResult.ts_ms, InspectionResult.id)).all()
        passed = failed = pending = 0
        first_seen: dict[str, bool] = {}
        defects: dict[str, int] = {}
        for part, verdict, label, reviewed in rows:
            final = reviewed or label
            if reviewed is None and verdict == "review":
                pending += 1
                decision = None
            else:
                decision = is_good_label(final)
                passed += decision
                failed += not decision
                if not decision:
                    defects[final] = defects.get(final, 0) + 1
            key = part or f"#{len(first_seen)}"
            if decision is not None and key not in first_seen:
                first_seen[key] = decision
        pareto, cumulative, total = [], 0, sum(defects.values())
        for label, count in sorted(defects.items(), key=lambda kv: (-kv[1], kv[0])):
            cumulative += count
            pareto.append(ParetoRow(label=label, count=count, share=count / total, cumulative=cumulative / total))
        loaded = self._loaded
        return InspectionStats(
            start=start, end=end, inspected=len(rows), passed=passed, failed=failed, pending_review=pending,
            first_pass_yield=sum(first_seen.values()) / len(first_seen) if first_seen else None,
            quality=passed / (passed + failed) if passed + failed else None, pareto=pareto,
            model_version=loaded.version if loaded else None,
            model_classes=loaded.classifier.classes if loaded else [],
            reject_threshold=loaded.classifier.threshold if loaded else None,
            dropped_images=self.dropped, rejected_files=self.rejected_files)


def to_out(row: InspectionResult) -> ResultOut:
    final_label = row.reviewed_label or row.label
    if row.reviewed_label is None and row.verdict == "review":
        final_verdict = "review"
    else:
        final_verdict = "pass" if is_good_label(final_label) else "fail"
    return ResultOut(id=row.id, ts=row.ts_ms, station=row.station, source=row.source, image_id=row.image_id,
                     label=row.label, confidence=row.confidence, verdict=row.verdict, final_label=final_label,
                     final_verdict=final_verdict, anomaly_score=row.anomaly_score, model_version=row.model_version,
                     part=row.part, batch=row.batch, order=row.order, product=row.product, line=row.line,
                     reviewed_label=row.reviewed_label, reviewed_by=row.reviewed_by, reviewed_ms=row.reviewed_ms,
                     has_image=row.image_path is not None, has_heatmap=row.heatmap_path is not None)
