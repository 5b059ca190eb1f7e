"""An LPIPS-style perceptual loss on VGG16 features: torchvision's ImageNet VGG16, or a local weights file.

The network is torchvision's VGG16 architecture (its `features`, built without weights as with
vgg16(weights=None)); its convolutional weights come from a local file: torchvision's ImageNet state dict
`vgg16-397923af.pth` (a `.pth`/`.pt` state dict), or the same keys in a `.safetensors` file. Only the
`features.*` keys are needed (a file holding just those works too). The word `pretrained` instead of a file
means torchvision's `VGG16_Weights.IMAGENET1K_V1`, read from torch hub's cache (downloaded into it once when
online); offline and not cached, one notice line says so and the loss is off.

The distance (feature_distance.py) is LPIPS without its learned heads at relu1_2, relu2_2, relu3_3, relu4_3 and
relu5_3.

A folder holding a classifier saved by skinaug (model.json) instead gives the same distance on that classifier's
feature stages: classifier_perceptual.py (a network trained on the real train split; nothing to download).

Without weights the loss is disabled: `load_perceptual(None)` returns None, and callers should log
`PERCEPTUAL_OFF` ("perceptual loss: off (no local weights file)"); `describe_perceptual` gives that line.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ...errors import SkinaugError
from ...pretrained import hub_weights_file, wants_pretrained
from ...weights import read_state_dict
from .feature_distance import FeatureDistance

PERCEPTUAL_OFF = "perceptual loss: off (no local weights file)"
TORCHVISION_VGG16_FILE = "vgg16-397923af.pth"
LPIPS_LAYERS = (3, 8, 15, 22, 29)  # indices of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in vgg16.features
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _vgg16_features() -> nn.Sequential:
    """torchvision's VGG16 `features` (randomly initialised), without building its 120M-parameter classifier."""
    try:
        from torchvision.models.vgg import cfgs, make_layers

        return make_layers(cfgs["D"], batch_norm=False)
    except (ImportError, KeyError, TypeError):  # a torchvision that moved its helpers: build the whole model
        from torchvision.models import vgg16

        return vgg16(weights=None).features


class PerceptualLoss(FeatureDistance):
    """LPIPS-style distance between two image batches in [-1, 1] on VGG16's features; frozen."""

    def __init__(self, weights_path: str | Path) -> None:
        super().__init__(_IMAGENET_MEAN, _IMAGENET_STD)
        self.weights_path = Path(weights_path)
        features = _vgg16_features()[: LPIPS_LAYERS[-1] + 1]
        state = read_state_dict(self.weights_path)
        wanted = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
        own = features.state_dict()
        missing = [k for k in own if k not in wanted]
        if missing:
            raise SkinaugError(
                f"{self.weights_path}: not VGG16 weights (missing features.{missing[0]} and {len(missing) - 1} more)"
            )
        try:
            features.load_state_dict({k: wanted[k] for k in own})
        except RuntimeError as exc:
            raise SkinaugError(f"{self.weights_path}: VGG16 weights of the wrong shape ({exc})") from exc
        self.vgg = features.eval().requires_grad_(False)

    def _layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, layer in enumerate(self.vgg):
            x = layer(x)
            if i in LPIPS_LAYERS:
                out.append(x)
        return out

    def describe(self) -> str:
        return f"VGG16 weights {self.weights_path}"


def torchvision_vgg16_file() -> Path | None:
    """torchvision's ImageNet VGG16 file (VGG16_Weights.IMAGENET1K_V1) in torch hub's cache, downloading it once
    when it is not there; None (after one notice line) when it cannot be had (offline)."""
    from torchvision.models import VGG16_Weights

    weights = VGG16_Weights.IMAGENET1K_V1
    return hub_weights_file(
        weights.url,
        "VGG16 ImageNet weights (torchvision VGG16_Weights.IMAGENET1K_V1)",
        "perceptual loss: off",
        lambda url, progress: weights.get_state_dict(progress=progress),
    )


def load_perceptual(weights_path: str | Path | None) -> FeatureDistance | None:
    """The perceptual loss from a local VGG16 weights file, `pretrained` (torchvision's, see
    `torchvision_vgg16_file`) or a saved skinaug classifier's folder (ClassifierPerceptualLoss), or None
    (disabled) when nothing is given or `pretrained` cannot be had offline.

    A path that is given but does not exist, or holds something else, is an error (SkinaugError), never a
    silent fallback.
    """
    if weights_path is None or str(weights_path) == "":
        return None
    if wants_pretrained(str(weights_path)):
        found = torchvision_vgg16_file()
        return PerceptualLoss(found) if found is not None else None
    path = Path(weights_path)
    if path.is_dir():  # imported here: it reaches into skinaug.classifiers, not needed with VGG16
        from .classifier_perceptual import ClassifierPerceptualLoss

        return ClassifierPerceptualLoss(path)
    if not path.is_file():
        raise SkinaugError(
            f"{path}: VGG16 weights file not found (expected torchvision's "
            f"{TORCHVISION_VGG16_FILE} or a .safetensors copy)"
        )
    return PerceptualLoss(path)


def describe_perceptual(perceptual: FeatureDistance | None) -> str:
    """One log line: whether the perceptual loss is on, and from which file."""
    if perceptual is None:
        return PERCEPTUAL_OFF
    return f"perceptual loss: on ({perceptual.describe()})"
