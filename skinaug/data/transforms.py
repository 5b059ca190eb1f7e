"""Standard dermoscopy augmentation (torchvision v2) for the uint8 C x H x W tensors the datasets return."""

from __future__ import annotations

import torch
from torchvision.transforms import v2

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


Normalisation = tuple[tuple[float, ...], tuple[float, ...]]  # (mean, std) per channel
IMAGENET: Normalisation = (IMAGENET_MEAN, IMAGENET_STD)


def _to_normalised_float(normalisation: Normalisation) -> list[v2.Transform]:
    mean, std = normalisation
    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))]


def train_transform(image_size: int, normalisation: Normalisation = IMAGENET) -> v2.Compose:
    """Flips, any-angle rotation (fill 0), RandomResizedCrop(0.75-1), colour jitter, then float + normalisation
    (the model's own mean/std; ImageNet's by default).

    Lesions have no canonical orientation, so both flips and full rotations are label-preserving.
    """
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(),
            v2.RandomVerticalFlip(),
            v2.RandomRotation(180, interpolation=v2.InterpolationMode.BILINEAR, fill=0),
            v2.RandomResizedCrop(image_size, scale=(0.75, 1.0), ratio=(0.9, 1.1), antialias=True),
            v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02),
            *_to_normalised_float(normalisation),
        ]
    )


def eval_transform(normalisation: Normalisation = IMAGENET) -> v2.Compose:
    """float32 in 0..1 then normalisation (ImageNet's by default); no randomness."""
    return v2.Compose(_to_normalised_float(normalisation))
