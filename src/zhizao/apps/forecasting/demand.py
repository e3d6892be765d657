"""Seeded demo demand histories for the plant's products and spare parts.

The demo plant has no sales history, so the console shows daily demand generated per
item from the plant seed: finished products get a level, a slow trend, a weekly pattern
(weekends low), a yearly swing and noise; spare parts get intermittent demand (a part is
needed on a few days, in small quantities). Same seed and plant, same history.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

WEEK = 7


@dataclass(frozen=True)
class DemandSeries:
    id: str
    name_en: str
    name_zh: str
    kind: str  # "product" or "spare_part"
    values: np.ndarray  # daily quantities, oldest first; the last value is yesterday


def _rng(seed: int, item: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(item.encode())])


def product_demand(item: str, days: int, seed: int) -> np.ndarray:
    rng = _rng(seed, item)
    t = np.arange(days)
    level = rng.uniform(80, 200)
    trend = rng.uniform(-0.1, 0.25) * level / 365
    weekly = np.array([1.05, 1.1, 1.1, 1.05, 1.0, 0.45, 0.25])[(t + rng.integers(WEEK)) % WEEK]
    yearly = 1 + rng.uniform(0.05, 0.2) * np.sin(2 * np.pi * (t / 365.25 + rng.uniform()))
    mean = np.maximum((level + trend * t) * weekly * yearly, 0)
    return rng.poisson(mean * rng.gamma(20, 1 / 20, size=days)).astype(float)


def spare_part_demand(item: str, days: int, seed: int) -> np.ndarray:
    rng = _rng(seed, item)
    occurs = rng.random(days) < rng.uniform(0.05, 0.15)
    return np.where(occurs, 1 + rng.poisson(rng.uniform(0.5, 2.5), size=days), 0).astype(float)


def demo_series(plant, seed: int, days: int = 730) -> list[DemandSeries]:
    """Daily demand of every product and spare part of the plant."""
    out = [DemandSeries(p.id, p.name.en or p.id, p.name.zh or p.name.en or p.id, "product",
                        product_demand(p.id, days, seed)) for p in plant.products]
    out += [DemandSeries(m.id, m.name.en or m.id, m.name.zh or m.name.en or m.id, "spare_part",
                         spare_part_demand(m.id, days, seed)) for m in plant.materials if m.kind == "spare_part"]
    return out
