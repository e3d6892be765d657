"""Key parameters, a surrogate and recommended setpoints from batch records; closed-loop search.

The surrogate is a Gaussian process (Matérn 5/2 with one length scale per parameter, plus
noise) on parameters scaled to [0, 1]: it gives the expected outcome and its uncertainty.
Parameter importance is permutation importance on that surrogate. The closed loop asks
Optuna's Gaussian-process sampler (Bayesian optimisation, expected improvement with the
constraints modelled) for the next batch to run, starting from the recorded batches; a
proposal that breaks a limit is moved onto it before it is run, so no batch ever runs outside
the limits. The recommendation is the run setpoint with the best expected outcome (not the
luckiest measurement).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from zhizao.apps.process.model import Importance, ProcessSpec, Recommendation

log = logging.getLogger(__name__)


def _matrix(spec: ProcessSpec, rows: Sequence[dict[str, float]]) -> np.ndarray:
    low = np.array([p.low for p in spec.parameters])
    high = np.array([p.high for p in spec.parameters])
    x = np.array([[row[p.name] for p in spec.parameters] for row in rows], dtype=float)
    return (x - low) / (high - low)


def fit_surrogate(spec: ProcessSpec, rows: Sequence[dict[str, float]]):
    """A Gaussian process of the outcome on the scaled parameters (sklearn regressor)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    dim = len(spec.parameters)
    matern = Matern(length_scale=np.full(dim, 0.5), length_scale_bounds=(0.05, 20.0), nu=2.5)
    kernel = ConstantKernel(1.0, (1e-2, 1e2)) * matern + WhiteKernel(1e-2, (1e-6, 1.0))
    model = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=2, random_state=0)
    y = np.array([row[spec.outcome] for row in rows], dtype=float)
    with warnings.catch_warnings():
        # A parameter without effect drives its length scale to the bound: expected, not a problem.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(_matrix(spec, rows), y)


