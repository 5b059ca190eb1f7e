"""PatchGAN discriminator (pix2pix/VQGAN NLayerDiscriminator layout), hinge losses, VQGAN's adaptive weight."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from ..distributed import Distributed, sum_over_ranks
from .blocks import group_norm


class PatchDiscriminator(nn.Module):
    """Scores overlapping patches of a B x 3 x H x W image in [-1, 1] -> B x 1 x h' x w' logits.

    Layout: 4x4 stride-2 conv + LeakyReLU(0.2); `layers - 1` more stride-2 convs of doubling width (capped at
    8x `channels`); one stride-1 conv; a stride-1 conv to one channel. `norm` = "spectral" (spectral norm on
    every conv, no normalisation layers) or "group" (GroupNorm after the inner convs).
    """

    def __init__(self, channels: int = 64, layers: int = 3, norm: str = "spectral") -> None:
        super().__init__()
        if norm not in ("spectral", "group"):
            raise ValueError(f"discriminator norm must be 'spectral' or 'group', got {norm!r}")

        def conv(cin: int, cout: int, stride: int) -> nn.Module:
            c = nn.Conv2d(cin, cout, 4, stride=stride, padding=1, bias=norm == "spectral")
            return spectral_norm(c) if norm == "spectral" else c

        def inner(cin: int, cout: int, stride: int) -> list[nn.Module]:
            mods = [conv(cin, cout, stride)]
            if norm == "group":
                mods.append(group_norm(cout))
            return [*mods, nn.LeakyReLU(0.2)]

        mods: list[nn.Module] = [conv(3, channels, 2), nn.LeakyReLU(0.2)]
        width = channels
        for n in range(1, layers):
            out = channels * min(2**n, 8)
            mods += inner(width, out, 2)
            width = out
        out = channels * min(2**layers, 8)
        mods += inner(width, out, 1)
        final = nn.Conv2d(out, 1, 4, stride=1, padding=1)
        mods.append(spectral_norm(final) if norm == "spectral" else final)
        self.net = nn.Sequential(*mods)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


def hinge_d_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss: mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))."""
    return F.relu(1.0 - logits_real).mean() + F.relu(1.0 + logits_fake).mean()


def hinge_g_loss(logits_fake: torch.Tensor) -> torch.Tensor:
    """Generator hinge loss: -mean(D(fake))."""
    return -logits_fake.mean()


def adaptive_weight(
    nll_loss: torch.Tensor,
    g_loss: torch.Tensor,
    last_layer: torch.Tensor,
    max_weight: float = 1e4,
    ranks: Distributed | None = None,
) -> torch.Tensor:
    """VQGAN's balance: ||d nll / d last|| / (||d g / d last|| + 1e-4), clamped to [0, max_weight], detached.

    `last_layer` is the decoder's final conv weight (the module's own parameter, not through a DDP wrapper:
    torch.autograd.grad bypasses DDP's reducer, so nothing is averaged for it); both losses must still have
    their graphs. With `ranks` (several processes) both gradients are averaged over the ranks first, so the
    weight is the global batch's, the same on every rank (each rank's own weight would differ and scale its
    share of the gradient differently from a single process on the whole batch).
    """
    nll_grads = torch.autograd.grad(nll_loss, last_layer, retain_graph=True)[0]
    g_grads = torch.autograd.grad(g_loss, last_layer, retain_graph=True)[0]
    if ranks is not None and ranks.enabled:
        both = sum_over_ranks(torch.stack([nll_grads, g_grads]), ranks) / ranks.world
        nll_grads, g_grads = both[0], both[1]
    weight = nll_grads.norm() / (g_grads.norm() + 1e-4)
    return weight.clamp(0.0, max_weight).detach()
