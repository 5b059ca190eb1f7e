"""A frequency-domain reconstruction loss: the mean L1 distance of two images' 2-D spectra.

Pixel losses (L2, L1) are dominated by low frequencies: a reconstruction that loses all fine texture (pigment
network, vessels, the detail that tells lesion types apart) can score as well as one with a small colour shift.
The L1 distance of the orthonormal spectra weighs an error at every frequency by its amplitude, so missing detail
costs about as much as a shift of the same size. In the spirit of the focal frequency loss (Jiang et al., ICCV
2021) without its adaptive weights. Computed in float32 (FFTs of bf16 tensors are not supported everywhere).
"""

from __future__ import annotations

import torch


def frequency_loss(recon: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Mean |FFT2(recon) - FFT2(images)| over channels and frequencies (orthonormal FFT, B x C x H x W inputs)."""
    diff = torch.fft.rfft2(recon.float(), norm="ortho") - torch.fft.rfft2(images.float(), norm="ortho")
    return diff.abs().mean()
