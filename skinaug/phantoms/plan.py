"""The plan of a phantom data set: images per class, which images show the same lesion, and HAM-like metadata.

Nothing is drawn here; the plan depends only on the config (its seed's plan stream).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import SkinaugError
from ..labels import CLASSES
from .config import PLAN_STREAM, PhantomConfig, seeded_rng

# Image counts of the full HAM10000 release (10,015 images); the phantoms follow these proportions.
HAM_COUNTS: dict[str, int] = {"akiec": 327, "bcc": 514, "bkl": 1099, "df": 115, "mel": 1113, "nv": 6705, "vasc": 142}

# Per-class metadata distributions, roughly HAM10000's.
_DX_TYPES: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "akiec": (("histo",), (1.0,)),
    "bcc": (("histo",), (1.0,)),
    "bkl": (("histo", "consensus", "confocal"), (0.69, 0.24, 0.07)),
    "df": (("histo", "consensus"), (0.42, 0.58)),
    "mel": (("histo",), (1.0,)),
    "nv": (("follow_up", "histo", "consensus"), (0.56, 0.37, 0.07)),
    "vasc": (("histo", "consensus"), (0.54, 0.46)),
}
_AGE: dict[str, tuple[float, float]] = {  # mean, sd in years
    "akiec": (67, 11),
    "bcc": (66, 12),
    "bkl": (60, 13),
    "df": (51, 14),
    "mel": (61, 15),
    "nv": (45, 15),
    "vasc": (50, 20),
}
_MALE: dict[str, float] = {"akiec": 0.7, "bcc": 0.6, "bkl": 0.55, "df": 0.45, "mel": 0.6, "nv": 0.5, "vasc": 0.5}
_SITES = (
    "back",
    "lower extremity",
    "trunk",
    "upper extremity",
    "abdomen",
    "face",
    "chest",
    "foot",
    "unknown",
    "neck",
    "scalp",
    "hand",
    "ear",
    "genital",
    "acral",
)
_SITE_WEIGHTS: dict[str, tuple[float, ...]] = {
    "default": (0.20, 0.20, 0.13, 0.10, 0.10, 0.05, 0.04, 0.03, 0.02, 0.02, 0.01, 0.01, 0.005, 0.004, 0.001),
    "akiec": (0.08, 0.10, 0.04, 0.20, 0.02, 0.30, 0.05, 0.01, 0.01, 0.07, 0.06, 0.05, 0.01, 0.0, 0.0),
    "bcc": (0.28, 0.08, 0.14, 0.10, 0.05, 0.18, 0.08, 0.0, 0.01, 0.04, 0.03, 0.0, 0.01, 0.0, 0.0),
    "bkl": (0.20, 0.12, 0.13, 0.10, 0.07, 0.20, 0.07, 0.01, 0.02, 0.04, 0.02, 0.01, 0.01, 0.0, 0.0),
}


def class_counts(n: int, min_per_class: int = 5) -> dict[str, int]:
    """Images per class for n images: HAM10000's proportions, at least min(min_per_class, n // 7) each."""
    if n < len(CLASSES):
        raise SkinaugError(f"phantoms: n must be at least {len(CLASSES)}, got {n}")
    floor_count = min(min_per_class, n // len(CLASSES))
    fixed: set[str] = set()
    while True:  # classes whose share falls below the floor get the floor; the rest share what is left
        free = [c for c in CLASSES if c not in fixed]
        left = n - floor_count * len(fixed)
        total = sum(HAM_COUNTS[c] for c in free)
        quotas = {c: left * HAM_COUNTS[c] / total for c in free}
        low = {c for c, q in quotas.items() if q < floor_count}
        if not low:
            break
        fixed |= low
    counts = {c: floor_count for c in fixed}
    counts.update({c: int(math.floor(q)) for c, q in quotas.items()})
    order = sorted(quotas, key=lambda c: (-(quotas[c] - counts[c]), CLASSES.index(c)))
    for c in order[: n - sum(counts.values())]:  # largest remainders
        counts[c] += 1
    return {c: counts[c] for c in CLASSES}


@dataclass(frozen=True)
class PlannedImage:
    """One image of the plan: its ids, class, metadata and the indices that seed its drawing."""

    image_id: str
    lesion_id: str
    label: str
    lesion_index: int  # seeds the lesion's appearance
    view_index: int  # 0 for the lesion's first photograph
    image_index: int  # seeds the photograph
    meta: dict[str, str]


def plan_images(config: PhantomConfig) -> list[PlannedImage]:
    """The images that `config` describes, in image-id order (lesions numbered in shuffled order)."""
    rng = seeded_rng(config.seed, PLAN_STREAM)
    counts = class_counts(config.n, config.min_per_class)
    weights = np.asarray(config.images_per_lesion, dtype=float)
    weights = weights / weights.sum()
    lesions: list[tuple[str, int, dict[str, str]]] = []
    for label in CLASSES:
        remaining = counts[label]
        while remaining > 0:
            size = min(int(rng.choice(len(weights), p=weights)) + 1, remaining)
            remaining -= size
            lesions.append((label, size, _sample_metadata(label, rng)))
    lesion_numbers = rng.permutation(len(lesions))
    slots = [(li, v) for li, (_, size, _) in enumerate(lesions) for v in range(size)]
    order = rng.permutation(len(slots))
    planned = []
    for image_index, slot in enumerate(order):
        li, view = slots[slot]
        label, _, meta = lesions[li]
        planned.append(
            PlannedImage(
                image_id=f"PH_{image_index:07d}",
                lesion_id=f"PHL_{int(lesion_numbers[li]):07d}",
                label=label,
                lesion_index=li,
                view_index=view,
                image_index=image_index,
                meta=meta,
            )
        )
    return planned


def _sample_metadata(label: str, rng: np.random.Generator) -> dict[str, str]:
    """dx_type, age, sex and localization of one lesion of class `label`."""
    types, probs = _DX_TYPES[label]
    dx_type = types[int(rng.choice(len(types), p=probs))]
    mean, sd = _AGE[label]
    age_value = float(np.clip(5 * round(rng.normal(mean, sd) / 5), 0, 85))
    age = "" if rng.random() < 0.005 else f"{age_value:.1f}"
    u = rng.random()
    sex = "unknown" if u < 0.005 else ("male" if u < 0.005 + 0.995 * _MALE[label] else "female")
    w = np.asarray(_SITE_WEIGHTS.get(label, _SITE_WEIGHTS["default"]), dtype=float)
    site = _SITES[int(rng.choice(len(_SITES), p=w / w.sum()))]
    return {"dx_type": dx_type, "age": age, "sex": sex, "localization": site}
