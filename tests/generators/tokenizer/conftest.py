"""Helpers for the tokenizer tests: one thread, a 32 px tokenizer config, random lesion batches."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from skinaug.generators.config import TokenizerConfig, get_config
from skinaug.generators.tokenizer import LesionTokenizer


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small convolutions run several times faster on one thread than on two contended cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small_config(**changes) -> TokenizerConfig:
    """The tiny config shrunk to 32 px (latent 8 x 8, scales 1..8 as in tiny) for fast CPU tests."""
    base = get_config("tiny").tokenizer
    values = dict(image_size=32, channels=16, channel_mult=(1, 2, 2), latent_dim=8, vocab_size=64)
    values.update(changes)
    return dataclasses.replace(base, **values)


def batch(n: int = 2, size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images in [-1, 1] and disc-shaped lesion masks of different centres per sample."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    masks = torch.stack(
        [(yy - size * (0.3 + 0.4 * i / max(1, n - 1))) ** 2 + (xx - size / 2) ** 2 < (size / 5) ** 2 for i in range(n)]
    )
    return images, masks


@pytest.fixture(scope="module")
def model() -> LesionTokenizer:
    torch.manual_seed(0)
    return LesionTokenizer(small_config()).eval()
