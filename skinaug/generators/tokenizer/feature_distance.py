"""The LPIPS-style distance of two image batches in a frozen network's feature layers (Zhang et al. 2018, with
uniform layer weights: the learned per-channel heads need BAPPS-trained weights that cannot be downloaded here).

At each layer the subclass gives, features are normalised to unit length along the channel axis, the squared
differences summed over channels and averaged over positions; the layers are summed. Subclasses:
PerceptualLoss (perceptual.py, VGG16) and ClassifierPerceptualLoss (classifier_perceptual.py, a saved lesion
classifier).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


class FeatureDistance(nn.Module):
    """Scalar distance between image batches in [-1, 1]; frozen, always in eval mode. Subclasses set the network
    and implement `_layers` (features of already normalised images) and `describe`."""

    mean: torch.Tensor  # buffers (see __init__)
    std: torch.Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean)).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(list(std)).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "FeatureDistance":
        return super().train(False)  # batch norm keeps its statistics, dropout stays off: the network as given

    def _layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The compared feature maps of images in [-1, 1] (normalised with the network's mean and std first)."""
        return self._layers(((images + 1) / 2 - self.mean) / self.std)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scalar: mean over the batch of the summed per-layer distances between a and b."""
        total = a.new_zeros(())
        for fa, fb in zip(self.features(a), self.features(b)):
            diff = F.normalize(fa, dim=1, eps=1e-10) - F.normalize(fb, dim=1, eps=1e-10)
            total = total + diff.square().sum(dim=1).mean()
        return total

    def describe(self) -> str:
        """What is compared, for the training log and the model card."""
        raise NotImplementedError
