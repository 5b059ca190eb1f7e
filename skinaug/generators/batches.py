"""Batches chosen by step number alone, so a resumed or multi-process run sees exactly the same data.

The global batch of step t is the t-th slice of an epoch permutation seeded by (seed, epoch), or, with
class-balanced draws (`OptimConfig.class_balance` > 0), batch_size images drawn with replacement by a generator
seeded by (seed, t) with the weights of `class_draw_weights`; each process takes its share of it; flips are
drawn per image from a generator seeded by (seed, t). Nothing
depends on DataLoader state, worker count or how often the run was interrupted: `step_loader` hands the
batches of steps start..end-1 in order, assembled by DataLoader workers (pinned memory, prefetch) when
asked, and they are the same batches `step_batch` makes in the main process.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import SkinaugError

# A flip variant is horizontal + 2 * vertical: 0 none, 1 left-right, 2 up-down, 3 both.
FLIP_VARIANTS: tuple[int, ...] = (0, 1, 2, 3)


def class_draw_weights(labels: np.ndarray, class_balance: float) -> np.ndarray | None:
    """Per-image draw probabilities proportional to n_class ** -class_balance (n_class: the images of that image's
    class), or None for class_balance 0 (plain epochs). 1 draws every class equally often, 0.5 in proportion to
    the square root of its size: a class-balanced synthetic set needs a tokenizer that reconstructs every class,
    and a class seen on 1 % of draws loses what is its own (e.g. a colour no other class has)."""
    if not 0.0 <= class_balance <= 1.0:
        raise SkinaugError(f"class_balance must be between 0 and 1, got {class_balance}")
    if class_balance == 0.0:
        return None
    labels = np.asarray(labels)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    weights = counts[inverse].astype(np.float64) ** -class_balance
    return weights / weights.sum()


def global_batch(n: int, batch_size: int, seed: int, step: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Dataset indices of the global batch of `step`: without `weights`, epochs are permutations (the last partial
    slice is skipped); with them (`class_draw_weights`), draws with replacement seeded by (seed, step)."""
    if weights is not None:
        return np.random.default_rng([seed, step, 11]).choice(n, size=batch_size, replace=True, p=weights)
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


def flip_variants(seed: int, step: int, count: int, offset: int = 0) -> np.ndarray:
    """The flip variant (0-3, see FLIP_VARIANTS) of positions offset..offset+count-1 of step's global batch."""
    draws = np.random.default_rng([seed, step, 7]).random((offset + count, 2))[offset:]
    return (draws[:, 0] < 0.5).astype(np.int64) + 2 * (draws[:, 1] < 0.5).astype(np.int64)


def flip(image: torch.Tensor, variant: int) -> torch.Tensor:
    """An image (or mask) mirrored as flip variant `variant` says (last two dims: H, W)."""
    if variant & 1:
        image = image.flip(-1)
    if variant & 2:
        image = image.flip(-2)
    return image


def collate(
    dataset: Dataset, indices: np.ndarray, seed: int, step: int, flips: bool, offset: int = 0
) -> dict[str, Any]:
    """Stack the items; with `flips`, mirror each image/mask by draws seeded by (seed, step, position).

    The batch also carries 'index' (dataset indices) and 'flip' (variant per image, 0 without flips)."""
    items = [dataset[int(i)] for i in indices]
    images = torch.stack([it["image"] for it in items])
    masks = torch.stack([it["mask"] for it in items])
    variants = flip_variants(seed, step, len(items), offset) if flips else np.zeros(len(items), dtype=np.int64)
    for row, variant in enumerate(variants):
        images[row], masks[row] = flip(images[row], int(variant)), flip(masks[row], int(variant))
    return {
        "image": images,
        "mask": masks,
        "label": torch.tensor([it["label"] for it in items], dtype=torch.long),
        "measurements": torch.stack([it["measurements"] for it in items]),
        "index": torch.as_tensor(np.asarray(indices, dtype=np.int64)),
        "flip": torch.from_numpy(variants),
    }


def step_batch(
    dataset: Dataset,
    batch_size: int,
    seed: int,
    step: int,
    rank: int = 0,
    world: int = 1,
    flips: bool = True,
    weights: np.ndarray | None = None,
) -> dict[str, Any]:
    """This process's part of the global batch of `step` (`weights`: see global_batch)."""
    indices = global_batch(len(dataset), batch_size, seed, step, weights)  # type: ignore[arg-type]  # sized
    share = rank_share(indices, rank, world)
    return collate(dataset, share, seed, step, flips, offset=rank * len(share))


class StepBatches(Dataset):
    """Item t is the batch of step t (made by `make(t)`): what DataLoader workers assemble ahead of the loop."""

    def __init__(self, make: Callable[[int], dict[str, Any]]) -> None:
        self.make = make

    def __getitem__(self, step: int) -> dict[str, Any]:
        return self.make(step)


def default_workers(device: torch.device) -> int:
    """Loader processes when not told: none on CPU (the cores train), up to 4 beside a GPU."""
    if device.type != "cuda":
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def step_loader(
    make: Callable[[int], dict[str, Any]], start: int, end: int, workers: int = 0, pin_memory: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(step, batch) for steps start..end-1 in order; batches made by `workers` processes (0: this one)."""
    steps = range(start, end)
    if workers <= 0:
        for step in steps:
            yield step, make(step)
        return
    loader = DataLoader(
        StepBatches(make),
        batch_size=None,
        sampler=steps,
        num_workers=workers,
        pin_memory=pin_memory,
        prefetch_factor=2,
        persistent_workers=False,
    )
    yield from zip(steps, loader)
