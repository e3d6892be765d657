"""Procedural steel-like surface pictures with known defects (and their masks).

Used by the demo plant's inspection camera (one picture per inspected part; the defect drawn matches
the simulator's defect code), by the tests (tiny labelled data sets), and by the localisation
benchmark (defects pasted on real good images, so the mask is known). Nothing is copied from a data set.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

DEFECT_KINDS = ("scratch", "pitted", "crack", "patch")
CLASSES = ("ok", *DEFECT_KINDS)
# The simulator's defect codes (zhizao.sim.model) → what the camera sees.
SIM_DEFECT_TO_KIND = {"leak": "pitted", "porosity": "pitted", "bore_out_of_spec": "scratch", "surface": "scratch",
                      "crack": "crack"}


def texture(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """Rolled-steel-like background in [0, 1]: streaks along the rolling direction over fine grain."""
    streaks = ndimage.gaussian_filter(rng.standard_normal((size, size)), sigma=(0.6, 6.0))
    grain = ndimage.gaussian_filter(rng.standard_normal((size, size)), sigma=1.0)
    shading = np.linspace(-1, 1, size)[None, :] * rng.uniform(-0.05, 0.05)
    base = 0.5 + rng.uniform(-0.05, 0.05) + 0.5 * streaks / (streaks.std() + 1e-6) * 0.06 \
        + grain / (grain.std() + 1e-6) * 0.03 + shading
    return np.clip(base, 0, 1)


def _line_mask(size: int, points: np.ndarray, width: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    mask = np.zeros((size, size), bool)
    for (y0, x0), (y1, x1) in zip(points[:-1], points[1:], strict=True):
        d = np.array([y1 - y0, x1 - x0], float)
        length = max(np.hypot(*d), 1e-6)
        t = np.clip(((yy - y0) * d[0] + (xx - x0) * d[1]) / length**2, 0, 1)
        dist = np.hypot(yy - (y0 + t * d[0]), xx - (x0 + t * d[1]))
        mask |= dist <= width
    return mask


def defect_mask(kind: str, rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """Where a defect of ``kind`` is, as a boolean mask."""
    s = size
    if kind == "scratch":
        angle = rng.uniform(0, np.pi)
        centre = rng.uniform(0.3 * s, 0.7 * s, 2)
        half = rng.uniform(0.2, 0.45) * s
        d = np.array([np.sin(angle), np.cos(angle)]) * half
        return _line_mask(s, np.array([centre - d, centre + d]), rng.uniform(0.8, 1.8) * s / 128)
    if kind == "pitted":
        yy, xx = np.mgrid[0:s, 0:s]
        mask = np.zeros((s, s), bool)
        centre = rng.uniform(0.25 * s, 0.75 * s, 2)
        for _ in range(rng.integers(4, 12)):
            c = centre + rng.normal(0, 0.12 * s, 2)
            mask |= np.hypot(yy - c[0], xx - c[1]) <= rng.uniform(1.5, 3.5) * s / 128
        return mask
    if kind == "crack":
        steps = rng.integers(6, 12)
        start = rng.uniform(0.2 * s, 0.8 * s, 2)
        heading = rng.uniform(0, 2 * np.pi)
        points = [start]
        for _ in range(steps):
            heading += rng.normal(0, 0.5)
            points.append(np.clip(points[-1] + 0.06 * s * np.array([np.sin(heading), np.cos(heading)]), 0, s - 1))
        return _line_mask(s, np.array(points), 0.9 * s / 128)
    if kind == "patch":
        yy, xx = np.mgrid[0:s, 0:s]
        c = rng.uniform(0.3 * s, 0.7 * s, 2)
        radii = rng.uniform(0.08, 0.2, 2) * s
        blob = ((yy - c[0]) / radii[0]) ** 2 + ((xx - c[1]) / radii[1]) ** 2
        wobble = ndimage.gaussian_filter(rng.standard_normal((s, s)), 4) * 4
        return blob + wobble <= 1
    raise ValueError(f"kind: unknown defect '{kind}' (one of {', '.join(DEFECT_KINDS)})")


def paint_defect(image: np.ndarray, mask: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Darken (or, for scratches, sometimes brighten) the masked area with soft edges."""
    soft = ndimage.gaussian_filter(mask.astype(float), 0.8 if kind != "patch" else 3.0)
    soft = np.clip(soft / max(soft.max(), 1e-6), 0, 1)
    strength = {"scratch": rng.choice([-1, 1]) * rng.uniform(0.3, 0.45), "pitted": -rng.uniform(0.35, 0.5),
                "crack": -rng.uniform(0.35, 0.5), "patch": -rng.uniform(0.2, 0.3)}[kind]
    return np.clip(image + strength * soft, 0, 1)


def make_image(kind: str, rng: np.random.Generator, size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """A picture (uint8, size x size) and its defect mask (all False for "ok")."""
    image = texture(rng, size)
    mask = np.zeros((size, size), bool)
    if kind != "ok":
        mask = defect_mask(kind, rng, size)
        image = paint_defect(image, mask, kind, rng)
    return (image * 255).round().astype(np.uint8), mask


def write_dataset(root, per_class: int, seed: int = 0, size: int = 96, classes: tuple[str, ...] = CLASSES) -> None:
    """``root/<class>/<n>.png`` for a labelled folder (tests, the demo model's first training)."""
    from pathlib import Path

    from PIL import Image

    rng = np.random.default_rng(seed)
    for kind in classes:
        folder = Path(root) / kind
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(make_image(kind, rng, size)[0]).save(folder / f"{kind}_{i:04d}.png")
