"""Feature extractors for the fidelity metrics, registered with torch-fidelity.

- `skinaug-inception-v3`: torch-fidelity's Inception-v3 (the FID network), its weights read from a local file
  without pickle code: a given file, or torch-fidelity's own file in torch hub's cache (`pretrained` downloads
  it there once, through torch-fidelity's URL, when online);
- `skinaug-domain`: a skinaug classifier trained on the real train split: penultimate features for FID, KID and
  precision/recall, its class logits for IS. Used when no Inception weights are available, and named in every
  table ("FID (domain features)").

Both take uint8 B x 3 x H x W tensors, like every torch-fidelity extractor, and can be used through
`torch_fidelity.calculate_metrics(feature_extractor=NAME, feature_extractor_weights_path=FILE, ...)`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torch_fidelity
from torch_fidelity import feature_extractor_inceptionv3 as fidelity_inception
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
from torch_fidelity.utils import create_feature_extractor, get_featuresdict_from_dataset

from ..errors import SkinaugError
from ..pretrained import hub_cached_file, hub_weights_file, wants_pretrained
from ..weights import read_state_dict

DOMAIN_EXTRACTOR = "skinaug-domain"
INCEPTION_EXTRACTOR = "skinaug-inception-v3"


class DomainFeatureExtractor(FeatureExtractorBase):
    """A saved skinaug classifier (folder or model.safetensors via feature_extractor_weights_path) as extractor."""

    classifier: Any  # a timm model
    mean: torch.Tensor  # buffers (see __init__)
    std: torch.Tensor

    def __init__(
        self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(name, features_list)
        from ..classifiers.saved import load_classifier, saved_normalisation

        if feature_extractor_weights_path is None:
            raise SkinaugError(f"{DOMAIN_EXTRACTOR}: needs feature_extractor_weights_path (a saved skinaug classifier)")
        self.classifier, meta = load_classifier(feature_extractor_weights_path)
        self.image_size = int(meta["image_size"])
        mean, std = saved_normalisation(meta)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return "penultimate", "logits"

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return "logits" if metric == "isc" else "penultimate"

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, 64, 64, dtype=torch.uint8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
            raise SkinaugError(
                f"{DOMAIN_EXTRACTOR}: expects uint8 B x 3 x H x W images, got {x.dtype} {tuple(x.shape)}"
            )
        images = x.float() / 255.0
        if images.shape[-2:] != (self.image_size, self.image_size):
            images = F.interpolate(
                images, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False, antialias=True
            )
        images = (images - self.mean) / self.std
        pooled = self.classifier.forward_head(self.classifier.forward_features(images), pre_logits=True)
        features = {"penultimate": pooled.float(), "logits": self.classifier.get_classifier()(pooled).float()}
        return tuple(features[name] for name in self.features_list)


class LocalInceptionV3(fidelity_inception.FeatureExtractorInceptionV3):
    """torch-fidelity's Inception-v3 with its weights read from a local file (safetensors or a plain state dict)."""

    def __init__(
        self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None, **kwargs: Any
    ) -> None:
        if feature_extractor_weights_path is None:
            raise SkinaugError(f"{INCEPTION_EXTRACTOR}: needs a local weights file (feature_extractor_weights_path)")
        state = read_state_dict(feature_extractor_weights_path)
        download = fidelity_inception.load_state_dict_from_url
        fidelity_inception.load_state_dict_from_url = lambda *args, **kw: state  # the parent loads; nothing downloads
        try:
            super().__init__(
                name,
                features_list,
                feature_extractor_weights_path=None,
                feature_extractor_internal_dtype=kwargs.get("feature_extractor_internal_dtype"),
            )
        except RuntimeError as exc:
            raise SkinaugError(
                f"{feature_extractor_weights_path}: not Inception-v3 FID weights ({str(exc).splitlines()[0]})"
            ) from None
        finally:
            fidelity_inception.load_state_dict_from_url = download


for _name, _cls in ((DOMAIN_EXTRACTOR, DomainFeatureExtractor), (INCEPTION_EXTRACTOR, LocalInceptionV3)):
    if _name not in FEATURE_EXTRACTORS_REGISTRY:
        torch_fidelity.register_feature_extractor(_name, _cls)


@dataclass(frozen=True)
class ExtractorChoice:
    """Which extractor the metrics use, its weights, and the label every table carries."""

    name: str
    weights: str
    label: str  # e.g. "Inception-v3" or "domain features"
    fid_layer: str
    isc_layer: str
    note: str


def download_inception_weights() -> Path | None:
    """torch-fidelity's Inception-v3 file in torch hub's cache, downloaded there once by torch-fidelity's loader
    when it is missing; None after one notice line when it cannot be had (offline)."""
    return hub_weights_file(
        fidelity_inception.URL_INCEPTION_V3,
        "Inception-v3 FID weights (torch-fidelity)",
        "using domain features",
        fidelity_inception.load_state_dict_from_url,
    )


def find_inception_weights(given: str | os.PathLike[str] | None) -> Path | None:
    """The given file; `pretrained`: torch-fidelity's file (see `download_inception_weights`); nothing given:
    torch-fidelity's file if it is already in torch's hub cache (nothing is downloaded). Else None."""
    if given is not None and wants_pretrained(str(given)):
        return download_inception_weights()
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise SkinaugError(f"{path}: Inception weights file not found")
        return path
    return hub_cached_file(fidelity_inception.URL_INCEPTION_V3)


def inception_choice(weights: Path) -> ExtractorChoice:
    """Inception-v3 (the standard FID network) from a local weights file."""
    return ExtractorChoice(
        INCEPTION_EXTRACTOR,
        str(weights),
        "Inception-v3",
        "2048",
        "logits_unbiased",
        f"Inception-v3 features (pool3, 2048-d; IS from its logits), weights {weights}",
    )


def domain_choice(classifier_folder: Path, description: str) -> ExtractorChoice:
    """The domain extractor of a saved classifier; `description` says where the classifier came from."""
    return ExtractorChoice(
        DOMAIN_EXTRACTOR,
        str(classifier_folder),
        "domain features",
        "penultimate",
        "logits",
        f"the penultimate layer of {description} (IS from its 7 class logits); "
        "not comparable with Inception FIDs in papers",
    )


class ImageTensors(torch.utils.data.Dataset):
    """A tensor of uint8 N x 3 x H x W images as a Dataset (what torch-fidelity iterates over)."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


def load_extractor(choice: ExtractorChoice, device: torch.device | None = None) -> FeatureExtractorBase:
    """The torch-fidelity extractor of a choice, with the layers the metrics need (load it once, use it often)."""
    cuda = device is not None and device.type == "cuda"
    layers = sorted({choice.fid_layer, choice.isc_layer})
    return create_feature_extractor(
        choice.name, layers, cuda=cuda, verbose=False, feature_extractor_weights_path=choice.weights
    )


def extract_features(
    extractor: FeatureExtractorBase, images: torch.Tensor, batch_size: int = 64, progress: bool = False
) -> dict[str, torch.Tensor]:
    """{layer: N x D float64 tensor} of uint8 N x 3 x H x W images, through torch-fidelity's extractor loop."""
    cuda = next(extractor.parameters(), torch.empty(0)).is_cuda
    features = get_featuresdict_from_dataset(
        ImageTensors(images), extractor, batch_size, cuda, save_cpu_ram=True, verbose=progress
    )  # its progress bar on stderr
    return {k: v.double() for k, v in features.items()}
