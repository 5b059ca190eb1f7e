"""The training loop tells a phased sampler which epoch it draws: a -finish<K> arm really ends on real images."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import TensorDataset

from skinaug.classifiers.train import TrainConfig, make_loader, train_classifier
from skinaug.data import PhasedSampler
from skinaug.labels import CLASSES


class _Recording(torch.utils.data.Sampler[int]):
    """Draws a fixed list of indices and records every index it handed out."""

    def __init__(self, indices: list[int], log: list[int]) -> None:
        self.indices, self.log = indices, log

    def __iter__(self):  # type: ignore[no-untyped-def]
        self.log.extend(self.indices)
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def test_the_last_epochs_draw_from_the_second_phase() -> None:
    torch.manual_seed(0)
    images = torch.randn(16, 3, 8, 8)
    labels = torch.arange(16) % len(CLASSES)
    data = TensorDataset(images, labels)
    first_log: list[int] = []
    then_log: list[int] = []
    sampler = PhasedSampler(_Recording(list(range(8)), first_log), _Recording(list(range(8, 16)), then_log), 3)
    loader = make_loader(data, batch_size=4, workers=0, sampler=sampler)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, len(CLASSES)))
    config = TrainConfig(epochs=5, batch_size=4, patience=100, device="cpu", channels_last=False)
    train_classifier(model, loader, make_loader(data, 4, 0), config, seed=0, progress=False)
    assert first_log == list(range(8)) * 3  # epochs 1-3
    assert then_log == list(range(8, 16)) * 2  # epochs 4-5
