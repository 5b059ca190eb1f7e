"""The multi-scale lesion-focused tokenizer of LF-VAR (a VAR-style multi-scale VQ-VAE, eq. 2 of the paper).

blocks.py         ResBlock, Downsample, Upsample, AttnBlock
autoencoder.py    Encoder (image -> f) and Decoder (f_hat -> image)
quantizer.py      MultiScaleQuantizer: residual quantization over the scales, one shared codebook,
                  collapse guard; the protocol the VAR transformer uses
lesion_focus.py   eq. 2's per-scale non-lesion term on the reconstruction (acts on the decoder)
token_masks.py    token_masks: the lesion mask at every scale (any-overlap rule)
discriminator.py  PatchGAN, hinge losses, VQGAN's adaptive weight
feature_distance.py  FeatureDistance: the LPIPS-style distance in a frozen network's feature layers
perceptual.py     LPIPS-style VGG16 loss (a local file or torchvision's weights)
classifier_perceptual.py  the same distance on a saved lesion classifier's features (no download)
frequency_loss.py the L1 distance of the images' spectra (optional fine-detail term)
model.py          LesionTokenizer (forward -> TokenizerOutput)
train_step.py     TokenizerTrainer: one generator + discriminator step, resumable state
"""

from .autoencoder import Decoder, Encoder
from .discriminator import PatchDiscriminator, adaptive_weight, hinge_d_loss, hinge_g_loss
from .lesion_focus import lesion_focus_loss
from .model import LesionTokenizer, TokenizerOutput
from .perceptual import PERCEPTUAL_OFF, PerceptualLoss, describe_perceptual, load_perceptual
from .quantizer import MultiScaleQuantizer, QuantizerOutput
from .token_masks import token_masks
from .train_step import TokenizerTrainer, psnr

__all__ = [
    "Decoder",
    "Encoder",
    "LesionTokenizer",
    "MultiScaleQuantizer",
    "PERCEPTUAL_OFF",
    "PatchDiscriminator",
    "PerceptualLoss",
    "QuantizerOutput",
    "TokenizerOutput",
    "TokenizerTrainer",
    "adaptive_weight",
    "describe_perceptual",
    "hinge_d_loss",
    "hinge_g_loss",
    "lesion_focus_loss",
    "load_perceptual",
    "psnr",
    "token_masks",
]
