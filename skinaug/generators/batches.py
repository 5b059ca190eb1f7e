"""Batches chosen by step number alone, so a resumed or multi-process run sees exactly the same data.

The global batch of step t is the t-th slice of an epoch permutation seeded by (seed, epoch); each
process takes its share of it; flips are drawn per image from a generator seeded by (seed, t). Nothing
depends on DataLoader state, worker count or how often the run was interrupted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset


def global_batch(n: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Dataset indices of the global batch of `step` (epochs are permutations; the last partial slice is skipped)."""
    per_epoch = max(1, n // batch_size)
    epoch, position = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n)
    if n < batch_size:  # tiny data sets: repeat the permutation to fill the batch
        order = np.resize(order, batch_size)
    return order[position * batch_size : (position + 1) * batch_size]


def rank_share(indices: np.ndarray, rank: int, world: int) -> np.ndarray:
    """This process's contiguous share of a global batch (batch size must divide by the world size)."""
    if len(indices) % world:
        raise ValueError(f"global batch {len(indices)} is not divisible by {world} processes")
    size = len(indices) // world
    return indices[rank * size : (rank + 1) * size]


def collate(
    dataset: Dataset, indices: np.ndarray, seed: int, step: int, flips: bool, offset: int = 0
) -> dict[str, Any]:
    """Stack the items; with `flips`, mirror each image/mask by draws seeded by (seed, step, position)."""
    items = [dataset[int(i)] for i in indices]
    images = torch.stack([it["image"] for it in items])
    masks = torch.stack([it["mask"] for it in items])
    if flips:
        draws = np.random.default_rng([seed, step, 7]).random((offset + len(items), 2))[offset:]
        for row, (horizontal, vertical) in enumerate(draws):
            if horizontal < 0.5:
                images[row], masks[row] = images[row].flip(-1), masks[row].flip(-1)
            if vertical < 0.5:
                images[row], masks[row] = images[row].flip(-2), masks[row].flip(-2)
    return {
        "image": images,
        "mask": masks,
        "label": torch.tensor([it["label"] for it in items], dtype=torch.long),
        "measurements": torch.stack([it["measurements"] for it in items]),
    }


def step_batch(
    dataset: Dataset, batch_size: int, seed: int, step: int, rank: int = 0, world: int = 1, flips: bool = True
) -> dict[str, Any]:
    """This process's part of the global batch of `step`."""
    indices = global_batch(len(dataset), batch_size, seed, step)  # type: ignore[arg-type]  # a sized Dataset
    share = rank_share(indices, rank, world)
    return collate(dataset, share, seed, step, flips, offset=rank * len(share))
