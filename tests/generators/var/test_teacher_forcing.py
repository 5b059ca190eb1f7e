"""The VAR transformer under teacher forcing: block-causal mask, KV cache, shapes."""

from __future__ import annotations

import pytest
import torch

from skinaug.errors import SkinaugError
from skinaug.generators.var import block_causal_mask

from .conftest import CLASSES, LATENT, SCALES, VOCAB, inputs, make_model, random_indices


def test_block_causal_mask_structure():
    mask = block_causal_mask(SCALES)
    level = torch.cat([torch.full((s * s,), k) for k, s in enumerate(SCALES)])
    assert mask.shape == (30, 30)
    for i in range(30):
        for j in range(30):
            assert bool(mask[i, j]) == bool(level[j] <= level[i])


def test_changing_scale_k_changes_only_scales_from_k(quantizer):
    model = make_model()
    labels, meas = inputs(2)
    var_input = quantizer.indices_to_var_input(random_indices(2))
    base = model(labels, meas, var_input, drop=False)
    assert base.shape == (2, model.num_tokens, VOCAB) and base.dtype == torch.float32
    first = model.first_len
    for k in range(1, len(SCALES)):
        b, e = model.begin_ends[k]
        changed = var_input.clone()
        changed[:, b - first : e - first] += torch.randn(2, e - b, LATENT)
        out = model(labels, meas, changed, drop=False)
        torch.testing.assert_close(out[:, :b], base[:, :b], rtol=0, atol=1e-6)
        for j in range(k, len(SCALES)):
            bj, ej = model.begin_ends[j]
            assert (out[:, bj:ej] - base[:, bj:ej]).abs().max() > 1e-4, (k, j)
    # the condition (start token + AdaLN) reaches every scale
    out = model(torch.tensor([(int(labels[0]) + 1) % CLASSES, int(labels[1])]), meas, var_input, drop=False)
    for b, e in model.begin_ends:
        assert (out[0, b:e] - base[0, b:e]).abs().max() > 1e-4
    torch.testing.assert_close(out[1], base[1])


def test_cached_steps_equal_full_forward(quantizer):
    model = make_model()
    labels, meas = inputs(3)
    var_input = quantizer.indices_to_var_input(random_indices(3))
    full = model(labels, meas, var_input, drop=False)
    cond = model.condition(labels, meas)
    caches = model.new_caches()
    first = model.first_len
    for k, (b, e) in enumerate(model.begin_ends):
        x = (
            model.scale_tokens(0, cond=cond)
            if k == 0
            else model.scale_tokens(k, inputs=var_input[:, b - first : e - first])
        )
        logits = model.step(x, cond, caches)
        torch.testing.assert_close(logits, full[:, b:e], rtol=1e-4, atol=1e-5)
    assert all(len(c) == model.num_tokens for c in caches)


def test_no_l2_norm_variant_and_wrong_shapes(quantizer):
    model = make_model(attn_l2_norm=False)
    labels, meas = inputs(2)
    var_input = quantizer.indices_to_var_input(random_indices(2))
    assert torch.isfinite(model(labels, meas, var_input)).all()
    with pytest.raises(SkinaugError):
        model(labels, meas, var_input[:, :-1])
    with pytest.raises(SkinaugError):
        model.loss(model(labels, meas, var_input), random_indices(2)[:-1])
