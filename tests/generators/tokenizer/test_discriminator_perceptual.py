"""The patch discriminator, hinge losses, adaptive weight and the perceptual loss."""

from __future__ import annotations

import pytest
import torch

from skinaug.errors import SkinaugError
from skinaug.generators.config import OptimConfig
from skinaug.generators.tokenizer import (
    PERCEPTUAL_OFF,
    LesionTokenizer,
    PatchDiscriminator,
    TokenizerTrainer,
    adaptive_weight,
    describe_perceptual,
    hinge_d_loss,
    hinge_g_loss,
    load_perceptual,
)

from .conftest import small_config


@pytest.mark.parametrize("norm", ["spectral", "group"])
def test_patch_discriminator_and_hinge_losses(norm: str) -> None:
    d = PatchDiscriminator(channels=8, layers=3, norm=norm)
    logits = d(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert logits.shape == (2, 1, 2, 2)
    assert hinge_d_loss(torch.full((4,), 2.0), torch.full((4,), -2.0)) == 0
    assert hinge_d_loss(torch.zeros(4), torch.zeros(4)) == 2
    assert hinge_g_loss(torch.full((4,), 3.0)) == -3


def test_adaptive_weight_is_the_ratio_of_gradient_norms() -> None:
    last = torch.nn.Parameter(torch.ones(3))
    nll, g = (last * 2).sum(), (last * 0.5).sum()
    torch.testing.assert_close(adaptive_weight(nll, g, last), torch.tensor(2 * 3**0.5 / (0.5 * 3**0.5 + 1e-4)))


def test_perceptual_loss_is_off_without_a_weights_file(tmp_path) -> None:
    assert load_perceptual(None) is None and load_perceptual("") is None
    assert describe_perceptual(None) == PERCEPTUAL_OFF == "perceptual loss: off (no local weights file)"
    trainer = TokenizerTrainer(LesionTokenizer(small_config()), small_config(), OptimConfig())
    assert trainer.perceptual is None and trainer.perceptual_status == PERCEPTUAL_OFF
    with pytest.raises(SkinaugError, match="not found"):
        load_perceptual(tmp_path / "vgg16-397923af.pth")


def test_perceptual_loss_loads_a_local_vgg16_file(tmp_path) -> None:
    from safetensors.torch import save_file
    from torchvision.models import vgg16

    torch.manual_seed(0)
    features = {f"features.{k}": v for k, v in vgg16(weights=None).features.state_dict().items()}
    pth, st = tmp_path / "vgg16-397923af.pth", tmp_path / "vgg16.safetensors"
    torch.save(features, pth)
    save_file(features, str(st))
    a = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    b = torch.rand(2, 3, 32, 32) * 2 - 1
    values = []
    for path in (pth, st):
        p = load_perceptual(path)
        assert describe_perceptual(p).startswith("perceptual loss: on")
        assert not any(t.requires_grad for t in p.parameters())
        value = p(a, b)
        assert value.dim() == 0 and value > 0
        assert p(b, b) == 0
        values.append(value)
    torch.testing.assert_close(values[0], values[1])
    values[0].backward()
    assert a.grad.abs().sum() > 0
    torch.save({"something": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(SkinaugError, match="not VGG16"):
        load_perceptual(tmp_path / "other.pth")
