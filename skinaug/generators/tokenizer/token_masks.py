"""Lesion masks at the resolution of each token map.

A token at scale s covers an (H/s) x (W/s) patch of the image. It is a *lesion* token if ANY part of its
patch overlaps the lesion (its area-downsampled lesion fraction is > 0), so every non-lesion token is pure
background. The tokenizer's lesion-focused loss is computed on the non-lesion tokens only, and zero-shot
in-painting teacher-forces exactly these non-lesion tokens from the source image; both need the guarantee
that a non-lesion token does not contain any lesion pixel.

Area downsampling of a 0/1 map gives a fraction that is exactly 0.0 where the window holds only zeros, so
"> 0" is an exact any-overlap test. Where s does not divide H, the pooling windows (PyTorch's adaptive
average pooling: [floor(i*H/s), ceil((i+1)*H/s))) cover every pixel the token's exact patch touches, so a
pixel shared by two tokens marks both (the rule errs towards "lesion").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def token_masks(mask: torch.Tensor, scales: Sequence[int]) -> list[torch.Tensor]:
    """Per scale s, a bool tensor B x s x s: True where the token's patch overlaps the lesion.

    `mask` is B x H x W (or B x 1 x H x W), bool or float (any value > 0 counts as lesion: soft masks with
    partial pixels count as overlapping). Each sample keeps its own mask.
    """
    if mask.dim() == 4:
        if mask.shape[1] != 1:
            raise ValueError(f"token_masks: expected a B x H x W or B x 1 x H x W mask, got {tuple(mask.shape)}")
        mask = mask[:, 0]
    if mask.dim() != 3:
        raise ValueError(f"token_masks: expected a B x H x W mask, got {tuple(mask.shape)}")
    occupied = (mask > 0).to(torch.float32).unsqueeze(1)  # B x 1 x H x W, exactly 0/1
    out = []
    for s in scales:
        fraction = F.adaptive_avg_pool2d(occupied, (int(s), int(s)))  # = F.interpolate(mode="area")
        out.append(fraction[:, 0] > 0)
    return out
