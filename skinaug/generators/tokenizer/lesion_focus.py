"""Eq. 2's lesion-focused term, acting on what the decoder produces.

    lesion_focus = mean_k  sum_{non-lesion tokens t of scale k}  mean_c ( P_k(x_hat)_t - P_k(x)_t )^2  /  (B * s_k^2)

P_k(y) is the image y area-downsampled to the s_k x s_k token grid of scale k: each token's value is the mean
colour of the image patch it covers (the same pooling windows as `token_masks`). M_k is the lesion mask at
scale k by the any-overlap rule, so only pure-background tokens count, and a change of any lesion pixel of
the reconstruction leaves the term exactly unchanged. Each scale weighs the same whatever its size, and the
K terms are averaged (eq. 2 sums them; the mean only rescales the weight by 1/K). The source side is
stop-gradient; the term trains the decoder (and, through the straight-through f_hat, the encoder).

Why image space and not the tokens' own features. The paper's ||(1 - M_k) . (R_k - R_hat_k)|| compares the
token maps of scale k; the earlier reading here compared the quantizer's residual features with their own
codes, which never involved the decoder (a masked, low-resolution copy of the codebook loss, so
--no-lesion-focus could change nothing measurable). Re-encoding x_hat and comparing the encoder's
per-scale features (R_k(x_hat) - R_k(x) = area_down_k(E(x_hat) - E(x)) against the source's chain) was
tried: the encoder's GroupNorm (and attention at >= 64 px) pools statistics over the whole image, so the
lesion's pixels move every background feature, and at initialisation a perturbation of the lesion moved that
term more than one of the background. P_k is what a scale-k background token has to reproduce, is exactly
blind to the lesion, costs a few poolings, and weights low-frequency background errors (colour shifts of
whole patches, what an inconsistent coarse token shows as) at every scale on top of the full-resolution
pixel loss.

`--no-lesion-focus` sets the weight to 0: the term is still computed (times 0), so both arms of the
ablation run the same computation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def lesion_focus_loss(
    recon: torch.Tensor, images: torch.Tensor, scales: Sequence[int], masks: list[torch.Tensor] | None
) -> torch.Tensor:
    """The unweighted term of the module docstring: recon (B x C x H x W, with gradients) against the source
    images (detached here); masks[k]: B x s_k x s_k bool, True = lesion token (ignored); None = all background."""
    diff = recon.float() - images.detach().float()
    total = diff.new_zeros(())
    for k, s in enumerate(scales):
        err = F.adaptive_avg_pool2d(diff, (int(s), int(s))).square().mean(dim=1)  # B x s x s
        if masks is not None:
            background = ~masks[k].to(device=err.device, dtype=torch.bool)
            err = torch.where(background, err, torch.zeros_like(err))
        total = total + err.sum() / err.numel()
    return total / len(scales)
