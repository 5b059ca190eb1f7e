"""VAR training: the loss, the initialisation, a tiny overfit."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from skinaug.generators.var import VARTransformer

from .conftest import MDIM, SCALES, VOCAB, inputs, make_model, random_indices, tokenizer_config, transformer_config


def test_loss_matches_cross_entropy(quantizer):
    model = make_model()
    labels, meas = inputs(2)
    indices = random_indices(2)
    logits = model(labels, meas, quantizer.indices_to_var_input(indices), drop=False)
    out = model.loss(logits, indices)
    target = torch.cat([ix.flatten(1) for ix in indices], 1)
    torch.testing.assert_close(out.loss, F.cross_entropy(logits.flatten(0, 1), target.flatten()))
    assert out.scale_losses.shape == (len(SCALES),) and out.scale_accuracy.shape == (len(SCALES),)
    b, e = model.begin_ends[2]
    torch.testing.assert_close(
        out.scale_losses[2], F.cross_entropy(logits[:, b:e].flatten(0, 1), target[:, b:e].flatten())
    )
    assert 0.0 <= float(out.accuracy) <= 1.0


def test_initialisation_is_var_like():
    model = make_model(randomize=False)
    gates = model.blocks[0].ada[-1].weight[: 2 * model.width]
    assert gates.abs().max() < 1e-5
    assert model.head.head.weight.abs().max() < 0.02 * 2 * math.sqrt(1 / (3 * model.width)) + 1e-7


def test_loss_falls_on_tiny_overfit(quantizer):
    torch.manual_seed(0)
    model = VARTransformer(transformer_config(class_drop=0.0, measurement_drop=0.0, joint_drop=0.0), tokenizer_config())
    indices = random_indices(4, seed=9)
    labels = torch.arange(4)
    meas = torch.randn(4, MDIM)
    with torch.no_grad():
        var_input = quantizer.indices_to_var_input(indices)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.05)
    model.train()
    losses = []
    for _ in range(35):
        out = model.loss(model(labels, meas, var_input), indices)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    assert losses[0] == pytest.approx(math.log(VOCAB), rel=0.1)
    assert losses[-1] < 0.3 * losses[0], losses[::10]
    assert float(out.accuracy) > 0.8
