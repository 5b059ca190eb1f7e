"""Binarising lesion masks of any encoding, resizing them to their image, and flagging bad ones.

A mask is read as it *looks*: palette images are rendered through their palette (HAM10000's Tschandl
masks include P-mode files whose palette is inverted: index 0 is white), colour images by their
brightest channel, and the lesion is the bright part. The threshold is halfway between the darkest and
brightest value, so 0/1, 0/255, anti-aliased and 1-bit masks all binarise the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import SkinaugError
from .images import open_image

FULL_MASK_FRACTION = 0.98  # a mask covering more of the image than this is a whole-image mask

MASK_OK = "ok"
MASK_EMPTY = "empty"
MASK_FULL = "full"
MASK_MISSING = "missing"
MASK_UNREADABLE = "unreadable"


def mask_values(img: Image.Image) -> np.ndarray:
    """The per-pixel brightness of a mask image as float64, whatever its mode."""
    if img.mode == "1":
        return np.asarray(img, dtype=np.float64)
    if img.mode in ("P", "PA"):
        img = img.convert("RGBA")
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return np.asarray(img, dtype=np.float64)
    if img.mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.mode else "RGB")
    arr = np.asarray(img, dtype=np.float64)
    if arr.ndim == 2:
        return arr
    colour = arr[:, :, : 1 if img.mode in ("L", "LA") else 3]
    values = colour.max(axis=2)
    has_alpha = img.mode in ("LA", "RGBA")
    if has_alpha:
        alpha = arr[:, :, -1]
        if values.min() == values.max() and alpha.min() != alpha.max():
            return alpha  # mask drawn only in the alpha channel
        values = values * (alpha / 255.0)
    return values


def binarise(img: Image.Image) -> np.ndarray:
    """Boolean lesion mask at the mask's own size: True where the mask is bright."""
    values = mask_values(img)
    lo, hi = float(values.min()), float(values.max())
    if hi == lo:
        return np.full(values.shape, hi > 0, dtype=bool)
    return values > (lo + hi) / 2.0


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a boolean mask to (width, height) with nearest-neighbour sampling."""
    if (mask.shape[1], mask.shape[0]) == tuple(size):
        return mask
    img = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(img.resize((int(size[0]), int(size[1])), Image.Resampling.NEAREST)) > 127


def load_mask(path: str | os.PathLike[str], size: tuple[int, int] | None = None) -> np.ndarray:
    """Load a mask file as a boolean HxW array, resized with nearest to `size` (width, height) if given."""
    try:
        mask = binarise(open_image(path))
    except SkinaugError as exc:
        raise SkinaugError(str(exc).replace(": ", ": mask ", 1)) from exc
    return resize_mask(mask, size) if size is not None else mask


@dataclass(frozen=True)
class MaskCheck:
    """The outcome of checking one mask: its status, the lesion's share of the image, and why."""

    status: str
    fraction: float
    reason: str = ""


def classify_mask(mask: np.ndarray) -> MaskCheck:
    """Flag empty and whole-image masks."""
    fraction = float(mask.mean()) if mask.size else 0.0
    if fraction == 0.0:
        return MaskCheck(MASK_EMPTY, 0.0, "mask has no lesion pixel")
    if fraction >= FULL_MASK_FRACTION:
        return MaskCheck(MASK_FULL, fraction, f"mask covers {fraction:.1%} of the image")
    return MaskCheck(MASK_OK, fraction)


def check_mask(path: str | os.PathLike[str] | None, size: tuple[int, int]) -> MaskCheck:
    """Check the mask file of an image of `size`: missing, unreadable, empty, whole-image or ok."""
    if path is None or str(path) == "" or not Path(path).exists():
        return MaskCheck(MASK_MISSING, float("nan"), f"{path}: mask file not found" if path else "no mask")
    try:
        mask = load_mask(path, size)
    except SkinaugError as exc:
        return MaskCheck(MASK_UNREADABLE, float("nan"), str(exc))
    check = classify_mask(mask)
    return MaskCheck(check.status, check.fraction, f"{path}: {check.reason}") if check.reason else check
