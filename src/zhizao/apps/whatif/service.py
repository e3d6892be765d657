"""What-if runs in the background: one at a time, progress while running, results kept on disk."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from zhizao.apps.whatif.engine import apply, compare
from zhizao.apps.whatif.model import RunSettings, Scenario
from zhizao.core.context import Context

log = logging.getLogger(__name__)
KEEP_RUNS = 50


class WhatIfBusy(RuntimeError):
    """Another what-if run is under way."""


class WhatIfService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.folder = ctx.settings.data_dir / "whatif"
        self.runs: dict[str, dict[str, Any]] = {}
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for file in sorted(self.folder.glob("*.json"), key=lambda f: f.stat().st_mtime)[-KEEP_RUNS:]:
            run = json.loads(file.read_text(encoding="utf-8"))
            self.runs[run["id"]] = run

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()  # the worker processes finish their replication and are dropped

    def submit(self, scenario: Scenario, settings: RunSettings, user: str) -> dict[str, Any]:
        """Start a comparison; raises ScenarioError for a scenario that does not fit, WhatIfBusy while one runs."""
        apply(self.ctx.plant, scenario)
        if self._task is not None and not self._task.done():
            raise WhatIfBusy()
        run_id = uuid.uuid4().hex[:12]
        run = {"id": run_id, "status": "running", "done": 0, "total": 2 * settings.replications,
               "scenario": scenario.model_dump(mode="json"), "settings": settings.model_dump(),
               "user": user, "started_ms": self.ctx.clock.now_ms(), "result": None, "error": None}
        self.runs[run_id] = run
        self._task = asyncio.get_running_loop().create_task(self._run(run, scenario, settings))
        return run

    async def _run(self, run: dict[str, Any], scenario: Scenario, settings: RunSettings) -> None:
        def progress(done: int, total: int) -> None:
            run["done"] = done

        try:
            result = await asyncio.to_thread(compare, self.ctx.plant, scenario, settings, progress=progress)
            run.update(status="done", result=result.model_dump(mode="json"))
        except Exception as exc:  # a failed run is reported, the platform goes on
            log.exception("what-if run %s failed", run["id"])
            run.update(status="failed", error=str(exc))
        (self.folder / f"{run['id']}.json").write_text(json.dumps(run, ensure_ascii=False), encoding="utf-8")

    def options(self) -> dict[str, Any]:
        """What a scenario can change, with the values as modelled."""
        from zhizao.sim.plant import ORDER_LOAD, PM_DURATION_MIN, PM_INTERVAL_H

        plant = self.ctx.plant
        equipment = plant.equipment_by_id()
        flow = [equipment[eq_id] for *_, line in plant.iter_lines() for eq_id in line.flow]
        return {
            "machines": [{"id": eq.id, "name": eq.name.model_dump(), "kind": eq.kind}
                         for eq in flow if eq.kind != "buffer"],
            "buffers": [{"id": eq.id, "name": eq.name.model_dump(), "capacity": eq.capacity}
                        for eq in flow if eq.kind == "buffer"],
            "shifts": [s.model_dump() for s in plant.shifts],
            "pm_interval_h": PM_INTERVAL_H, "pm_duration_min": PM_DURATION_MIN, "order_load": ORDER_LOAD,
        }

    def list_runs(self) -> list[dict[str, Any]]:
        return sorted(({k: v for k, v in run.items() if k != "result"} for run in self.runs.values()),
                      key=lambda r: r["started_ms"], reverse=True)
