"""The ``file`` connector: imports the CSV / Parquet files that appear in a folder.

Every ``poll_s`` seconds the folder is listed; each file matching ``pattern`` that has
not changed for ``settle_s`` seconds is imported (layout, time column and mapping
guessed per file unless the settings fix them) and moved to ``done/`` with a
``<name>.result.json`` beside it (rows, accepted, rejected per cause, first bad rows),
or to ``failed/`` with the reason when it cannot be imported at all. Bad rows are
dead letters of this connector; they never fail a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any, ClassVar

from zhizao.connect.base import Connector
from zhizao.connect.file.config import FileConfig, ImportOptions

log = logging.getLogger(__name__)


class FileConnector(Connector):
    kind = "file"
    config_model = FileConfig
    title: ClassVar[dict[str, str]] = {"en": "File import (watched folder)", "zh": "文件导入（监视文件夹）"}
    config: FileConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.set_state("starting", f"watching {self.folder / self.config.pattern}")
        self._task = asyncio.create_task(self._run(), name=f"zhizao-file-{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.set_state("stopped")

    @property
    def folder(self) -> Path:
        return Path(self.config.path)

    async def _run(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception as exc:  # keep watching: the next look may succeed
                log.exception("file connector %s: scan failed", self.name)
                self.set_state("error", f"scan failed: {exc}")
            await asyncio.sleep(self.config.poll_s)

    async def scan(self) -> list[dict[str, Any]]:
        """Import every settled file in the folder now; returns what each import did."""
        if not self.folder.is_dir():
            self.set_state("disconnected", f"path: folder '{self.folder}' does not exist")
            return []
        self.set_state("connected", f"watching {self.folder / self.config.pattern}")
        now = time.time()
        files = [f for f in self.folder.glob(self.config.pattern) if f.is_file()]
        results = []
        for file in sorted(files, key=lambda f: f.stat().st_mtime):
            if now - file.stat().st_mtime >= self.config.settle_s:
                results.append(await self.import_file(file))
        return results

    def options_for(self, file: Path) -> ImportOptions:
        """The settings over what the preview guesses for this file."""
        from zhizao.connect.file.importer import FileImportError, preview

        cfg = self.config
        guess = preview(file, file.name, self.ctx.plant, cfg.delimiter)
        base = guess["options"] or {}
        fixed = {k: v for k, v in cfg.model_dump(include={
            "time_column", "time_format", "timezone", "tag_column", "value_column", "quality_column", "delimiter",
            "auto_map"}).items() if v is not None}
        if cfg.layout != "auto":
            fixed["layout"] = cfg.layout
        if "time_column" not in base and "time_column" not in fixed:
            raise FileImportError(f"time_column: no time column found in '{file.name}' "
                                  f"(columns: {', '.join(c['name'] for c in guess['columns'])}); set time_column")
        mapping = {**(base.get("mapping", {}) if cfg.auto_map else {}), **cfg.mapping}
        return ImportOptions.model_validate({**base, **fixed, "mapping": mapping})

    async def import_file(self, file: Path) -> dict[str, Any]:
        # pandas and pyarrow load on first use: the connector registry imports every kind
        from zhizao.connect.file.importer import FileImportError, commit

        try:
            options = await asyncio.to_thread(self.options_for, file)
            result = (await commit(file, file.name, options, self.ctx, source=self.name)).as_json()
        except Exception as exc:  # FileImportError, or a full spool: never import the same file twice
            if not isinstance(exc, FileImportError):
                log.exception("file connector %s: importing %s failed", self.name, file.name)
            await self.reject("files_failed", f"{file.name}: {exc}", {"file": file.name})
            report = {"file": file.name, "error": str(exc)}
            await asyncio.to_thread(self._move, file, "failed", report)
            return report
        self.count("files_done")
        self.count("points", result["accepted"])
        for cause, n in result["rejected"].items():
            self.count(cause, n)
        await asyncio.to_thread(self._move, file, "done", result)
        return result

    def _move(self, file: Path, to: str, report: dict[str, Any]) -> None:
        folder = self.folder / to
        folder.mkdir(exist_ok=True)
        target = folder / file.name
        if target.exists():  # the same name imported before: keep both
            target = folder / f"{file.stem}-{time.strftime('%Y%m%d%H%M%S')}{file.suffix}"
        file.rename(target)
        target.with_name(target.name + ".result.json").write_text(
            json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
