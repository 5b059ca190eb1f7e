"""Colours of skin, pigment, vessels and scale (RGB in [0, 1]) and small random colour helpers."""

from __future__ import annotations

from typing import Any

import numpy as np

BROWN_RAMP = np.array(
    [  # light tan -> mid brown -> dark brown -> near black (as seen in dermoscopy)
        [0.80, 0.55, 0.46],
        [0.64, 0.35, 0.29],
        [0.44, 0.21, 0.18],
        [0.26, 0.12, 0.12],
        [0.13, 0.08, 0.09],
    ],
    dtype=np.float32,
)
_SKIN_ANCHORS = np.array(
    [
        [0.93, 0.78, 0.78],  # pale pink
        [0.88, 0.64, 0.66],  # pink
        [0.90, 0.74, 0.68],  # beige
        [0.80, 0.60, 0.54],  # tan
        [0.84, 0.76, 0.84],  # greyish lavender (polarised dermoscopy of pale skin)
    ],
    dtype=np.float32,
)
BLACK = (0.12, 0.09, 0.10)
BLUE_GREY = (0.42, 0.44, 0.56)
WHITE = (0.95, 0.91, 0.90)
PINK = (0.90, 0.56, 0.60)
RED = (0.80, 0.25, 0.30)
VESSEL_RED = (0.72, 0.10, 0.18)
ERYTHEMA = (0.86, 0.48, 0.50)
SCALE = (0.95, 0.92, 0.82)


def brown(t: float) -> np.ndarray:
    """The brown ramp at t in [0, 1] (0: light tan, 1: near black), linearly interpolated."""
    t = float(np.clip(t, 0.0, 1.0)) * (len(BROWN_RAMP) - 1)
    i = min(int(t), len(BROWN_RAMP) - 2)
    f = t - i
    return (1 - f) * BROWN_RAMP[i] + f * BROWN_RAMP[i + 1]


def jitter(rng: np.random.Generator, colour: Any, amount: float = 0.05) -> np.ndarray:
    """`colour` with each channel scaled by 1 + amount * N(0, 1), clipped to [0.02, 1]."""
    c = np.asarray(colour, dtype=np.float32) * (1 + amount * rng.standard_normal(3).astype(np.float32))
    return np.clip(c, 0.02, 1.0).astype(np.float32)


def mix(a: Any, b: Any, t: float) -> np.ndarray:
    """(1 - t) * a + t * b as float32."""
    return ((1 - t) * np.asarray(a, dtype=np.float32) + t * np.asarray(b, dtype=np.float32)).astype(np.float32)


def sample_skin(rng: np.random.Generator) -> np.ndarray:
    """A skin tone: a random blend of two of the skin anchors, slightly jittered."""
    i, j = rng.choice(len(_SKIN_ANCHORS), 2, replace=False, p=[0.25, 0.3, 0.2, 0.12, 0.13])
    return jitter(rng, mix(_SKIN_ANCHORS[i], _SKIN_ANCHORS[j], float(rng.uniform(0, 1))), 0.03)
