"""Pixel-level helpers: smooth steps, upsampled noise, blending, PIL-drawn layers, and the lesion frame."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage as ndi


def smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 at lo, 1 at hi, smooth (cubic) in between; lo > hi gives a falling step."""
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def upsample(small: np.ndarray, width: int, height: int, resample: int = Image.Resampling.BILINEAR) -> np.ndarray:
    """A float image resized to width x height with PIL."""
    img = Image.fromarray(np.ascontiguousarray(small, dtype=np.float32))
    return np.array(img.resize((width, height), resample), dtype=np.float32)


def noise_image(rng: np.random.Generator, width: int, height: int, cell: int) -> np.ndarray:
    """Smooth image-space noise with blobs of about `cell` px (white noise on a coarse grid, upsampled)."""
    small = rng.standard_normal(((height + cell - 1) // cell, (width + cell - 1) // cell)).astype(np.float32)
    return upsample(small, width, height, Image.Resampling.BICUBIC)


def lerp_into(img: np.ndarray, colour: np.ndarray | tuple[float, float, float], weight: np.ndarray) -> None:
    """img <- img + weight * (colour - img), in place (colour: 3-vector or HxWx3)."""
    w = weight[..., None]
    img += w * (colour - img)


def draw_layer(width: int, height: int, draw_fn: Callable[[ImageDraw.ImageDraw], None], blur: float) -> np.ndarray:
    """A coverage layer in [0, 1]: what draw_fn draws on a black 8-bit canvas, Gaussian-blurred by `blur` px."""
    layer = Image.new("L", (width, height), 0)
    draw_fn(ImageDraw.Draw(layer))
    if blur > 0:
        layer = layer.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(layer, dtype=np.float32) * (1.0 / 255.0)


class Frame:
    """Maps image pixels to lesion-frame coordinates (S = min(width, height) px per unit) and back."""

    def __init__(self, width: int, height: int, centre: tuple[float, float], phi: float, unit: float) -> None:
        self.width, self.height, self.centre, self.phi, self.unit = width, height, centre, phi, unit
        self.qx, self.qy = self._inverse(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        # half resolution grid, at the pixel centres that PIL's resize assumes
        self.hw, self.hh = (width + 1) // 2, (height + 1) // 2
        xs = (np.arange(self.hw, dtype=np.float32) + 0.5) * width / self.hw - 0.5
        ys = (np.arange(self.hh, dtype=np.float32) + 0.5) * height / self.hh - 0.5
        self.hqx, self.hqy = self._inverse(xs, ys)

    def _inverse(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = math.cos(self.phi), math.sin(self.phi)
        dx = (xs - self.centre[0])[None, :] / self.unit
        dy = (ys - self.centre[1])[:, None] / self.unit
        return (c * dx + s * dy).astype(np.float32), (-s * dx + c * dy).astype(np.float32)

    def to_image(self, qx: np.ndarray, qy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image pixel coordinates of lesion-frame points."""
        c, s = math.cos(self.phi), math.sin(self.phi)
        return (self.centre[0] + self.unit * (c * qx - s * qy), self.centre[1] + self.unit * (s * qx + c * qy))

    def field(self, lattice: np.ndarray, spacing: float) -> np.ndarray:
        """Smooth noise (lesion frame) at full resolution, evaluated at half resolution and upsampled."""
        n = lattice.shape[0]
        coords = np.stack([self.hqy / spacing + n / 2, self.hqx / spacing + n / 2])
        small = ndi.map_coordinates(lattice, coords, order=1, mode="grid-wrap")
        return upsample(small, self.width, self.height)
