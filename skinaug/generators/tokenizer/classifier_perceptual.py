"""A perceptual loss on the features of a lesion classifier trained on the real train split (no download).

Where no ImageNet VGG16 can be had (offline, no file), the tokenizer can still be taught what tells lesion types
apart: `--perceptual-weights FOLDER` with a classifier saved by skinaug (`bench-classifier --save-models`,
FOLDER/model.json + model.safetensors, any timm architecture) trained on the real train split. The distance is
LPIPS-style, as in perceptual.py: at each stage of the network's `forward_intermediates`, features normalised to
unit length along channels, squared differences summed over channels and averaged over positions, stages summed
with equal weights. Images in [-1, 1] are resized to the classifier's input size when they differ and normalised
with the mean and std it was trained with.

Never give it the classifier that will judge the reconstructions (e.g. the retention judge of
`skinaug.evaluation.retention`): the tokenizer would learn that network's features and the judge would flatter
it. Train another (another architecture or seed) on the same train split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F

from ...classifiers.saved import classifier_folder, load_classifier, saved_normalisation
from ...errors import SkinaugError
from .feature_distance import FeatureDistance


class ClassifierPerceptualLoss(FeatureDistance):
    """LPIPS-style distance between two image batches in [-1, 1] in a saved classifier's feature stages; frozen."""

    def __init__(self, folder: str | Path) -> None:
        folder = classifier_folder(folder)
        model, meta = load_classifier(folder)
        if not hasattr(model, "forward_intermediates"):
            raise SkinaugError(
                f"{folder}: {meta['arch']} has no forward_intermediates (timm): no feature stages to compare"
            )
        super().__init__(*saved_normalisation(meta))
        self.weights_path = folder
        self.arch = str(meta["arch"])
        self.image_size = int(meta["image_size"])
        self.network = model.eval().requires_grad_(False)

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Feature stages of images in [-1, 1], resized first to the size the classifier was trained at."""
        if images.shape[-2:] != (self.image_size, self.image_size):
            images = F.interpolate(images, size=(self.image_size, self.image_size), mode="bilinear", antialias=True)
        return super().features(images)

    def _layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        return list(cast(Any, self.network).forward_intermediates(x, intermediates_only=True))

    def describe(self) -> str:
        return f"features of the classifier {self.weights_path} ({self.arch}, {self.image_size} px)"
