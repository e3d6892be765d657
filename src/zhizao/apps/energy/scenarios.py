"""Load-shifting problems: the stock-preparation example and random variants for the benchmark.

The example is a paper mill's stock preparation: a pulper (315 kW) slushes bales into a pulp chest,
a refiner (400 kW) draws from the pulp chest into the machine chest, and the paper machine takes
a fixed profile from the machine chest (with a two-hour grade change in the afternoon). Figures
are illustrative, of the order of a small board mill.
"""

from __future__ import annotations

import numpy as np

from zhizao.apps.energy.shifting import Buffer, Load, Problem

SLOT_MINUTES = 15
SLOTS = 96


def machine_profile(rate: float, stops: list[tuple[int, int, float]], slots: int = SLOTS) -> tuple[float, ...]:
    """A consumption of ``rate`` per slot, reduced to ``share`` between ``start`` and ``end`` slots."""
    out = [rate] * slots
    for start, end, share in stops:
        for t in range(max(start, 0), min(end, slots)):
            out[t] = round(rate * share, 3)
    return tuple(out)


def stock_preparation(prices: list[float]) -> Problem:
    """The example: pulper -> pulp chest -> refiner -> machine chest -> paper machine."""
    demand = machine_profile(1.8, [(56, 64, 1 / 3)], len(prices))  # grade change 14:00-16:00
    return Problem(
        prices=tuple(prices),
        loads=(
            Load("pulper", 315.0, outputs={"pulp_chest": 6.0}, min_on=4, min_off=2, max_starts=6),
            Load("refiner", 400.0, inputs={"pulp_chest": 3.0}, outputs={"machine_chest": 3.0}, min_on=4,
                 min_off=2, max_starts=6),
        ),
        buffers=(
            Buffer("pulp_chest", low=10.0, high=60.0, initial=30.0),
            Buffer("machine_chest", low=10.0, high=80.0, initial=40.0, demand=demand),
        ),
        slot_minutes=SLOT_MINUTES,
    )


def random_problem(prices: list[float], seed: int) -> Problem:
    """A random variant: a chain (pulper -> chest -> refiner -> chest) or two loads feeding one buffer,
    with random powers, rates, run constraints, buffer sizes (2-7 hours of demand) and machine stops."""
    rng = np.random.default_rng(seed)
    n = len(prices)
    per_slot = SLOT_MINUTES / 60
    demand_rate = round(float(rng.uniform(1.0, 3.0)), 2)
    stops = [(int(s), int(s) + int(rng.integers(2, 12)), round(float(rng.uniform(0.0, 0.6)), 2))
             for s in rng.integers(0, n - 8, size=int(rng.integers(0, 3)))]
    demand = machine_profile(demand_rate, stops, n)
    hours = float(rng.uniform(2.0, 7.0))  # buffer size in hours of demand
    size = round(demand_rate / per_slot * hours, 1)
    low = round(size * 0.1, 1)
    high = round(low + size, 1)

    def runs() -> dict:
        return {"min_on": int(rng.integers(2, 6)), "min_off": int(rng.integers(1, 4)),
                "max_starts": int(rng.integers(6, 15))}

    if rng.random() < 0.5:  # chain
        up_rate = round(demand_rate * float(rng.uniform(2.0, 4.0)), 2)
        mid_rate = round(demand_rate * float(rng.uniform(1.4, 2.2)), 2)
        chest = round(mid_rate / per_slot * float(rng.uniform(1.5, 4.0)), 1)
        loads = (
            Load("pulper", round(float(rng.uniform(150, 400)), 1), outputs={"pulp_chest": up_rate}, **runs()),
            Load("refiner", round(float(rng.uniform(250, 700)), 1), inputs={"pulp_chest": mid_rate},
                 outputs={"machine_chest": mid_rate}, **runs()),
        )
        buffers = (Buffer("pulp_chest", low=round(chest * 0.1, 1), high=round(chest * 1.1, 1),
                          initial=round(chest * 0.6, 1)),
                   Buffer("machine_chest", low=low, high=high, initial=round(low + size * 0.5, 1), demand=demand))
    else:  # two loads feeding one buffer
        loads = tuple(
            Load(name, round(float(rng.uniform(150, 500)), 1),
                 outputs={"machine_chest": round(demand_rate * float(rng.uniform(0.8, 1.6)), 2)}, **runs())
            for name in ("pulper", "refiner"))
        buffers = (Buffer("machine_chest", low=low, high=high, initial=round(low + size * 0.5, 1), demand=demand),)
    return Problem(prices=tuple(prices), loads=loads, buffers=buffers, slot_minutes=SLOT_MINUTES)
