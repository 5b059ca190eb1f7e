"""Training one classifier: AdamW + warm-up/cosine; the epoch kept is the best on real validation mean recall
(with early stopping) or, with `select="last"`, the last one (a fixed schedule: no choice made on val)."""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm.auto import tqdm

from ..errors import SkinaugError
from ..labels import CLASSES
from ..machine import select_device
from ..schedules import EPOCH_SELECTIONS, warmup_cosine
from .metrics import classification_metrics


@dataclass
class TrainConfig:
    """Hyper-parameters of one classifier run (the defaults suit ResNet-50 at 224 px on one GPU)."""

    arch: str = "resnet50"
    image_size: int = 224
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    patience: int = 6
    grad_clip: float = 5.0
    label_smoothing: float = 0.0
    workers: int | None = None
    device: str = "auto"
    channels_last: bool = True
    select: str = "val"  # the epoch kept: "val" = best real-val mean recall (early stopping); "last" = the last epoch

    def __post_init__(self) -> None:
        if self.select not in EPOCH_SELECTIONS:
            raise SkinaugError(f"unknown epoch selection {self.select!r}; choose one of {', '.join(EPOCH_SELECTIONS)}")


@dataclass
class TrainResult:
    """The kept model (best validation mean recall, or the last epoch) and the per-epoch history."""

    model: nn.Module
    best_epoch: int
    epochs_run: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def default_workers() -> int:
    """DataLoader workers: all cores but one, at most 8 (0 on a single core)."""
    return max(0, min(8, (os.cpu_count() or 1) - 1))


def _seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    import random

    random.seed(seed)


def make_loader(
    dataset: Dataset,
    batch_size: int,
    workers: int,
    sampler: Sampler | None = None,
    shuffle: bool = False,
    seed: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A seeded DataLoader (same seed -> same batches, whatever the number of workers)."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=shuffle and sampler is None,
        num_workers=workers,
        worker_init_fn=_seed_worker,
        generator=generator,
        persistent_workers=workers > 0,
        drop_last=drop_last,
        pin_memory=torch.cuda.is_available(),
    )


# batches between two reads of the running loss by the host (a read waits for the device: one per step would
# stall a GPU at every step)
LOSS_READ_EVERY = 50


def _sum_dtype(device: torch.device) -> torch.dtype:
    """float64 for the running loss sum, but on Apple's MPS (no float64 there)."""
    return torch.float32 if device.type == "mps" else torch.float64


def _autocast(device: torch.device) -> Any:
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def _prepare_model(model: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    model = model.to(device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return model.to(memory_format=torch.channels_last) if channels_last else model


@torch.no_grad()
def predict_proba(
    model: nn.Module, loader: DataLoader, device: torch.device | None = None, channels_last: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(softmax probabilities [N, K] float32, labels [N]) over a loader yielding (image, label)."""
    device = device or next(model.parameters()).device
    model.eval()
    probs, labels = [], []
    for images, targets in loader:
        images = images.to(device, non_blocking=True)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with _autocast(device):
            logits = model(images)
        probs.append(torch.softmax(logits.float(), dim=1))  # kept on the device: one copy to the host at the end
        labels.append(targets)
    return torch.cat(probs).cpu().numpy().astype(np.float32), torch.cat(labels).numpy().astype(np.int64)


def _schedule(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_cosine(step, warmup_steps, total_steps))


def train_classifier(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader,
    config: TrainConfig,
    seed: int = 0,
    desc: str = "train",
    progress: bool = True,
) -> TrainResult:
    """Train with AdamW(0.9, 0.999) + warm-up/cosine; keep the epoch with the best validation mean recall, or the
    last epoch with `config.select == "last"` (every epoch runs; val recall is still recorded, never used)."""
    torch.manual_seed(seed)
    device = select_device(config.device)
    model = _prepare_model(model, device, config.channels_last)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
    )
    steps = len(train_loader)
    scheduler = _schedule(optimizer, int(config.warmup_epochs * steps), config.epochs * steps)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    best_score, best_epoch, best_state, history = -1.0, 0, None, []
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        if hasattr(train_loader.sampler, "set_epoch"):  # a PhasedSampler (or DistributedSampler) follows the epoch
            train_loader.sampler.set_epoch(epoch - 1)
        model.train()
        # the summed loss stays on the device (float64 where the device has it: the same sums as Python floats on
        # CPU); the host reads it every LOSS_READ_EVERY batches for the progress bar and once at the epoch's end
        total = torch.zeros((), dtype=_sum_dtype(device), device=device)
        count = 0
        bar = tqdm(
            train_loader, desc=f"{desc} epoch {epoch}/{config.epochs}", unit="batch", leave=False, disable=not progress
        )
        for batch, (images, targets) in enumerate(bar, start=1):
            images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            if config.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            with _autocast(device):
                loss = criterion(model(images), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            total += loss.detach().to(total.dtype) * len(targets)
            count += len(targets)
            if progress and batch % LOSS_READ_EVERY == 0:
                bar.set_postfix(loss=f"{total.item() / count:.3f}")
        proba, labels = predict_proba(model, val_loader, device, config.channels_last)
        score = float(classification_metrics(labels, proba, CLASSES)["mean_recall"])
        history.append(
            {
                "epoch": epoch,
                "train_loss": total.item() / max(1, count),
                "val_mean_recall": score,
                "lr": optimizer.param_groups[0]["lr"],
            }
        )
        if config.select == "last":
            best_epoch = epoch
        elif score > best_score + 1e-6:
            best_score, best_epoch = score, epoch
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        elif epoch - best_epoch >= config.patience:
            break
    if config.select != "last":
        assert best_state is not None
        model.load_state_dict(best_state)
    return TrainResult(model, best_epoch, len(history), time.perf_counter() - start, history)
