"""Class balancing for training: inverse-frequency weights, a weighted sampler, classical oversampling, and a
sampler that switches to another after some epochs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Sampler, WeightedRandomSampler

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


def weighted_sampler(
    labels: Sequence[int] | np.ndarray, num_samples: int | None = None, seed: int | None = None
) -> WeightedRandomSampler:
    """Sampler drawing every class equally often in expectation (weight 1/count of its class, with replacement)."""
    array = np.asarray(labels, dtype=np.int64).reshape(-1)
    if array.size == 0:
        raise SkinaugError("weighted_sampler needs at least one label")
    per_sample = class_weights(array, max(len(CLASSES), int(array.max()) + 1))[array]
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return WeightedRandomSampler(
        per_sample.astype(np.float64).tolist(),
        num_samples if num_samples is not None else len(array),
        replacement=True,
        generator=generator,
    )


def oversampled_indices(labels: Sequence[int] | np.ndarray, seed: int = 0) -> np.ndarray:
    """Indices with every class repeated at random up to the majority count (imbalanced-learn's RandomOverSampler)."""
    from imblearn.over_sampling import RandomOverSampler

    array = np.asarray(labels, dtype=np.int64).reshape(-1)
    if np.unique(array).size < 2:
        return np.arange(array.size, dtype=np.int64)
    index = np.arange(array.size).reshape(-1, 1)
    resampled, _ = RandomOverSampler(random_state=seed).fit_resample(index, array)
    return np.asarray(resampled[:, 0], dtype=np.int64)


def mixed_sampler(
    labels: Sequence[int] | np.ndarray,
    is_synthetic: Sequence[bool] | np.ndarray,
    synthetic_share: float | None = None,
    num_samples: int | None = None,
    seed: int | None = None,
) -> WeightedRandomSampler:
    """Class-balanced draws from real + synthetic images with a per-class cap on the synthetic share.

    Every class present is drawn equally often in expectation (as `weighted_sampler`). Within class k the
    synthetic images together get the share q_k = S_k / (R_k + S_k) of that class's draws when
    `synthetic_share` is None (pooled: every image of the class equally likely), else
    q_k = min(synthetic_share, S_k / (R_k + S_k)); the real images share the rest equally. A class with no
    real image draws only synthetic ones (q_k = 1), whatever the cap.
    """
    array = np.asarray(labels, dtype=np.int64).reshape(-1)
    synthetic = np.asarray(is_synthetic, dtype=bool).reshape(-1)
    if array.size == 0 or synthetic.shape != array.shape:
        raise SkinaugError(f"mixed_sampler needs one is_synthetic flag per label ({synthetic.size} for {array.size})")
    if synthetic_share is not None and not 0.0 <= synthetic_share <= 1.0:
        raise SkinaugError(f"synthetic share must be between 0 and 1, got {synthetic_share}")
    per_sample = np.zeros(array.size, dtype=np.float64)
    for k in np.unique(array):
        in_class = array == k
        n_syn, n_real = int((in_class & synthetic).sum()), int((in_class & ~synthetic).sum())
        share = n_syn / (n_syn + n_real)
        if synthetic_share is not None and n_real:
            share = min(share, synthetic_share)
        per_sample[in_class & synthetic] = share / max(n_syn, 1)
        per_sample[in_class & ~synthetic] = (1.0 - share) / max(n_real, 1)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return WeightedRandomSampler(
        per_sample.tolist(),
        num_samples if num_samples is not None else len(array),
        replacement=True,
        generator=generator,
    )


def top_up_indices(
    real_labels: Sequence[int] | np.ndarray, extra_labels: Sequence[int] | np.ndarray, per_class: int, seed: int = 0
) -> np.ndarray:
    """Indices into the extra (synthetic) images that top every class up to `per_class` images.

    Class k gets max(0, per_class - R_k) extra images (all it has if fewer), chosen at random with `seed`;
    classes that already hold `per_class` real images get none (the paper's "balanced to 500 per class").
    """
    real = np.asarray(real_labels, dtype=np.int64).reshape(-1)
    extra = np.asarray(extra_labels, dtype=np.int64).reshape(-1)
    rng = np.random.default_rng(seed)
    chosen = []
    for k in np.unique(extra):
        need = max(0, per_class - int((real == k).sum()))
        pool = np.flatnonzero(extra == k)
        chosen.append(np.sort(rng.permutation(pool)[:need]))
    return np.concatenate(chosen).astype(np.int64) if chosen else np.zeros(0, dtype=np.int64)


def synthetic_share_of_draws(
    labels: Sequence[int] | np.ndarray,
    is_synthetic: Sequence[bool] | np.ndarray,
    drawn: Sequence[int] | np.ndarray,
    class_names: Sequence[str] = CLASSES,
) -> dict[str, dict[str, float]]:
    """Per class, how many of the `drawn` indices were real / synthetic and the synthetic share (one epoch)."""
    array = np.asarray(labels, dtype=np.int64).reshape(-1)
    synthetic = np.asarray(is_synthetic, dtype=bool).reshape(-1)
    idx = np.asarray(drawn, dtype=np.int64).reshape(-1)
    out: dict[str, dict[str, float]] = {}
    for k, name in enumerate(class_names):
        hit = array[idx] == k
        n_syn = int((hit & synthetic[idx]).sum())
        n_all = int(hit.sum())
        out[name] = {"draws": n_all, "synthetic_draws": n_syn, "synthetic_share": n_syn / n_all if n_all else 0.0}
    n_syn_total = int(synthetic[idx].sum())
    out["all"] = {
        "draws": int(idx.size),
        "synthetic_draws": n_syn_total,
        "synthetic_share": n_syn_total / idx.size if idx.size else 0.0,
    }
    return out


class PhasedSampler(Sampler[int]):
    """Draws from `first` in epochs 0 .. switch_epoch - 1 and from `then` afterwards (e.g. real + synthetic
    first, real images only to finish). The training loop calls `set_epoch(epoch)` (0-based) before every epoch,
    as with torch's DistributedSampler; both samplers must draw the same number of indices per epoch."""

    def __init__(self, first: Sampler[int], then: Sampler[int], switch_epoch: int) -> None:
        if len(first) != len(then):  # type: ignore[arg-type]
            raise SkinaugError(f"PhasedSampler: both phases must draw as many indices ({len(first)} vs {len(then)})")  # type: ignore[arg-type]
        if switch_epoch < 1:
            raise SkinaugError(f"PhasedSampler: switch_epoch must be >= 1, got {switch_epoch}")
        self.first, self.then, self.switch_epoch, self.epoch = first, then, switch_epoch, 0

    def set_epoch(self, epoch: int) -> None:
        """The (0-based) epoch about to be drawn."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        return iter(self.then if self.epoch >= self.switch_epoch else self.first)

    def __len__(self) -> int:
        return len(self.first)  # type: ignore[arg-type]
