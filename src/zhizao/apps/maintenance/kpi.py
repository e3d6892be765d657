"""Reliability KPIs of a machine from its state periods (the OEE app's ``state_intervals``).

Within the period [start, end) (state periods are clipped to it):

- failures: periods ``down`` with a ``failure.<mode>`` reason that start in the period,
- operating hours: time ``running``,
- MTBF = operating hours / failures (mean operating time between failures; None without failures),
- MTTR = mean length of those failure periods (time to restore),
- unplanned downtime: every ``down`` period (failures and minor stops) plus corrective maintenance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zhizao.apps.maintenance.model import MachineKpis

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class StatePeriod:
    state: str
    reason: str | None
    start_ms: int
    end_ms: int | None  # None: still open (counts up to the period's end)


def machine_kpis(equipment: str, periods: Iterable[StatePeriod], start_ms: int, end_ms: int) -> MachineKpis:
    operating = unplanned = corrective = planned = 0
    repairs: list[int] = []
    for p in periods:
        lo, hi = max(p.start_ms, start_ms), min(p.end_ms if p.end_ms is not None else end_ms, end_ms)
        span = max(hi - lo, 0)
        if p.state == "running":
            operating += span
        elif p.state == "down":
            unplanned += span
            if (p.reason or "").startswith("failure.") and start_ms <= p.start_ms < end_ms:
                repairs.append((p.end_ms if p.end_ms is not None else end_ms) - p.start_ms)
        elif p.state == "maintenance":
            if p.reason == "corrective":
                corrective += span
                unplanned += span
            else:
                planned += span
    failures = len(repairs)
    return MachineKpis(
        equipment=equipment, failures=failures, operating_h=round(operating / HOUR_MS, 3),
        mtbf_h=round(operating / HOUR_MS / failures, 3) if failures else None,
        mttr_h=round(sum(repairs) / failures / HOUR_MS, 3) if failures else None,
        unplanned_downtime_h=round(unplanned / HOUR_MS, 3),
        corrective_maintenance_h=round(corrective / HOUR_MS, 3), planned_maintenance_h=round(planned / HOUR_MS, 3))
