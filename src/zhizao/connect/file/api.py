"""File import over HTTP: upload and preview, then commit with a mapping and follow its progress.

1. ``POST /api/import/preview`` (multipart, field ``file``): the file is kept under
   ``<data_dir>/imports/<upload_id>/`` and previewed (layout, column types, sample rows,
   time column and format, suggested mapping, and ``options`` ready to commit).
2. ``POST /api/import/commit`` ``{"upload_id", "options", "wait"}``: starts the import
   (or, with ``wait``, runs it to the end) and returns the job.
3. ``GET /api/import/jobs/{id}``: progress, then the result (accepted, rejected per
   cause, the first bad rows with row and column).

An upload is deleted once imported, and after a day if never committed. Engineer role.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from zhizao.api.deps import get_ctx, require_role
from zhizao.connect.file.config import ImportOptions
from zhizao.core.context import Context
from zhizao.security.model import User

router = APIRouter(prefix="/api/import", tags=["import"])

MAX_UPLOAD_BYTES = 1 << 30
UPLOAD_TTL_S = 24 * 3600
KEEP_JOBS = 50
SOURCE_CHARS = 64  # dead-letter source column


@dataclass
class Job:
    id: str
    upload_id: str
    file: str
    state: str = "running"  # running | done | failed
    rows_done: int = 0
    rows_total: int = 0
    started_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    finished_ms: int | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        progress = 1.0 if self.state != "running" else (self.rows_done / self.rows_total if self.rows_total else 0.0)
        return {"id": self.id, "upload_id": self.upload_id, "file": self.file, "state": self.state,
                "rows_done": self.rows_done, "rows_total": self.rows_total, "progress": round(progress, 4),
                "started_ms": self.started_ms, "finished_ms": self.finished_ms, "result": self.result,
                "error": self.error}


class Imports:
    """Uploads waiting to be committed, and import jobs (the latest ``KEEP_JOBS``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs: dict[str, Job] = {}

    def upload_file(self, upload_id: str) -> Path:
        folder = self.root / upload_id if re.fullmatch(r"[0-9a-f]{32}", upload_id) else None
        files = [f for f in folder.iterdir() if f.is_file()] if folder is not None and folder.is_dir() else []
        if not files:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"upload_id: no upload '{upload_id}' (imported already, or expired)")
        return files[0]

    def prune(self) -> None:
        if not self.root.is_dir():
            return
        cutoff = time.time() - UPLOAD_TTL_S
        for folder in self.root.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)

    def add(self, job: Job) -> None:
        self.jobs[job.id] = job
        for old in list(self.jobs)[:-KEEP_JOBS]:
            if self.jobs[old].state != "running":
                del self.jobs[old]


def get_imports(request: Request) -> Imports:
    imports = getattr(request.app.state, "imports", None)
    if imports is None:
        imports = request.app.state.imports = Imports(request.app.state.ctx.settings.data_dir / "imports")
    return imports


def _safe_name(name: str | None) -> str:
    name = Path(name or "").name.strip()
    name = re.sub(r"[^\w.\- ()\[\]]+", "_", name)[:120].lstrip(".")
    return name or "upload.csv"


@router.post("/preview", summary="Upload a CSV or Parquet file and preview it")
async def upload_and_preview(file: UploadFile = File(..., description="CSV or Parquet file"),
                             ctx: Context = Depends(get_ctx), imports: Imports = Depends(get_imports),
                             _: User = Depends(require_role("engineer"))) -> dict[str, Any]:
    """Layout guess (wide or long), columns with inferred types, sample rows, the time column
    and its format, and a suggested mapping of columns (or tag names) to plant tags.

    Times without an offset (``2026-01-05 08:00:00``) are local times of the plant site
    (its ``timezone``; ``naive_times`` says whether the file has any), unless the commit's
    ``options.timezone`` names another zone. Epoch numbers are seconds or milliseconds."""
    from zhizao.connect.file.importer import FileImportError, preview  # pandas loads on first use

    await run_in_threadpool(imports.prune)
    upload_id = uuid.uuid4().hex
    name = _safe_name(file.filename)
    target = imports.root / upload_id / name
    target.parent.mkdir(parents=True)
    size = 0
    with target.open("wb") as out:
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                out.close()
                shutil.rmtree(target.parent, ignore_errors=True)
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                                    f"file: larger than {MAX_UPLOAD_BYTES >> 20} MiB")
            await run_in_threadpool(out.write, chunk)
    try:
        result = await run_in_threadpool(preview, target, name, ctx.plant)
    except FileImportError as exc:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"upload_id": upload_id, "size": size, **result}


class CommitIn(BaseModel):
    upload_id: str = Field(description="from the preview")
    options: ImportOptions
    wait: bool = Field(False, description="answer when the import has finished (else at once, with the job)")


@router.post("/commit", summary="Import an uploaded file with a mapping")
async def commit_upload(body: CommitIn, ctx: Context = Depends(get_ctx), imports: Imports = Depends(get_imports),
                        _: User = Depends(require_role("engineer"))) -> dict[str, Any]:
    """Starts the import and returns the job; follow it at ``/api/import/jobs/{id}``.
    Points are submitted through the ingest service with source ``file:<name>``."""
    from zhizao.connect.file.importer import FileImportError, check_options, commit, read_head

    path = imports.upload_file(body.upload_id)
    if any(j.upload_id == body.upload_id and j.state == "running" for j in imports.jobs.values()):
        raise HTTPException(status.HTTP_409_CONFLICT, f"upload_id: '{body.upload_id}' is being imported already")
    try:
        _, head = await run_in_threadpool(read_head, path, path.name, body.options.delimiter, 1)
    except FileImportError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    problems = check_options(body.options, list(head.frame.columns), ctx.plant)
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "; ".join(problems))

    job = Job(uuid.uuid4().hex, body.upload_id, path.name)

    def progress(done: int, total: int) -> None:
        job.rows_done, job.rows_total = done, total

    async def run() -> None:
        try:
            result = await commit(path, path.name, body.options, ctx, source=f"file:{path.name}"[:SOURCE_CHARS],
                                  progress=progress)
            job.result, job.state = result.as_json(), "done"
            job.rows_done = job.rows_total = result.rows
            await run_in_threadpool(shutil.rmtree, path.parent, True)  # imported: never twice
        except Exception as exc:  # FileImportError, or a store that failed: the job says so
            job.error, job.state = str(exc), "failed"
        finally:
            job.finished_ms = time.time_ns() // 1_000_000

    job.task = asyncio.create_task(run(), name=f"zhizao-import-{job.id}")
    imports.add(job)
    if body.wait:
        await job.task
    return job.as_json()


@router.get("/jobs/{job_id}", summary="Progress and result of an import")
def import_job(job_id: str, imports: Imports = Depends(get_imports),
               _: User = Depends(require_role("engineer"))) -> dict[str, Any]:
    job = imports.jobs.get(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job_id: no import job '{job_id}'")
    return job.as_json()
