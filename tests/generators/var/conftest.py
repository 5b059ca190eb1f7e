"""Helpers for the VAR tests: a tiny quantizer, transformer and inputs (CPU)."""

from __future__ import annotations

import pytest
import torch

from skinaug.generators.config import TokenizerConfig, TransformerConfig
from skinaug.generators.tokenizer.quantizer import MultiScaleQuantizer
from skinaug.generators.var import VARTransformer

SCALES = (1, 2, 3, 4)
VOCAB = 32
LATENT = 8
CLASSES = 4
MDIM = 5


def make_quantizer():
    """The tokenizer's MultiScaleQuantizer (random codebook and phi convs, eval mode)."""
    torch.manual_seed(0)
    return MultiScaleQuantizer(tokenizer_config()).eval()


def tokenizer_config():
    return TokenizerConfig(image_size=16, channel_mult=(1, 2, 2), latent_dim=LATENT, vocab_size=VOCAB, scales=SCALES)


def transformer_config(**kw):
    base = dict(depth=2, width=32, heads=2, num_classes=CLASSES, measurement_dim=MDIM, measurements="adaptive")
    base.update(kw)
    return TransformerConfig(**base)


def make_model(seed=0, randomize=True, **kw):
    """A tiny model; `randomize` gives the AdaLN gates and head real weights so that every path matters."""
    torch.manual_seed(seed)
    model = VARTransformer(transformer_config(**kw), tokenizer_config())
    if randomize:
        with torch.no_grad():
            for block in model.blocks:
                block.ada[-1].weight.normal_(0, 0.2)
                block.ada[-1].bias.normal_(0, 0.2)
            model.head.head.weight.normal_(0, 0.3)
            if model.condition_encoder.null_measurement is not None:
                model.condition_encoder.null_measurement.normal_(0, 0.5)
    return model.eval()


def random_indices(batch, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, VOCAB, (batch, s, s), generator=g) for s in SCALES]


def inputs(batch, seed=2):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, CLASSES, (batch,), generator=g)
    meas = torch.randn(batch, MDIM, generator=g)
    return labels, meas


@pytest.fixture(scope="module")
def quantizer():
    return make_quantizer()
