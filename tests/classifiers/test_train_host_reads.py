"""Classifier training reads the running loss from the device rarely (a read stalls a GPU), and the epoch's
train loss is still the exact mean of its batches' losses."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

import skinaug.classifiers.train as train_module
from skinaug.classifiers.train import TrainConfig, make_loader, train_classifier
from skinaug.labels import CLASSES

BATCHES = 120  # batches per epoch: more than twice LOSS_READ_EVERY


def _train(monkeypatch: pytest.MonkeyPatch, progress: bool) -> tuple[train_module.TrainResult, int, list[float]]:
    """Two epochs of a linear model; returns the result, the number of Tensor.item calls made by train.py and
    every batch's loss x batch size, recomputed here from the model's outputs as Python floats."""
    monkeypatch.setattr(train_module, "classification_metrics", lambda *a, **k: {"mean_recall": 0.5})
    monkeypatch.setattr(train_module, "predict_proba", lambda *a, **k: (None, None))
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(BATCHES * 2, 3, 4, 4), torch.arange(BATCHES * 2) % len(CLASSES))
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, len(CLASSES)))
    per_batch: list[float] = []

    def record(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        if module.training:  # the training steps only
            targets = record.targets  # type: ignore[attr-defined]
            per_batch.append(F.cross_entropy(output.detach(), targets).item() * len(targets))

    model.register_forward_hook(record)
    reads = 0
    real_item = torch.Tensor.item

    def counting_item(self: torch.Tensor) -> Any:
        nonlocal reads
        reads += sys._getframe(1).f_code.co_filename == train_module.__file__  # reads made by the training loop
        return real_item(self)

    loader = make_loader(data, batch_size=2, workers=0, shuffle=True)

    class Targets:  # hands each batch's targets to the hook before the model sees the batch
        sampler = None

        def __iter__(self) -> Any:
            for images, targets in loader:
                record.targets = targets  # type: ignore[attr-defined]
                yield images, targets

        def __len__(self) -> int:
            return len(loader)

    config = TrainConfig(epochs=2, batch_size=2, device="cpu", channels_last=False, select="last")
    monkeypatch.setattr(torch.Tensor, "item", counting_item)
    result = train_classifier(model, Targets(), loader, config, seed=0, progress=progress)  # type: ignore[arg-type]
    monkeypatch.setattr(torch.Tensor, "item", real_item)
    return result, reads, per_batch


@pytest.mark.parametrize("progress", [False, True])
def test_the_loss_is_read_a_few_times_an_epoch_not_every_batch(monkeypatch: pytest.MonkeyPatch, progress: bool) -> None:
    result, reads, _ = _train(monkeypatch, progress)
    per_epoch = 1 + (BATCHES // train_module.LOSS_READ_EVERY if progress else 0)
    assert reads == 2 * per_epoch  # old code: one read per batch, 240 here
    assert result.epochs_run == 2


def test_the_epoch_train_loss_is_the_exact_mean_of_its_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _, per_batch = _train(monkeypatch, progress=False)
    samples = BATCHES * 2
    for epoch, entry in enumerate(result.history):
        expected = 0.0
        for value in per_batch[epoch * BATCHES : (epoch + 1) * BATCHES]:  # summed in the order of the batches
            expected += value
        assert entry["train_loss"] == pytest.approx(expected / samples, rel=1e-12, abs=0)
