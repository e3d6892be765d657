"""The simulated plant: a deterministic SimPy model of any plant whose lines have
a ``flow``, publishing to the bus exactly like a connector would.

    sim = PlantSimulator(bus=bus, plant=plant, seed=1, start_ms=...)
    sim.run_until(24 * 3600)            # headless, as fast as possible
    await sim.start(); ...; await sim.stop()   # real time at ``sim.speed``

See ``plant`` for the material flow, ``degradation`` for hidden wear,
``sensors`` for the instruments and ``calendar`` for shifts.
"""

from zhizao.sim.model import REASONS, WEAR_MODES, SimClock, SimError
from zhizao.sim.plant import SimPlant
from zhizao.sim.service import PlantSimulator, run_headless_into_historian

__all__ = ["REASONS", "WEAR_MODES", "PlantSimulator", "SimClock", "SimError", "SimPlant",
           "run_headless_into_historian"]
