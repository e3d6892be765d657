"""Synthetic run-to-failure data in the C-MAPSS text format, for tests that must not need the NASA files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DEGRADING = (1, 2, 3, 6, 10, 12, 14)  # 0-based sensor indices that drift towards failure
CONSTANT = (0, 4, 9, 15, 17, 18)


def synthetic_cmapss(units: int = 12, seed: int = 0, regimes: int = 1, truncate: bool = False,
                     min_life: int = 50, max_life: int = 110) -> tuple[list[str], dict[int, int]]:
    """Rows (text lines) and, per unit, the true RUL after its last row (0 unless ``truncate``)."""
    plant = np.random.default_rng(regimes)  # the same engine design for every seed: train and test agree
    centers = plant.uniform([0, 0.0, 60], [42, 0.84, 100], size=(regimes, 3)) if regimes > 1 \
        else np.array([[0.0, 0.0, 100.0]])
    offsets = plant.normal(0, 20, size=(regimes, 21))
    rng = np.random.default_rng(seed)
    lines, truth = [], {}
    for unit in range(1, units + 1):
        life = int(rng.integers(min_life, max_life + 1))
        observed = int(rng.integers(max(20, life // 3), life)) if truncate else life
        truth[unit] = life - observed
        wear0 = rng.uniform(0, 0.1)
        for cycle in range(1, observed + 1):
            regime = int(rng.integers(regimes))
            settings = centers[regime] + rng.normal(0, 1e-3, 3)
            wear = wear0 + (cycle / life) ** 2
            sensors = 500 + offsets[regime] + rng.normal(0, 0.3, 21)
            for j in DEGRADING:
                sensors[j] += 3.0 * wear
            for j in CONSTANT:
                sensors[j] = 100.0 + j
            values = " ".join(f"{v:.4f}" for v in (*settings, *sensors))
            lines.append(f"{unit} {cycle} {values}")
    return lines, truth


def write_synthetic(path: Path, **kwargs) -> dict[int, int]:
    lines, truth = synthetic_cmapss(**kwargs)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return truth
