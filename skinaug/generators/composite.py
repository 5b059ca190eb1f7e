"""Putting a generated lesion back into its source image: the background stays exactly the source's.

alpha = 1 on the (dilated) lesion mask, falls off smoothly over `feather` pixels outside it, and is exactly 0
beyond; output = alpha * generated + (1 - alpha) * source, so every pixel with alpha 0 is the source pixel,
bit for bit (the authors' code kept only the tokenizer's reconstruction of the background).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def dilate(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """Binary dilation of B x H x W masks by a square of radius `pixels`."""
    if pixels <= 0:
        return mask.bool()
    return F.max_pool2d(mask.float()[:, None], 2 * pixels + 1, stride=1, padding=pixels)[:, 0] > 0.5


def blend_weights(mask: torch.Tensor, dilation: int = 2, feather: int = 3) -> torch.Tensor:
    """Per-pixel weight of the generated image (B x H x W, float in [0, 1], exactly 0 far from the lesion)."""
    core = dilate(mask, dilation)
    if feather <= 0:
        return core.float()
    outer = dilate(core, feather)
    distance = torch.zeros_like(core, dtype=torch.float32)
    grown = core
    for step in range(1, feather + 1):  # Chebyshev distance rings around the core
        ring = dilate(grown, 1) & ~grown
        distance[ring] = step
        grown = grown | ring
    weight = torch.where(core, torch.ones_like(distance), 1.0 - distance / (feather + 1))
    return torch.where(outer, weight, torch.zeros_like(weight)).clamp(0.0, 1.0)


def composite(
    source: torch.Tensor, generated: torch.Tensor, mask: torch.Tensor, dilation: int = 2, feather: int = 3
) -> torch.Tensor:
    """Blend B x 3 x H x W generated images into their sources inside each sample's own mask."""
    weight = blend_weights(mask, dilation, feather)[:, None].to(source.dtype)
    out = weight * generated + (1.0 - weight) * source
    return torch.where(weight > 0, out, source)