def surrogate_r2_cv(spec: ProcessSpec, rows: Sequence[dict[str, float]], folds: int = 5) -> float:
    """Cross-validated R² of the surrogate: how far its predictions and importances can be trusted."""
    from sklearn.model_selection import KFold

    rows = list(rows)
    y = np.array([row[spec.outcome] for row in rows])
    predicted = np.empty_like(y)
    for train, test in KFold(min(folds, len(rows)), shuffle=True, random_state=0).split(rows):
        model = fit_surrogate(spec, [rows[i] for i in train])
        predicted[test] = model.predict(_matrix(spec, [rows[i] for i in test]))
    return float(1 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def importance(spec: ProcessSpec, rows: Sequence[dict[str, float]], model=None, repeats: int = 20) -> list[Importance]:
    """Permutation importance of each parameter on the surrogate, most important first."""
    from sklearn.inspection import permutation_importance

    model = model or fit_surrogate(spec, rows)
    y = np.array([row[spec.outcome] for row in rows])
    result = permutation_importance(model, _matrix(spec, rows), y, n_repeats=repeats, random_state=0, scoring="r2")
    out = [Importance(parameter=p.name, importance=float(m), spread=float(s))
           for p, m, s in zip(spec.parameters, result.importances_mean, result.importances_std, strict=True)]
    return sorted(out, key=lambda i: i.importance, reverse=True)


def project(spec: ProcessSpec, values: dict[str, float], rounds: int = 50) -> dict[str, float]:
    """The nearest point (in scaled units, approximately) inside the bounds and the linear limits."""
    names = [p.name for p in spec.parameters]
    low = np.array([p.low for p in spec.parameters])
    high = np.array([p.high for p in spec.parameters])
    x = np.clip(np.array([values[n] for n in names], dtype=float), low, high)
    for _ in range(rounds):
        moved = False
        for c in spec.constraints:
            a = np.array([c.coefficients.get(n, 0.0) for n in names])
            excess = a @ x - c.max
            if excess > 0:
                scale = (high - low) ** 2  # step in scaled units
                x = np.clip(x - excess * scale * a / (a @ (scale * a)) * 1.0001, low, high)
                moved = True
        if not moved:
            break
    return dict(zip(names, map(float, x), strict=True))


def recommend(spec: ProcessSpec, rows: Sequence[dict[str, float]], candidates: Sequence[dict[str, float]],
              evaluations: int) -> Recommendation:
    """Among ``candidates`` (setpoints that were run), the one with the best expected outcome."""
    model = fit_surrogate(spec, rows)
    cand = [c for c in candidates if spec.feasible(c)] or list(candidates)
    mean, std = model.predict(_matrix(spec, cand), return_std=True)
    sign = 1 if spec.direction == "maximize" else -1
    best = int(np.argmax(sign * mean))
    observed = [row[spec.outcome] for row in rows]
    return Recommendation(setpoints={p.name: float(cand[best][p.name]) for p in spec.parameters},
                          predicted=float(mean[best]), predicted_std=float(std[best]), evaluations=evaluations,
                          best_observed=float(max(observed) if sign > 0 else min(observed)))


def recommend_from_records(spec: ProcessSpec, rows: Sequence[dict[str, float]], starts: int = 20,
                           seed: int = 0) -> Recommendation:
    """Setpoints that maximise (or minimise) the surrogate's expected outcome inside the bounds and
    limits, from the records alone (no new batches). Far from the recorded batches the surrogate is
    unsure: its standard deviation says how much, and the closed loop is the way to confirm."""
    from scipy.optimize import minimize

    model = fit_surrogate(spec, rows)
    sign = 1 if spec.direction == "maximize" else -1
    names = [p.name for p in spec.parameters]
    low = np.array([p.low for p in spec.parameters])
    high = np.array([p.high for p in spec.parameters])
    limits = [{"type": "ineq", "fun": (lambda u, c=c: -c.slack(dict(zip(names, low + u * (high - low), strict=True))))}
              for c in spec.constraints]
    rng = np.random.default_rng(seed)
    recorded = _matrix(spec, rows)
    starts_u = [recorded[int(i)] for i in np.argsort(-sign * np.array([r[spec.outcome] for r in rows]))[:starts // 2]]
    starts_u += list(rng.uniform(0, 1, (starts - len(starts_u), len(names))))
    best_u, best_val = None, -np.inf
    for u0 in starts_u:
        res = minimize(lambda u: -sign * model.predict(u[None, :])[0], np.clip(u0, 0, 1), method="SLSQP",
                       bounds=[(0, 1)] * len(names), constraints=limits)
        values = dict(zip(names, low + np.clip(res.x, 0, 1) * (high - low), strict=True))
        if spec.feasible(values) and -res.fun > best_val:
            best_u, best_val = np.clip(res.x, 0, 1), -res.fun
    if best_u is None:
        return recommend(spec, rows, rows, evaluations=0)
    mean, std = model.predict(best_u[None, :], return_std=True)
    observed = [row[spec.outcome] for row in rows]
    return Recommendation(setpoints=dict(zip(names, map(float, low + best_u * (high - low)), strict=True)),
                          predicted=float(mean[0]), predicted_std=float(std[0]), evaluations=0,
                          best_observed=float(max(observed) if sign > 0 else min(observed)))


def optimise(spec: ProcessSpec, history: Sequence[dict[str, float]], run: Callable[[dict[str, float]], float], *,
             budget: int = 30, seed: int = 0, method: str = "bayes",
             progress: Callable[[int, int], None] | None = None) -> Recommendation:
    """Closed loop: run up to ``budget`` new batches chosen by ``method`` ("bayes" or "random"),
    starting from the ``history`` of recorded batches; returns the recommended setpoints."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = {p.name: optuna.distributions.FloatDistribution(p.low, p.high) for p in spec.parameters}

    def recorded(params: dict[str, float], value: float) -> optuna.trial.FrozenTrial:
        """A batch run outside the sampler's asking (a record, or a proposal moved inside the limits)."""
        return optuna.trial.create_trial(params=params, distributions=distributions, value=value,
                                         constraints={c.name: c.slack(params) for c in spec.constraints})

    if method == "bayes":
        sampler = optuna.samplers.GPSampler(seed=seed, n_startup_trials=max(0, 10 - len(history)))
    elif method == "random":
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        raise ValueError(f"method: '{method}' is not 'bayes' or 'random'")
    study = optuna.create_study(direction=spec.direction, sampler=sampler)
    rows = [dict(row) for row in history]
    for row in rows:
        params = {p.name: float(np.clip(row[p.name], p.low, p.high)) for p in spec.parameters}
        study.add_trial(recorded(params, row[spec.outcome]))
    run_points: list[dict[str, float]] = []
    while len(run_points) < budget:
        trial = study.ask(distributions)
        setpoints = project(spec, trial.params)  # never run a batch outside the limits
        outcome = float(run(setpoints))
        run_points.append(setpoints)
        rows.append({**setpoints, spec.outcome: outcome})
        for c in spec.constraints:
            trial.set_constraint(c.name, c.slack(trial.params))
        if setpoints == trial.params:
            study.tell(trial, outcome)
        else:  # record what was actually run instead of the proposal
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            study.add_trial(recorded(setpoints, outcome))
        if progress is not None:
            progress(len(run_points), budget)
    return recommend(spec, rows, run_points or rows, evaluations=len(run_points))
