"""Hidden wear: the machine's health and the boring tool's wear.

Machine wear follows the classic P-F curve: it starts small after a repair and
grows exponentially with running time, at a rate drawn for each life of the
component and jittered from sample to sample (it never decreases), so vibration
and temperature creep up for the last two or three hours and the machine fails
when wear reaches 1. Nothing here is published: the sensors show its effects,
and ``status()`` reveals it only for evaluating predictive maintenance.
"""

from __future__ import annotations

import math

import numpy as np

from zhizao.sim.model import FailureProfile

INITIAL_WEAR = (0.01, 0.04)  # right after a repair, depending on the fitter's luck
RATE_JITTER = 0.5  # sigma of the lognormal factor on each step's wear rate


class Health:
    """Wear of the component that will fail next (0 = as new, 1 = failed) and its failure mode."""

    def __init__(self, profile: FailureProfile, rng: np.random.Generator) -> None:
        self.profile = profile
        self.rng = rng
        self.renew()

    def renew(self) -> None:
        """A new or repaired component: low wear, a fresh rate, the mode it will fail by."""
        p = self.profile
        self.wear = float(self.rng.uniform(*INITIAL_WEAR))
        # Expected running hours to failure = -ln(wear0) / rate; spread 25 % between lives.
        life_h = p.life_h * float(self.rng.lognormal(0.0, 0.25))
        self.rate_per_h = -math.log(self.wear) / life_h
        modes, weights = zip(*p.wear_modes, strict=True)
        self.mode: str = modes[int(self.rng.choice(len(modes), p=np.array(weights) / sum(weights)))]

    def advance(self, running_h: float, noise: float) -> None:
        """Grow wear by ``running_h`` hours of running; ``noise`` is a standard normal draw."""
        if running_h > 0:
            jitter = math.exp(RATE_JITTER * noise - RATE_JITTER**2 / 2)  # mean 1
            self.wear = min(self.wear * math.exp(self.rate_per_h * running_h * jitter), 1.0)

    @property
    def worn_out(self) -> bool:
        return self.wear >= 1.0


class BoringTool:
    """The tool that machines the bore: the bore shrinks as its edge wears, until
    the tool-life counter has the tool changer swap in a fresh (sister) tool.

    Scaled to the tolerance: the bore starts a little above nominal and drifts
    down towards the lower limit near the end of the tool's life, so a small
    share of the last parts before a tool change falls out of specification.
    """

    LIFE_PARTS = 400
    START = 0.27  # offset after a tool change, share of the tolerance width above nominal
    DRIFT = 0.64  # bore loss over one tool life, share of the tolerance width
    PROCESS_SIGMA = 1 / 12  # share of the tolerance width (Cp = 2 without wear)

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.change()

    def change(self) -> None:
        self.parts = 0
        self.wear_rate = float(self.rng.lognormal(0.0, 0.1))  # tools differ

    @property
    def wear(self) -> float:
        """Share of the tool's life used (hidden)."""
        return self.parts / self.LIFE_PARTS

    def cut(self, nominal: float, tolerance: float) -> float:
        """Machine one bore; returns its true diameter."""
        offset = self.START - self.DRIFT * self.wear_rate * self.wear
        bore = nominal + tolerance * (offset + self.PROCESS_SIGMA * float(self.rng.standard_normal()))
        self.parts += 1
        if self.parts >= self.LIFE_PARTS:
            self.change()
        return bore
