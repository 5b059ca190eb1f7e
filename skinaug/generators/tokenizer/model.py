"""LesionTokenizer: encoder -> quant_conv -> multi-scale quantizer -> post_quant_conv -> decoder.

Images are B x 3 x H x W floats in [-1, 1] (H = W = config.image_size); lesion masks are B x H x W (bool or
float, > 0 = lesion), one per sample.

`forward` returns the losses of eq. 2 that need neither the discriminator nor a perceptual network:
- 'pixel'        ||I - I_hat||^2 + |I - I_hat| (mean squared + mean absolute error; eq. 2 has the L2 term, the
                 L1 term sharpens the reconstruction as in VQGAN),
- 'latent'       ||f - f_hat||^2,
- 'lesion_focus' lesion_focus * the per-scale non-lesion token term of the reconstruction (lesion_focus.py;
                 always computed, so lesion_focus = 0 gives 0 at equal compute),
- 'codebook'     VAR's per-scale codebook + commitment terms,
- 'frequency'    frequency_weight * the L1 distance of the images' spectra (frequency_loss.py; only with a
                 weight > 0): not in the paper, it makes the loss of fine texture cost as much as a colour shift,
- 'total'        the sum of them.
The perceptual and adversarial terms are added by TokenizerTrainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import TokenizerConfig
from .autoencoder import Decoder, Encoder
from .frequency_loss import frequency_loss
from .lesion_focus import lesion_focus_loss
from .quantizer import MultiScaleQuantizer
from .token_masks import token_masks


@dataclass
class TokenizerOutput:
    """What `LesionTokenizer.forward` returns."""

    recon: torch.Tensor  # B x 3 x H x W reconstruction (not clamped)
    f: torch.Tensor  # B x d x h x w latent before quantization
    f_hat: torch.Tensor  # B x d x h x w quantized latent (straight-through)
    indices: list[torch.Tensor]  # per scale B x s_k x s_k token ids
    losses: dict[str, torch.Tensor]  # 'pixel', 'latent', 'lesion_focus', 'codebook', 'total'
    stats: dict[str, torch.Tensor] = field(default_factory=dict)  # 'usage', 'perplexity' (per scale), ...


class LesionTokenizer(nn.Module):
    """The multi-scale lesion-focused VQ-VAE of LF-VAR (section 2.1, eq. 2)."""

    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        if config.image_size % 2 ** (len(config.channel_mult) - 1):
            raise ValueError(f"image_size {config.image_size} is not divisible by 2**{len(config.channel_mult) - 1}")
        self.config = config
        self.encoder = Encoder(config)
        self.quant_conv = nn.Conv2d(config.latent_dim, config.latent_dim, 3, padding=1)
        self.quantizer = MultiScaleQuantizer(config)
        self.post_quant_conv = nn.Conv2d(config.latent_dim, config.latent_dim, 3, padding=1)
        self.decoder = Decoder(config)

    @property
    def scales(self) -> tuple[int, ...]:
        return self.quantizer.scales

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images -> f (B x d x h x w), the quantizer's input."""
        return self.quant_conv(self.encoder(images))

    def decode(self, f_hat: torch.Tensor) -> torch.Tensor:
        """Quantized latent f_hat -> image (not clamped)."""
        return self.decoder(self.post_quant_conv(f_hat))

    def forward(self, images: torch.Tensor, masks: torch.Tensor | None = None) -> TokenizerOutput:
        """Encode, quantize, decode; `masks` (B x H x W) drive the lesion-focused loss (None: all background)."""
        f = self.encode(images)
        q = self.quantizer(f)
        recon = self.decode(q.f_hat)
        pixel = F.mse_loss(recon, images) + F.l1_loss(recon, images)
        tmasks = token_masks(masks, self.quantizer.scales) if masks is not None else None
        focus = lesion_focus_loss(recon, images, self.quantizer.scales, tmasks)
        losses = {"pixel": pixel, **q.losses, "lesion_focus": self.config.lesion_focus * focus}
        losses["total"] = pixel + losses["latent"] + losses["lesion_focus"] + losses["codebook"]
        if self.config.frequency_weight > 0:
            losses["frequency"] = self.config.frequency_weight * frequency_loss(recon, images)
            losses["total"] = losses["total"] + losses["frequency"]
        return TokenizerOutput(recon=recon, f=f, f_hat=q.f_hat, indices=q.indices, losses=losses, stats=q.stats)

    @torch.no_grad()
    def images_to_indices(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Token maps of images: per scale a LongTensor B x s_k x s_k."""
        return self.quantizer.f_to_indices(self.encode(images))

    @torch.no_grad()
    def f_hat_to_images(self, f_hat: torch.Tensor) -> torch.Tensor:
        """A quantized latent (e.g. from the transformer's next_input chain) -> images clamped to [-1, 1]."""
        return self.decode(f_hat).clamp(-1, 1)

    @torch.no_grad()
    def indices_to_images(self, indices: list[torch.Tensor]) -> torch.Tensor:
        """Token maps (B x s_k x s_k or B x s_k**2 per scale) -> images clamped to [-1, 1]."""
        return self.f_hat_to_images(self.quantizer.indices_to_f_hat(indices))

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Images -> tokens -> images, clamped to [-1, 1]."""
        return self.indices_to_images(self.images_to_indices(images))
