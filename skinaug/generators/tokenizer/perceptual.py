"""An LPIPS-style perceptual loss on VGG16 features: torchvision's ImageNet VGG16, or a local weights file.

The network is torchvision's VGG16 architecture (its `features`, built without weights as with
vgg16(weights=None)); its convolutional weights come from a local file: torchvision's ImageNet state dict
`vgg16-397923af.pth` (a `.pth`/`.pt` state dict), or the same keys in a `.safetensors` file. Only the
`features.*` keys are needed (a file holding just those works too). The word `pretrained` instead of a file
means torchvision's `VGG16_Weights.IMAGENET1K_V1`, read from torch hub's cache (downloaded into it once when
online); offline and not cached, one notice line says so and the loss is off.

The distance is LPIPS without its learned per-channel linear heads (those need the BAPPS-trained weights,
which cannot be downloaded here): at relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3, features are
normalised to unit length along the channel axis, the squared differences are summed over channels,
averaged over positions, and the five layers are summed (Zhang et al. 2018, "lin" = uniform weights).

Without weights the loss is disabled: `load_perceptual(None)` returns None, and callers should log
`PERCEPTUAL_OFF` ("perceptual loss: off (no local weights file)"); `describe_perceptual` gives that line.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...errors import SkinaugError
from ...pretrained import hub_weights_file, wants_pretrained
from ...weights import read_state_dict

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


class PerceptualLoss(nn.Module):
    """LPIPS-style distance between two image batches in [-1, 1]; frozen, always in eval mode."""

    mean: torch.Tensor  # buffers (see __init__)
    std: torch.Tensor

    def __init__(self, weights_path: str | Path) -> None:
        super().__init__()
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
        self.features = features.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "PerceptualLoss":
        return super().train(False)  # no dropout/batch norm in features, but stay frozen regardless

    def _layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = ((x + 1) / 2 - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in LPIPS_LAYERS:
                out.append(h)
        return out

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scalar: mean over the batch of the LPIPS-style distance between a and b."""
        total = a.new_zeros(())
        for fa, fb in zip(self._layers(a), self._layers(b)):
            diff = F.normalize(fa, dim=1, eps=1e-10) - F.normalize(fb, dim=1, eps=1e-10)
            total = total + diff.square().sum(dim=1).mean()
        return total


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


def load_perceptual(weights_path: str | Path | None) -> PerceptualLoss | None:
    """The perceptual loss from a local VGG16 weights file or `pretrained` (torchvision's, see
    `torchvision_vgg16_file`), or None (disabled) when nothing is given or `pretrained` cannot be had offline.

    A path that is given but does not exist, or holds something else, is an error (SkinaugError), never a
    silent fallback.
    """
    if weights_path is None or str(weights_path) == "":
        return None
    if wants_pretrained(str(weights_path)):
        found = torchvision_vgg16_file()
        return PerceptualLoss(found) if found is not None else None
    path = Path(weights_path)
    if not path.is_file():
        raise SkinaugError(
            f"{path}: VGG16 weights file not found (expected torchvision's "
            f"{TORCHVISION_VGG16_FILE} or a .safetensors copy)"
        )
    return PerceptualLoss(path)


def describe_perceptual(perceptual: PerceptualLoss | None) -> str:
    """One log line: whether the perceptual loss is on, and from which file."""
    if perceptual is None:
        return PERCEPTUAL_OFF
    return f"perceptual loss: on (VGG16 weights {perceptual.weights_path})"
