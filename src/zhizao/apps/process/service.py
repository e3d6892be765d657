"""The demo process: a simulated injection-moulding process with recorded batches, its analysis and closed loop."""

from __future__ import annotations

import asyncio
from typing import Any

from zhizao.apps.process.model import Analysis
from zhizao.apps.process.optimise import importance, optimise, recommend_from_records, surrogate_r2_cv
from zhizao.apps.process.simprocess import SimulatedProcess
from zhizao.core.context import Context

HISTORY_BATCHES = 40


def analyse(spec, rows) -> Analysis:
    from zhizao.apps.process.optimise import fit_surrogate

    model = fit_surrogate(spec, rows)
    return Analysis(spec=spec, batches=len(rows), surrogate_r2_cv=surrogate_r2_cv(spec, rows),
                    importance=importance(spec, rows, model), recommendation=recommend_from_records(spec, rows))


def closed_loop(seed: int, budget: int, method: str) -> dict[str, Any]:
    """Optimise the simulated process from its records; the trace of true outcomes, and the gap."""
    process = SimulatedProcess(seed)
    history = process.history(HISTORY_BATCHES, seed)
    trace: list[float] = []

    def run(values: dict[str, float]) -> float:
        trace.append(process.true_outcome(values))
        return process.run(values)

    rec = optimise(process.spec, history, run, budget=budget, seed=seed, method=method)
    best_hist = max(process.true_outcome(r) for r in history)
    true = process.true_outcome(rec.setpoints)
    return {"method": method, "seed": seed, "recommendation": rec.model_dump(), "true_outcome": true,
            "optimum": process.best_true, "gap_pct": 100 * (1 - true / process.best_true),
            "best_recorded": best_hist, "trace": trace}


class ProcessService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.seed = ctx.settings.sim_seed
        self.process = SimulatedProcess(self.seed)
        self.history = self.process.history(HISTORY_BATCHES, self.seed)
        self._analysis: Analysis | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def analysis(self) -> Analysis:
        async with self._lock:  # computed once, on first use
            if self._analysis is None:
                self._analysis = await asyncio.to_thread(analyse, self.process.spec, self.history)
        return self._analysis

    async def closed_loop(self, budget: int) -> dict[str, Any]:
        """Bayesian optimisation and random search with the same budget, from the same records."""
        bayes, rand = await asyncio.gather(asyncio.to_thread(closed_loop, self.seed, budget, "bayes"),
                                           asyncio.to_thread(closed_loop, self.seed, budget, "random"))
        return {"bayes": bayes, "random": rand}
