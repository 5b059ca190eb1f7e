"""Class balancing for training: inverse-frequency weights, a weighted sampler, and classical oversampling."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler

from ..errors import SkinaugError
from ..labels import CLASSES


def _labels(labels: Sequence[int] | np.ndarray, num_classes: int) -> np.ndarray:
    array = np.asarray(labels, dtype=np.int64).reshape(-1)
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise SkinaugError(f"labels must be class indices in 0..{num_classes - 1}; got {array.min()}..{array.max()}")
    return array


def class_weights(labels: Sequence[int] | np.ndarray, num_classes: int = len(CLASSES)) -> np.ndarray:
    """float64 weight per class: 1/count of that class in `labels`; 0 for classes that do not occur."""
    counts = np.bincount(_labels(labels, num_classes), minlength=num_classes).astype(np.float64)
    weights = np.zeros(num_classes, dtype=np.float64)
    np.divide(1.0, counts, out=weights, where=counts > 0)
    return weights


def weighted_sampler(labels: Sequence[int] | np.ndarray, num_samples: int | None = None,
                     seed: int | None = None) -> WeightedRandomSampler:
    """Sampler drawing every class equally often in expectation (weight 1/count of its class, with replacement)."""
    array = np.asarray(labels, dtype=np.int64).reshape(-1)
    if array.size == 0:
        raise SkinaugError("weighted_sampler needs at least one label")
    per_sample = class_weights(array, max(len(CLASSES), int(array.max()) + 1))[array]
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return WeightedRandomSampler(per_sample.astype(np.float64).tolist(),
                                 num_samples if num_samples is not None else len(array),
                                 replacement=True, generator=generator)


def oversampled_indices(labels: Sequence[int] | np.ndarray, seed: int = 0) -> np.ndarray:
    """Indices with every class repeated at random up to the majority count (imbalanced-learn's RandomOverSampler)."""
    from imblearn.over_sampling import RandomOverSampler

    array = np.asarray(labels, dtype=np.int64).reshape(-1)
    if np.unique(array).size < 2:
        return np.arange(array.size, dtype=np.int64)
    index = np.arange(array.size).reshape(-1, 1)
    resampled, _ = RandomOverSampler(random_state=seed).fit_resample(index, array)
    return np.asarray(resampled[:, 0], dtype=np.int64)
