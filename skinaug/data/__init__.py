"""Dataset loaders for your own training loop: real and synthetic datasets, class balancing, transforms, cache."""

from .cache import DecodedImageCache
from .datasets import (
    CombinedDataset,
    LabelledSubset,
    ManifestDataset,
    combine,
    labelled_subset,
    real_dataset,
    require_real,
    synthetic_dataset,
)
from .decode import decode_image, decode_mask
from .sampling import (
    PhasedSampler,
    class_weights,
    mixed_sampler,
    oversampled_indices,
    synthetic_share_of_draws,
    top_up_indices,
    weighted_sampler,
)
from .transforms import IMAGENET_MEAN, IMAGENET_STD, eval_transform, train_transform

__all__ = [
    "PhasedSampler",
    "CombinedDataset",
    "DecodedImageCache",
    "LabelledSubset",
    "labelled_subset",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ManifestDataset",
    "class_weights",
    "combine",
    "decode_image",
    "decode_mask",
    "eval_transform",
    "mixed_sampler",
    "oversampled_indices",
    "real_dataset",
    "require_real",
    "synthetic_dataset",
    "synthetic_share_of_draws",
    "top_up_indices",
    "train_transform",
    "weighted_sampler",
]
