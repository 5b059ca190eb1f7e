"""Decoding one image or mask at training resolution; shared by the datasets and the decoded-image cache."""

from __future__ import annotations

import os

import numpy as np
import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from ..images import load_rgb
from ..masks import load_mask, resize_mask


def decode_image(
    path: str | os.PathLike[str], image_size: int | None = None, via_size: int | None = None
) -> np.ndarray:
    """uint8 HxWx3 RGB array, resized to image_size x image_size (bilinear, antialiased) unless None.

    With `via_size`, the image is first resized to via_size x via_size and then to image_size: the
    resolution chain of images made by a generator at via_size, so real and synthetic images reach a
    classifier the same way (an image already at via_size skips the first step).
    """
    rgb = load_rgb(path)
    if via_size is not None and image_size is not None and via_size != image_size:
        rgb = _resize(rgb, via_size)
    return rgb if image_size is None else _resize(rgb, image_size)


def _resize(rgb: np.ndarray, size: int) -> np.ndarray:
    if rgb.shape[:2] == (size, size):
        return rgb
    chw = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)
    out = F.resize(chw, [size, size], interpolation=InterpolationMode.BILINEAR, antialias=True)
    return out.permute(1, 2, 0).contiguous().numpy()


def decode_mask(path: str | os.PathLike[str] | None, height: int, width: int) -> np.ndarray:
    """bool HxW lesion mask resized with nearest to (height, width); all False when there is no mask file."""
    if not path:
        return np.zeros((height, width), dtype=bool)
    return resize_mask(load_mask(path), (width, height))
