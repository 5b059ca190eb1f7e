"""The lesion-focused loss: what it ignores, its weight, and where its gradient goes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from skinaug.generators.tokenizer import LesionTokenizer, lesion_focus_loss, token_masks

from .conftest import batch, small_config


def test_lesion_focus_loss_ignores_everything_inside_lesion_tokens() -> None:
    g = torch.Generator().manual_seed(2)
    scales = (1, 2, 3, 4, 6, 8)
    recon = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    source = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    pixel_mask = torch.zeros(2, 32, 32, dtype=torch.bool)
    pixel_mask[0, 4:12, 4:12] = True
    pixel_mask[1, 20:30, 2:9] = True
    masks = token_masks(pixel_mask, scales)
    loss = lesion_focus_loss(recon, source, scales, masks)
    assert loss > 0
    changed = recon + 100.0 * pixel_mask.unsqueeze(1) * torch.randn(recon.shape, generator=g)  # lesion pixels
    torch.testing.assert_close(lesion_focus_loss(changed, source, scales, masks), loss, atol=0, rtol=0)
    changed[:, :, 0, 31] += 1.0  # a background pixel changes
    assert lesion_focus_loss(changed, source, scales, masks) > loss
    # The definition: per scale the masked mean-over-channels squared error of the area-downsampled image
    # difference over B * s^2 tokens, then a mean over scales.
    expected = sum(
        (F.adaptive_avg_pool2d(recon - source, (s, s)).square().mean(1) * ~m).sum() / m.numel()
        for s, m in zip(scales, masks)
    ) / len(scales)
    torch.testing.assert_close(loss, expected)
    all_lesion = [torch.ones_like(m) for m in masks]
    assert lesion_focus_loss(recon, source, scales, all_lesion) == 0
    assert lesion_focus_loss(recon, source, scales, None) > loss  # no mask: all background


def test_lesion_focus_changes_when_the_decoders_background_changes() -> None:
    # The issue: the term must act on what the decoder produces. Perturbing the decoder's output outside the
    # lesion moves it; inside the lesion leaves it exactly as it was.
    torch.manual_seed(0)
    m = LesionTokenizer(small_config()).eval()
    images, masks = batch(2)
    with torch.no_grad():
        before = m(images, masks).losses["lesion_focus"]
        m.decoder.conv_out.bias.add_(0.2)  # shifts the decoder's output everywhere
        after = m(images, masks).losses["lesion_focus"]
        assert abs(after - before) > 0.1 * before
        recon = m(images, masks).recon
    tmasks = token_masks(masks, m.scales)
    bump = 0.3 * torch.randn(recon.shape, generator=torch.Generator().manual_seed(1)) + 0.2
    base = lesion_focus_loss(recon, images, m.scales, tmasks)
    inside = lesion_focus_loss(recon + bump * masks[:, None], images, m.scales, tmasks)
    outside = lesion_focus_loss(recon + bump * ~masks[:, None], images, m.scales, tmasks)
    assert inside == base
    assert abs(outside - base) > 0.1 * base


def test_lesion_focus_weight_enters_the_total_and_zero_removes_it_at_equal_compute() -> None:
    images, masks = batch(2)
    outputs = {}
    for weight in (0.0, 1.0, 2.0):
        torch.manual_seed(0)
        outputs[weight] = LesionTokenizer(small_config(lesion_focus=weight)).eval()(images, masks).losses
    on, off = outputs[1.0], outputs[0.0]
    assert on["lesion_focus"] > 0
    assert off["lesion_focus"] == 0 and off["lesion_focus"].requires_grad  # computed, weighted 0
    torch.testing.assert_close(outputs[2.0]["lesion_focus"], 2 * on["lesion_focus"])
    for losses in (on, off):
        parts = losses["pixel"] + losses["latent"] + losses["lesion_focus"] + losses["codebook"]
        torch.testing.assert_close(losses["total"], parts)
    for name in ("pixel", "latent", "codebook"):
        torch.testing.assert_close(on[name], off[name])


def test_lesion_focus_gradient_reaches_the_decoder() -> None:
    torch.manual_seed(0)
    m = LesionTokenizer(small_config())
    images, masks = batch(2)
    m(images, masks).losses["lesion_focus"].backward()
    assert m.decoder.conv_out.weight.grad.abs().sum() > 0
    assert m.post_quant_conv.weight.grad.abs().sum() > 0
    assert m.encoder.conv_in.weight.grad.abs().sum() > 0  # through the straight-through f_hat
