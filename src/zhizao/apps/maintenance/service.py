"""The maintenance service: health monitors on live data, model lifecycle, warnings and work orders.

Live path: ``PlantFeed`` routes the bus's instrument readings and state/failure
events to one ``MachineMonitor`` per machine; each closes a window every
``window_min`` simulated minutes and, once it has a model, scores it at once
(health index, contributions, RUL) and raises early warnings. A warning is
published on ``_events/health/<equipment path>``, stored, and (setting
``ZHIZAO_MAINTENANCE_AUTO_WORK_ORDERS``, on by default) opens a work order unless
the machine already has one open. It also raises a ``health`` alarm in the alarm
app (``AlarmService.external``, on the machine's first health sensor, so operators
see it in the alarm list with its ISA-18.2 lifecycle); the alarm returns to normal
when the monitor re-arms after a repair.

Model lifecycle (a background task, never blocking start-up): a machine without a
model is trained as soon as it has ``HealthParams.min_windows`` windows; training
runs in a thread; the result is registered in ``ModelRegistry(<data>/models)``
as kind ``health``, name = equipment id, with metrics, parameters and the
training data's fingerprint, and deployed. A model is retrained when drift is
detected (``MachineMonitor.drift``), when the machine has twice the windows the
model was trained on (so the first models, learnt from a few hours, improve
quickly) and every ``retrain_h`` simulated hours.
Promote/rollback through ``/api/models`` is picked up on the next check.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select

from zhizao.apps.maintenance.diagnosis import FaultClassifier
from zhizao.apps.maintenance.feed import PlantFeed, build_monitors
from zhizao.apps.maintenance.health import HealthModel, NotEnoughData
from zhizao.apps.maintenance.kpi import StatePeriod, machine_kpis
from zhizao.apps.maintenance.model import MachineKpis, WorkOrder, WorkOrderAction, WorkOrderCreate
from zhizao.apps.maintenance.monitor import HOUR_MS, MachineMonitor, MonitorConfig
from zhizao.apps.maintenance.workorders import WorkOrderBook, WorkOrderError
from zhizao.core.context import Context
from zhizao.core.i18n import t
from zhizao.ml.registry import ModelRegistry, RegistryError, fingerprint

log = logging.getLogger(__name__)

MODEL_KIND = "health"
CLASSIFIER_FILE = "fault_classifier.json"
HEALTH_EVENTS = "_events/health/"
ALARM_KIND = "health"


class MaintenanceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHIZAO_MAINTENANCE_", extra="ignore")

    auto_work_orders: bool = True  # a warning opens a work order when the machine has none open
    window_min: float = 10.0  # simulated minutes per scoring window
    retrain_h: float = 24.0  # simulated hours between scheduled retrainings
    check_s: float = 5.0  # wall seconds between lifecycle checks


class MaintenanceService:
    def __init__(self, ctx: Context, settings: MaintenanceSettings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or MaintenanceSettings()
        self.registry = ModelRegistry(ctx.settings.data_dir / "models")
        config = MonitorConfig(window_ms=round(self.settings.window_min * 60_000))
        self.monitors: dict[str, MachineMonitor] = build_monitors(ctx.plant, config)
        self.by_path = {m.path: m for m in self.monitors.values()}
        self.feed = PlantFeed(ctx.plant, self.monitors, self._on_warning)
        self.book = WorkOrderBook(ctx.db)
        self.trained_at: dict[str, int] = {}  # machine -> clock ms of its last training
        self.training: str | None = None
        self._alarm_ids: dict[str, int] = {}  # machine -> its health alarm in the alarm app
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maintenance-db")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop_task: asyncio.Task[None] | None = None

    # ---- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(self._load_deployed)
        self.feed.attach(self.ctx.bus)
        self._loop_task = asyncio.create_task(self._lifecycle(), name="maintenance-lifecycle")

    async def stop(self) -> None:
        self.feed.detach()
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for pending in list(self._tasks):
            with contextlib.suppress(Exception):
                await pending
        self._db.shutdown(wait=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _in_db(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    # ---- model lifecycle -----------------------------------------------------------
    def _read_version(self, machine: str,
                      version: int | None = None) -> tuple[HealthModel, FaultClassifier | None, int]:
        """A registered model of ``machine`` (the deployed one by default), read from its folder."""
        mv = self.registry.get(MODEL_KIND, machine, version)
        model = HealthModel.load(mv.path)
        clf_file = mv.path / CLASSIFIER_FILE
        classifier = FaultClassifier.from_json(json.loads(clf_file.read_text())) if clf_file.exists() else None
        return model, classifier, mv.version

    def _load_deployed(self) -> None:
        for monitor in self.monitors.values():
            if self.registry.deployed(MODEL_KIND, monitor.machine) is not None:
                try:
                    monitor.deploy(*self._read_version(monitor.machine))
                except (RegistryError, OSError, ValueError, KeyError, TypeError) as exc:
                    log.warning("health model of %s not loaded: %s", monitor.machine, exc)

    async def _lifecycle(self) -> None:
        while True:
            await asyncio.sleep(self.settings.check_s)
            try:
                await self.check_models()
            except Exception:  # keep monitoring whatever one training does
                log.exception("maintenance model check failed")

    async def check_models(self) -> list[str]:
        """Sync deployments made through the registry, train what needs it; returns the machines trained."""
        trained = []
        self._clear_alarms()
        now = self.ctx.clock.now_ms()
        for monitor in self.monitors.values():
            deployed = await asyncio.to_thread(self.registry.deployed, MODEL_KIND, monitor.machine)
            if deployed is not None and deployed != monitor.model_version:
                # read in a thread, deploy here: the monitor is only ever changed on the event loop
                monitor.deploy(*await asyncio.to_thread(self._read_version, monitor.machine, deployed))
            reason = self._needs_training(monitor, now)
            if reason is not None:
                if await self.train(monitor.machine, reason) is not None:
                    trained.append(monitor.machine)
        return trained

    def _needs_training(self, monitor: MachineMonitor, now: int) -> str | None:
        if len(monitor.windows) < monitor.health_params.min_windows:
            return None
        if monitor.model is None:
            return "initial"
        if monitor.drift()["drifted"]:
            return "drift"
        if len(monitor.windows) >= 2 * monitor.model.trained_windows:
            return "more_data"  # early on, a model learnt from a few hours improves quickly with more
        last = self.trained_at.get(monitor.machine)
        if last is None:
            self.trained_at[monitor.machine] = now  # loaded at start: the schedule counts from here
        elif now - last >= self.settings.retrain_h * HOUR_MS:
            return "scheduled"
        return None

    async def train(self, machine: str, reason: str = "manual") -> dict[str, Any] | None:
        """Train, register and deploy a machine's model; None if there is too little data."""
        monitor = self.monitor(machine)
        windows = list(monitor.windows)
        self.training = machine
        try:
            result = await asyncio.to_thread(self._train_and_register, monitor, windows, reason)
        except NotEnoughData as exc:
            log.info("health model of %s not trained: %s", machine, exc)
            return None
        finally:
            self.training = None
        model, classifier, version = result
        monitor.deploy(model, classifier, version.version)
        self.trained_at[machine] = self.ctx.clock.now_ms()
        return version.to_json()

    def _train_and_register(self, monitor: MachineMonitor, windows: list, reason: str) -> tuple:
        model, classifier, metrics = monitor.train(windows)
        x, y = HealthModel.matrices(windows, monitor.sensors)
        metrics["trigger"] = reason
        metrics["drift_before"] = monitor.drift()
        params = {**asdict(monitor.health_params), "sensors": list(monitor.sensors),
                  "window_min": self.settings.window_min,
                  "warn_health": monitor.config.warn_health, "critical_health": monitor.config.critical_health,
                  "data_from_ms": windows[0].start_ms, "data_to_ms": windows[-1].end_ms}
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            model.save(folder)
            (folder / CLASSIFIER_FILE).write_text(json.dumps(classifier.to_json()), encoding="utf-8")
            version = self.registry.register(
                MODEL_KIND, monitor.machine, folder, metrics=metrics, params=params,
                data_fingerprint=fingerprint([np.ascontiguousarray(x), np.ascontiguousarray(y)]),
                notes=f"trigger: {reason}", deploy=True)
        return model, classifier, version

    # ---- warnings ------------------------------------------------------------------
    def _on_warning(self, event: dict[str, Any]) -> None:
        self.ctx.bus.publish(HEALTH_EVENTS + event["equipment"], event)
        self._spawn(self._record_warning(event))
        self._spawn(self._raise_alarm(event))

    def _alarm_service(self) -> Any:
        alarms = self.ctx.services.get("alarms")
        return alarms if alarms is not None and hasattr(alarms, "external") else None

    async def _raise_alarm(self, event: dict[str, Any]) -> None:
        """A ``health`` alarm (ISA-18.2 lifecycle in the alarm app) on the machine's first health sensor."""
        alarms = self._alarm_service()
        if alarms is None:
            return
        monitor = self.monitor(event["machine"])
        try:
            if monitor.machine not in self._alarm_ids:
                alarm = await alarms.external(f"{monitor.path}/{monitor.sensors[0]}", ALARM_KIND, "high")
                self._alarm_ids[monitor.machine] = alarm.id
            alarms.set_external(self._alarm_ids[monitor.machine], True, round(event["health"]), event["ts"])
        except Exception:  # the alarm is extra; the warning itself is stored and published already
            log.exception("health alarm of %s not raised", monitor.machine)

    def _clear_alarms(self) -> None:
        """Health alarms return to normal once their machine's monitor has re-armed (after a repair)."""
        alarms = self._alarm_service()
        if alarms is None:
            return
        for machine, alarm_id in self._alarm_ids.items():
            monitor = self.monitors[machine]
            if monitor.phase != "armed" or not monitor.history:
                continue
            with contextlib.suppress(Exception):  # the alarm app's concern; monitoring goes on
                if alarms.get(alarm_id).active:
                    alarms.set_external(alarm_id, False, round(monitor.history[-1].health), monitor.history[-1].ts)

    async def _record_warning(self, event: dict[str, Any]) -> None:
        await self._in_db(self._store_warning, event, self.ctx.clock.now_ms())

    def _store_warning(self, event: dict[str, Any], now_ms: int) -> None:
        """Store the warning and maybe open a work order: one step on the DB thread, so two warnings
        of a machine never both find it without an open order."""
        warning_id = self.book.add_warning(event)
        if not self.settings.auto_work_orders or event["level"] != "warning" or self.book.has_open(event["equipment"]):
            return
        lang = self.ctx.settings.lang
        top = ", ".join(s["sensor"] for s in event["sensors"][:2])
        lead = event.get("lead_time_h")
        req = WorkOrderCreate(
            equipment=event["equipment"], warning_id=warning_id, priority="high",
            title=t("maintenance.wo.auto_title", lang, machine=event["machine"], health=round(event["health"])),
            description=t("maintenance.wo.auto_description", lang, sensors=top,
                          lead="-" if lead is None else f"{lead:.1f}"))
        self.book.create(req, event["equipment"], "system", now_ms, "warning")

    # ---- queries -------------------------------------------------------------------
    def monitor(self, equipment: str) -> MachineMonitor:
        monitor = self.monitors.get(equipment) or self.by_path.get(equipment)
        if monitor is None:
            raise WorkOrderError("equipment", "maintenance.error.no_machine", "not_found", value=equipment,
                                 known=", ".join(self.monitors))
        return monitor

    def _summary(self, m: MachineMonitor) -> dict[str, Any]:
        last = m.history[-1] if m.history else None
        recent = [p for p in m.history if last and p.running_h >= last.running_h - 2.0]
        trend = None
        if len(recent) >= 3 and np.ptp([p.running_h for p in recent]) > 0:
            trend = float(np.polyfit([p.running_h for p in recent], [p.health for p in recent], 1)[0])
        rul = m.rul() if last and last.health < m.config.rearm_health else None
        util = m.utilisation(last.ts) if last else 1.0
        return {
            "machine": m.machine, "equipment": m.path, "sensors": list(m.sensors),
            "state": m.state_now, "reason": m.reason_now, "phase": m.phase,
            "health": last.health if last else None, "d": last.d if last else None,
            "ts": last.ts if last else None,
            "trend_per_h": round(trend, 2) if trend is not None else None,
            "rul_h": rul.to_json() if rul else None,
            "rul_calendar_h": {k: round(getattr(rul, k) / util, 2) for k in ("median", "low", "high")} if rul else None,
            "model_version": m.model_version, "training": self.training == m.machine,
            "windows": len(m.windows), "min_windows": m.health_params.min_windows,
            "top_sensor": max(last.contributions, key=last.contributions.get) if last else None,
        }

    def fleet(self) -> list[dict[str, Any]]:
        """Every monitored machine, highest risk first (lowest health, then shortest RUL)."""
        rows = [self._summary(m) for m in self.monitors.values()]

        def risk(row: dict[str, Any]) -> tuple[float, float]:
            health = row["health"] if row["health"] is not None else 101.0
            rul = row["rul_h"]["median"] if row["rul_h"] else float("inf")
            return (health, rul)

        return sorted(rows, key=risk)

    def machine(self, equipment: str, hours: float = 24.0) -> dict[str, Any]:
        m = self.monitor(equipment)
        summary = self._summary(m)
        last = m.history[-1] if m.history else None
        since = (last.ts if last else 0) - round(hours * HOUR_MS)
        summary["history"] = [p.to_json() for p in m.history if p.ts >= since]
        summary["contributions"] = last.contributions if last else {}
        summary["residuals"] = last.residuals if last else {}
        summary["faults"] = ([{"mode": k, "probability": round(p, 3)} for k, p in m.diagnose(last)[:3]]
                             if last and last.health < m.config.rearm_health else [])
        summary["drift"] = m.drift()
        summary["config"] = {"warn_health": m.config.warn_health, "critical_health": m.config.critical_health}
        summary["failures"] = [{"ts": ts, "mode": mode} for ts, _, mode in m.failures[-20:]]
        return summary

    async def warnings(self, equipment: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        path = self.monitor(equipment).path if equipment else None
        return await self._in_db(self.book.warnings, path, None, limit)

    def _periods(self, path: str, start_ms: int, end_ms: int) -> list[StatePeriod]:
        from zhizao.apps.oee.model import StateInterval

        with self.ctx.db.session() as s:
            rows = s.execute(select(StateInterval.state, StateInterval.reason, StateInterval.start_ms,
                                    StateInterval.end_ms).where(
                StateInterval.equipment == path, StateInterval.start_ms < end_ms,
                (StateInterval.end_ms.is_(None)) | (StateInterval.end_ms > start_ms))).all()
        return [StatePeriod(*row) for row in rows]

    async def kpis(self, hours: float = 24.0 * 7) -> list[MachineKpis]:
        """MTBF, MTTR and unplanned downtime per machine over the last ``hours`` (from the OEE state periods)."""
        oee = self.ctx.services.get("oee")
        if oee is not None and hasattr(oee, "flush"):  # its pending state periods first (thread-safe, never raises)
            await asyncio.to_thread(oee.flush)
        end = self.ctx.clock.now_ms()
        start = end - round(hours * HOUR_MS)
        out = []
        for m in self.monitors.values():
            periods = await self._in_db(self._periods, m.path, start, end)
            out.append(machine_kpis(m.path, periods, start, end))
        return out

    # ---- work orders ---------------------------------------------------------------
    async def create_work_order(self, req: WorkOrderCreate, user: str) -> WorkOrder:
        path = self.monitor(req.equipment).path
        return await self._in_db(self.book.create, req, path, user, self.ctx.clock.now_ms(), "manual")

    async def work_orders(self, state: str | None = None, equipment: str | None = None) -> list[WorkOrder]:
        path = self.monitor(equipment).path if equipment else None
        return await self._in_db(self.book.list, state, path)

    async def work_order(self, wo_id: int) -> WorkOrder:
        return await self._in_db(self.book.get, wo_id)

    async def act(self, wo_id: int, req: WorkOrderAction, user: str) -> WorkOrder:
        """Move a work order on; ``complete`` puts the machine through corrective maintenance first."""
        wo = await self._in_db(self.book.check, wo_id, req.action)
        restore = None
        if req.action == "complete":
            restore = self._restore(wo)
        return await self._in_db(self.book.apply, wo_id, req, user, self.ctx.clock.now_ms(), restore)

    def _restore(self, wo: WorkOrder) -> dict[str, Any] | None:
        sim = self.ctx.services.get("sim")
        if sim is None:
            return None
        from zhizao.sim import SimError

        machine = self.monitor(wo.equipment).machine
        try:
            return sim.start_maintenance(machine, wo.duration_min * 60, "corrective")
        except SimError as exc:
            raise WorkOrderError("equipment", "maintenance.error.machine_busy", "conflict", value=machine,
                                 detail=exc.message(self.ctx.settings.lang)) from None

    async def note(self, wo_id: int, text: str, user: str) -> WorkOrder:
        return await self._in_db(self.book.note, wo_id, text, user, self.ctx.clock.now_ms())

    def status(self) -> dict[str, Any]:
        return {"machines": len(self.monitors), "trained": sum(m.model is not None for m in self.monitors.values()),
                "training": self.training, "auto_work_orders": self.settings.auto_work_orders,
                "window_min": self.settings.window_min}
