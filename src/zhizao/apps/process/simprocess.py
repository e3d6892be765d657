"""A simulated batch process with a hidden optimum, to try optimisers against (injection moulding).

Each seed hides a different optimum and different sensitivities: the yield falls off smoothly
(a rotated quadratic in the exponent, so parameters interact) from 100 % at the optimum; one
parameter (dryer temperature) has no effect at all; an energy limit on melt temperature and hold
time sometimes cuts the optimum off, so the best allowed recipe lies on that limit. Measurements
carry noise; ``true_outcome`` is the noise-free yield, for judging recommendations.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.stats import special_ortho_group

from zhizao.apps.process.model import LinearConstraint, Parameter, ProcessSpec

PARAMETERS = [
    Parameter(name="melt_temp", low=200, high=300, unit="°C", label={"en": "Melt temperature", "zh": "熔体温度"}),
    Parameter(name="injection_pressure", low=40, high=140, unit="MPa",
              label={"en": "Injection pressure", "zh": "注射压力"}),
    Parameter(name="injection_speed", low=20, high=120, unit="mm/s", label={"en": "Injection speed", "zh": "注射速度"}),
    Parameter(name="hold_time", low=2, high=12, unit="s", label={"en": "Holding time", "zh": "保压时间"}),
    Parameter(name="cooling_time", low=8, high=40, unit="s", label={"en": "Cooling time", "zh": "冷却时间"}),
    Parameter(name="dryer_temp", low=60, high=100, unit="°C", label={"en": "Dryer temperature", "zh": "干燥温度"}),
]
NO_EFFECT = "dryer_temp"
NOISE_SD = 0.4  # yield percentage points


class SimulatedProcess:
    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.dim = len(PARAMETERS)
        self.low = np.array([p.low for p in PARAMETERS])
        self.high = np.array([p.high for p in PARAMETERS])
        self.optimum_unit = rng.uniform(0.15, 0.85, self.dim)
        weights = rng.uniform(1.5, 10.0, self.dim)
        weights[[p.name for p in PARAMETERS].index(NO_EFFECT)] = 0.0
        active = weights > 0
        rotation = np.eye(self.dim)
        rotation[np.ix_(active, active)] = special_ortho_group.rvs(int(active.sum()), random_state=rng)
        self.curvature = rotation @ np.diag(weights) @ rotation.T
        self.noise = np.random.default_rng([seed, 1])
        # Energy per shot grows with melt temperature and hold time; the limit cuts off the optimum in
        # about half of the seeds.
        t, h = self.optimum_unit[0], self.optimum_unit[3]
        limit_unit = t + h + rng.uniform(-0.25, 0.35)
        self.limit_unit = limit_unit  # on melt_temp + hold_time, both scaled to [0, 1]
        c_t, c_h = 1 / (self.high[0] - self.low[0]), 1 / (self.high[3] - self.low[3])
        self.spec = ProcessSpec(name="injection moulding (simulated)", parameters=PARAMETERS, outcome="yield",
                                constraints=[LinearConstraint(
                                    name="energy", coefficients={"melt_temp": c_t, "hold_time": c_h},
                                    max=float(limit_unit + c_t * self.low[0] + c_h * self.low[3]))])
        self.evaluations = 0
        self.best_true = self._best_true()

    def _unit(self, values: dict[str, float]) -> np.ndarray:
        x = np.array([values[p.name] for p in PARAMETERS], dtype=float)
        return (x - self.low) / (self.high - self.low)

    def _yield_unit(self, u: np.ndarray) -> float:
        d = u - self.optimum_unit
        return float(100.0 * np.exp(-0.5 * d @ self.curvature @ d))

    def true_outcome(self, values: dict[str, float]) -> float:
        return self._yield_unit(self._unit(values))

    def run(self, values: dict[str, float]) -> float:
        """Make one batch at these setpoints: the measured yield (noisy)."""
        self.evaluations += 1
        return self.true_outcome(values) + float(self.noise.normal(0, NOISE_SD))

    def _best_true(self) -> float:
        """The highest noise-free yield that respects the bounds and the energy limit."""
        c = self.spec.constraints[0]
        names = [p.name for p in PARAMETERS]
        coef = np.array([c.coefficients.get(n, 0.0) for n in names]) * (self.high - self.low)
        rhs = c.max - sum(c.coefficients.get(n, 0.0) * lo for n, lo in zip(names, self.low, strict=True))
        best = -np.inf
        for start in (self.optimum_unit, np.full(self.dim, 0.5), np.full(self.dim, 0.2)):
            res = minimize(lambda u: -self._yield_unit(u), np.clip(start, 0, 1), method="SLSQP",
                           bounds=[(0, 1)] * self.dim,
                           constraints=[{"type": "ineq", "fun": lambda u: rhs - coef @ u}])
            if res.success and rhs - coef @ res.x >= -1e-7:
                best = max(best, -res.fun)
        return float(best)

    def history(self, n: int = 40, seed: int = 0) -> list[dict[str, float]]:
        """Past batches around the current (not optimal) recipe: setpoints and measured yield."""
        rng = np.random.default_rng([seed, 2])
        recipe = rng.uniform(0.2, 0.8, self.dim)
        # The current recipe keeps a margin to the energy limit, as a plant's would.
        excess = recipe[0] + recipe[3] - (self.limit_unit - 0.1)
        if excess > 0:
            recipe[[0, 3]] = np.clip(recipe[[0, 3]] - excess / 2, 0.0, 1.0)
        rows: list[dict[str, float]] = []
        while len(rows) < n:
            u = np.clip(recipe + rng.normal(0, 0.08, self.dim), 0, 1)
            values = dict(zip([p.name for p in PARAMETERS], self.low + u * (self.high - self.low), strict=True))
            if self.spec.feasible(values):
                rows.append({**values, "yield": self.true_outcome(values) + float(rng.normal(0, NOISE_SD))})
        return rows
