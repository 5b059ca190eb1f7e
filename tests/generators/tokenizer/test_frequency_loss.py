"""The frequency term: zero for a perfect reconstruction, costly for lost detail, off by default."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from skinaug.generators.tokenizer import LesionTokenizer
from skinaug.generators.tokenizer.frequency_loss import frequency_loss

from .conftest import batch, small_config


def test_lost_detail_costs_more_than_a_colour_shift_of_the_same_pixel_error() -> None:
    torch.manual_seed(0)
    images = torch.rand(2, 3, 32, 32) * 2 - 1  # fine texture everywhere
    blurred = F.interpolate(F.avg_pool2d(images, 4), scale_factor=4, mode="nearest")
    l1_blur = (blurred - images).abs().mean()
    shifted = images + l1_blur  # the same mean absolute error, spread as a uniform shift
    assert torch.isclose((shifted - images).abs().mean(), l1_blur)
    assert frequency_loss(images, images) == 0
    assert frequency_loss(blurred, images) > 5 * frequency_loss(shifted, images)


def test_the_weight_adds_the_term_to_the_total_and_zero_leaves_the_objective_as_it_was() -> None:
    images, masks = batch(2)
    torch.manual_seed(0)
    plain = LesionTokenizer(small_config())
    torch.manual_seed(0)
    weighted = LesionTokenizer(small_config(frequency_weight=0.5))
    out_plain, out_weighted = plain(images, masks), weighted(images, masks)
    assert "frequency" not in out_plain.losses
    expected = 0.5 * frequency_loss(out_weighted.recon, images)
    torch.testing.assert_close(out_weighted.losses["frequency"], expected)
    torch.testing.assert_close(out_weighted.losses["total"] - out_plain.losses["total"], expected)
    out_weighted.losses["frequency"].backward()
    assert weighted.decoder.last_layer.grad is not None and weighted.decoder.last_layer.grad.abs().sum() > 0
