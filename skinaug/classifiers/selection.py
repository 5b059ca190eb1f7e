"""Selection of generated images by a classifier trained on real train images.

A generated image is kept when the real-trained classifier assigns it to the class it was requested for;
the acceptance rate per class is the share kept. The judge never saw a synthetic image, val or test image
in training (it is the benchmark's own arm-b model of seed 0: real train images, weighted sampler).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from ..labels import CLASSES
from .train import make_loader, predict_proba


def select_by_classifier(
    model: nn.Module, extra_eval: Any, batch_size: int = 64, workers: int = 0
) -> tuple[np.ndarray, dict[str, Any]]:
    """(indices of the kept images, {"per_class": {class: {requested, kept, acceptance}}, "acceptance": all}).

    `extra_eval` yields (image, requested class) without training augmentations.
    """
    proba, requested = predict_proba(model, make_loader(extra_eval, batch_size, workers), channels_last=False)
    kept = proba.argmax(axis=1) == requested
    per_class = {}
    for k, name in enumerate(CLASSES):
        of_class = requested == k
        if of_class.any():
            per_class[name] = {
                "requested": int(of_class.sum()),
                "kept": int((kept & of_class).sum()),
                "acceptance": float(kept[of_class].mean()),
            }
    return np.flatnonzero(kept), {
        "per_class": per_class,
        "acceptance": float(kept.mean()) if kept.size else 0.0,
        "kept": int(kept.sum()),
        "requested": int(kept.size),
    }
