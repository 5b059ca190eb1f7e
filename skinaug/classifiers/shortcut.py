"""Shortcut risk in one number: how well a small classifier tells real training images from extra ones.

Anything that marks an image as generated (blur, seams, another resize path) can become a label shortcut
when generated images fill some classes more than others. `real_vs_extra_auroc` trains a small CNN to
separate real train images (label 0) from the extra images (label 1) through the very path the classifiers
see (same decoded-image cache, resolution chain and training augmentations), then scores held-out images
of both kinds: AUROC 0.5 = indistinguishable, 1.0 = every extra image carries a learnable mark.

Held-out images are chosen by source: an extra image made from a real image lands on the same side as
that image, so a held-out extra image never shares its background with a training real image.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..schedules import warmup_cosine
from .models import create_classifier
from .train import make_loader, predict_proba, select_device


@dataclass
class ShortcutConfig:
    """The judge: a small CNN trained for a fixed number of steps on a balanced real/extra set."""

    arch: str = "resnet18"
    steps: int = 150
    batch_size: int = 64
    lr: float = 1e-3
    held_out: float = 0.25
    max_per_kind: int = 2000
    seed: int = 0


class _KindDataset(Dataset):
    """Items of a real and an extra dataset, labelled 0 (real) / 1 (extra)."""

    def __init__(self, real: Dataset, extra: Dataset, real_idx: np.ndarray, extra_idx: np.ndarray) -> None:
        self.items = [(real, int(i), 0) for i in real_idx] + [(extra, int(i), 1) for i in extra_idx]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        dataset, i, kind = self.items[index]
        return dataset[i][0], kind


def _held_out(keys: list[str], share: float) -> np.ndarray:
    """True for keys whose hash falls in the held-out share (stable across runs and machines)."""
    bucket = [int(hashlib.sha256(k.encode()).hexdigest()[:8], 16) / 16**8 for k in keys]
    return np.asarray(bucket) < share


def _pick(mask: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    idx = np.flatnonzero(mask)
    return np.sort(rng.permutation(idx)[:n])


def real_vs_extra_auroc(
    real_train: Any,
    real_eval: Any,
    extra_train: Any,
    extra_eval: Any,
    config: ShortcutConfig = ShortcutConfig(),
    device: str = "auto",
    workers: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Train the judge and return {"auroc", "held_out_real", "held_out_extra", "train_images", "steps", ...}.

    `*_train` datasets carry the training augmentations, `*_eval` the same images without them (same order).
    """
    from sklearn.metrics import roc_auc_score

    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    real_keys = [str(v) for v in real_train.frame["image_id"]]
    frame = extra_train.frame
    extra_keys = [
        str(s) if "source_image_id" in frame.columns and str(s) else str(i)
        for s, i in zip(frame.get("source_image_id", frame["image_id"]), frame["image_id"])
    ]
    real_out, extra_out = _held_out(real_keys, config.held_out), _held_out(extra_keys, config.held_out)
    n_fit = min(int((~real_out).sum()), int((~extra_out).sum()), config.max_per_kind)
    n_test = min(int(real_out.sum()), int(extra_out.sum()), config.max_per_kind)
    if n_fit < 2 or n_test < 2:
        return {"auroc": float("nan"), "note": "too few images to hold out", "train_images": 2 * n_fit}
    fit = _KindDataset(real_train, extra_train, _pick(~real_out, n_fit, rng), _pick(~extra_out, n_fit, rng))
    test = _KindDataset(real_eval, extra_eval, _pick(real_out, n_test, rng), _pick(extra_out, n_test, rng))
    torch.manual_seed(config.seed)
    dev = select_device(device)
    model = create_classifier(config.arch, 2)[0].to(dev)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.05)
    loss_fn = nn.CrossEntropyLoss()
    batch = min(config.batch_size, len(fit))
    loader: DataLoader = make_loader(fit, batch, workers, shuffle=True, seed=config.seed, drop_last=True)
    step = 0
    model.train()
    while step < config.steps:
        for images, kinds in loader:
            for group in optimiser.param_groups:
                group["lr"] = config.lr * warmup_cosine(step, config.steps // 10, config.steps)
            loss = loss_fn(model(images.to(dev)), kinds.to(dev))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            step += 1
            if step >= config.steps:
                break
    proba, kinds = predict_proba(model, make_loader(test, config.batch_size, workers), dev, channels_last=False)
    return {
        "auroc": float(roc_auc_score(kinds, proba[:, 1])),
        "held_out_real": n_test,
        "held_out_extra": n_test,
        "train_images": 2 * n_fit,
        "steps": config.steps,
        "arch": config.arch,
        "seconds": time.perf_counter() - start,
    }
