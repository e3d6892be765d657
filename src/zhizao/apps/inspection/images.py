"""Reading images for inspection: any size, grayscale or colour, png/bmp/jpg (anything Pillow decodes).

Every image becomes a float32 array ``(channels, size, size)`` in [0, 1]: the whole frame is resized
to the model's square input (no crop, so a defect at the border is never cut off). A file that cannot
be decoded raises ``ImageError`` naming the file and the reason, so a batch can report it and go on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

IMAGE_SUFFIXES = frozenset({".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"})
# Mode families Pillow reports for single-channel images.
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, not a half-grey picture


class ImageError(ValueError):
    """An image that cannot be used; the message names the file and why."""


@dataclass(frozen=True)
class Preprocessing:
    """How raw images become network input; saved with every model so inference matches training."""

    size: int = 128
    channels: int = 1  # 1: grayscale, 3: RGB
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.25,)

    def to_json(self) -> dict:
        return {"size": self.size, "channels": self.channels, "mean": list(self.mean), "std": list(self.std),
                "resize": "whole image, bilinear with antialiasing, to size x size"}

    @classmethod
    def from_json(cls, data: dict) -> Preprocessing:
        return cls(int(data["size"]), int(data["channels"]), tuple(data["mean"]), tuple(data["std"]))


def _to_array(image: Image.Image, channels: int, size: int) -> np.ndarray:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        raw = np.asarray(image, dtype=np.float32)
        top = 65535.0 if image.mode.startswith("I;16") or raw.max() > 255 else 255.0
        image = Image.fromarray(np.clip(raw / top * 255.0, 0, 255).astype(np.uint8))
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / 255.0
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def open_image(source: Path | str | bytes) -> Image.Image:
    """Decode fully (so truncated files fail here); ``source`` is a path or the file's bytes."""
    import io

    name = "upload" if isinstance(source, bytes) else str(source)
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        image.load()
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a folder, not an image") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: too large to decode ({exc})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        reason = str(exc) or type(exc).__name__
        if "cannot identify image file" in reason:
            reason = "not an image Pillow can decode"
        raise ImageError(f"{name}: {reason}") from None
    if image.width < 8 or image.height < 8:
        raise ImageError(f"{name}: {image.width}x{image.height} pixels is too small (at least 8x8)")
    return image


def load_image(source: Path | str | bytes, prep: Preprocessing) -> np.ndarray:
    """One image as ``(channels, size, size)`` float32 in [0, 1] (not yet normalised)."""
    return _to_array(open_image(source), prep.channels, prep.size)


def is_gray(path: Path) -> bool:
    """True when the file is a single-channel image (read from the header only)."""
    with Image.open(path) as image:
        return image.mode in GRAY_MODES or (image.mode == "P" and _palette_is_gray(image))


def _palette_is_gray(image: Image.Image) -> bool:
    palette = np.asarray(image.getpalette() or [], dtype=np.int32).reshape(-1, 3)
    return bool(len(palette)) and bool((palette == palette[:, :1]).all())


def load_many(paths: Iterable[Path | str], prep: Preprocessing) -> tuple[np.ndarray, list[str | None]]:
    """Decode a batch: the stacked arrays of the good ones (in order) and, per input, None or the error."""
    arrays: list[np.ndarray] = []
    errors: list[str | None] = []
    for path in paths:
        try:
            arrays.append(load_image(path, prep))
            errors.append(None)
        except ImageError as exc:
            errors.append(str(exc))
    stacked = np.stack(arrays) if arrays else np.zeros((0, prep.channels, prep.size, prep.size), np.float32)
    return stacked, errors


def normalise(batch: np.ndarray, prep: Preprocessing) -> np.ndarray:
    mean = np.asarray(prep.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(prep.std, np.float32).reshape(1, -1, 1, 1)
    return (batch - mean) / std


@dataclass(frozen=True)
class LabelledImages:
    """A folder of class sub-folders: the image files and their class index, classes sorted by name."""

    classes: tuple[str, ...]
    paths: tuple[Path, ...]
    labels: np.ndarray


def scan_folder(root: Path) -> LabelledImages:
    """``root/<class>/<image>``: every class folder with at least one image file counts."""
    root = Path(root)
    if not root.is_dir():
        raise ImageError(f"--data: '{root}' is not a folder")
    classes: list[str] = []
    paths: list[Path] = []
    labels: list[int] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            continue
        classes.append(folder.name)
        paths.extend(files)
        labels.extend([len(classes) - 1] * len(files))
    if len(classes) < 2:
        raise ImageError(f"--data: '{root}' needs at least two class sub-folders with images "
                         f"(png/bmp/jpg), found {len(classes)}")
    return LabelledImages(tuple(classes), tuple(paths), np.asarray(labels, dtype=np.int64))
