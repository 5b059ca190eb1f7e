"""Colour conversions for measurements: sRGB to CIE L*a*b* (D65) and BT.601 luma."""

from __future__ import annotations

import numpy as np

_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 sRGB -> float64 HxWx3 CIE L*a*b* (L in 0..100)."""
    c = rgb.astype(np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE_D65
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    lab = np.empty_like(f)
    lab[..., 0] = 116 * f[..., 1] - 16
    lab[..., 1] = 500 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return lab


def luma(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 sRGB -> float64 HxW grey (ITU-R BT.601), 0..255."""
    return rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
