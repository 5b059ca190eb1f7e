"""What the phantom generator makes (`PhantomConfig`) and how its random numbers are seeded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SkinaugError
from ..labels import CLASSES

# Seed-sequence "streams", so that the plan, lesions and photographs never share random numbers.
PLAN_STREAM, LESION_STREAM, VIEW_STREAM = 0, 1, 2


def seeded_rng(seed: int, stream: int, *index: int) -> np.random.Generator:
    """The generator for one stream (and, for lesions and photographs, one index) of `seed`."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream, *index]))


@dataclass(frozen=True)
class PhantomConfig:
    """What `make_phantoms` generates. The defaults give a HAM10000-like set of 700 images."""

    n: int = 700  # number of images
    seed: int = 0
    width: int = 200  # HAM10000's reduced size (the originals are 600x450)
    height: int = 150
    hair_probability: float = 0.3  # fraction of lesions photographed through hair
    circle_probability: float = 0.15  # fraction of lesions seen through a round dermoscope field of view
    # Probabilities that a lesion has 1, 2 or 3 photographs (HAM10000: 74 %, 19 %, 7 % of lesions).
    images_per_lesion: tuple[float, float, float] = (0.74, 0.19, 0.07)
    min_per_class: int = 5  # every class gets at least this many images (if n allows)
    jpeg_quality: int = 92

    def __post_init__(self) -> None:
        if self.n < len(CLASSES):
            raise SkinaugError(f"phantoms: n must be at least {len(CLASSES)} (one image per class), got {self.n}")
        if self.width < 16 or self.height < 16:
            raise SkinaugError(f"phantoms: width and height must be at least 16 px, got {self.width}x{self.height}")
        for name in ("hair_probability", "circle_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SkinaugError(f"phantoms: {name} must lie in [0, 1], got {value}")
        if len(self.images_per_lesion) < 1 or min(self.images_per_lesion) < 0 or sum(self.images_per_lesion) <= 0:
            raise SkinaugError(
                f"phantoms: images_per_lesion must be non-negative weights, got {self.images_per_lesion}"
            )
        if not 1 <= self.jpeg_quality <= 100:
            raise SkinaugError(f"phantoms: jpeg_quality must lie in [1, 100], got {self.jpeg_quality}")
