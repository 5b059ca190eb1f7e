"""The lesion-focused loss: what it ignores, its weight, and where its gradient goes."""

from __future__ import annotations

import torch

from skinaug.generators.tokenizer import LesionTokenizer, MultiScaleQuantizer, lesion_focus_loss, token_masks

from .conftest import batch, small_config


def test_lesion_focus_loss_ignores_everything_inside_lesion_tokens() -> None:
    g = torch.Generator().manual_seed(2)
    scales = (1, 2, 4, 8)
    residuals = [torch.randn(2, 8, s, s, generator=g) for s in scales]
    quantized = [torch.randn(2, 8, s, s, generator=g) for s in scales]
    pixel_mask = torch.zeros(2, 32, 32, dtype=torch.bool)
    pixel_mask[0, 4:12, 4:12] = True
    pixel_mask[1, 20:30, 2:9] = True
    masks = token_masks(pixel_mask, scales)
    loss = lesion_focus_loss(residuals, quantized, masks)
    assert loss > 0
    changed = [r.clone() for r in residuals]
    for r, m in zip(changed, masks):
        r += 100.0 * m.unsqueeze(1) * torch.randn(r.shape, generator=g)    # only lesion tokens change
    torch.testing.assert_close(lesion_focus_loss(changed, quantized, masks), loss, atol=0, rtol=0)
    changed[-1][:, :, 0, 7] += 1.0                                         # a background token changes
    assert lesion_focus_loss(changed, quantized, masks) > loss
    # The definition: per scale the masked mean-over-channels squared error over B * s^2 tokens, then a mean.
    expected = sum(((r - q).square().mean(1) * ~m).sum() / m.numel()
                   for r, q, m in zip(residuals, quantized, masks)) / len(scales)
    torch.testing.assert_close(loss, expected)
    all_lesion = [torch.ones_like(m) for m in masks]
    assert lesion_focus_loss(residuals, quantized, all_lesion) == 0
    assert lesion_focus_loss(residuals, quantized, None) > loss            # no mask: all background


def test_lesion_region_features_do_not_change_the_term_end_to_end() -> None:
    # One scale and no phi make tokens independent, so the property holds for the whole quantizer.
    q = MultiScaleQuantizer(small_config(scales=(8,), phi_mix=0.0, lesion_focus=1.0)).eval()
    g = torch.Generator().manual_seed(3)
    f = torch.randn(2, 8, 8, 8, generator=g)
    pixel_mask = torch.zeros(2, 32, 32, dtype=torch.bool)
    pixel_mask[:, 8:20, 12:24] = True
    tmasks = token_masks(pixel_mask, q.scales)
    base = q(f, tmasks).losses["lesion_focus"]
    inside = f + 5.0 * tmasks[0].unsqueeze(1) * torch.randn(f.shape, generator=g)
    assert q(inside, tmasks).losses["lesion_focus"] == base
    outside = f + 5.0 * (~tmasks[0]).unsqueeze(1) * torch.randn(f.shape, generator=g)
    assert q(outside, tmasks).losses["lesion_focus"] != base


def test_lesion_focus_weight_enters_the_total_and_zero_removes_it() -> None:
    images, masks = batch(2)
    outputs = {}
    for weight in (0.0, 1.0, 2.0):
        torch.manual_seed(0)
        outputs[weight] = LesionTokenizer(small_config(lesion_focus=weight)).eval()(images, masks).losses
    on, off = outputs[1.0], outputs[0.0]
    assert on["lesion_focus"] > 0
    assert off["lesion_focus"] == 0 and not off["lesion_focus"].requires_grad
    torch.testing.assert_close(outputs[2.0]["lesion_focus"], 2 * on["lesion_focus"])
    for losses in (on, off):
        parts = losses["pixel"] + losses["latent"] + losses["lesion_focus"] + losses["codebook"]
        torch.testing.assert_close(losses["total"], parts)
    for name in ("pixel", "latent", "codebook"):
        torch.testing.assert_close(on[name], off[name])


def test_lesion_focus_gradient_reaches_encoder_and_codebook() -> None:
    torch.manual_seed(0)
    m = LesionTokenizer(small_config())
    images, masks = batch(2)
    m(images, masks).losses["lesion_focus"].backward()
    assert m.encoder.conv_in.weight.grad.abs().sum() > 0
    assert m.quantizer.codebook.weight.grad.abs().sum() > 0
    assert m.decoder.conv_out.weight.grad is None
