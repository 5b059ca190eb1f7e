"""Training data of the generator: image, lesion mask, class and scaled measurement vector per real image.

Only images with a usable mask and successful measurements take part (the lesion-focused loss and the
measurement condition need both). The scaler and the class-average codebook are the ones `skinaug
measure` fitted on the train split only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from ..data import DecodedImageCache, ManifestDataset, real_dataset
from ..errors import SkinaugError
from ..measurements import STATUS_OK, RobustScaler, load_class_means
from ..measurements.run import CLASS_MEANS_NAME, FEATURES_NAME, SCALER_NAME


@dataclass
class MeasurementSpace:
    """The scaler and per-class average vectors (train split only) the generator is conditioned with."""

    scaler: RobustScaler
    class_means: dict[str, np.ndarray]
    features: pd.DataFrame

    @classmethod
    def load(cls, workdir: str | os.PathLike[str]) -> "MeasurementSpace":
        """Read WORKDIR/measurements/ (written by `skinaug measure`)."""
        folder = Path(workdir) / "measurements"
        for name in (FEATURES_NAME, SCALER_NAME, CLASS_MEANS_NAME):
            if not (folder / name).exists():
                raise SkinaugError(f"{folder / name}: not found; run `skinaug measure {workdir}` first")
        try:
            features = pd.read_csv(folder / FEATURES_NAME, low_memory=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SkinaugError(
                f"{folder / FEATURES_NAME}: not a readable features table ({first}); "
                f"run `skinaug measure {workdir}` again"
            ) from exc
        missing = [c for c in ("image_id", "status") if c not in features.columns]
        if missing:
            raise SkinaugError(
                f"{folder / FEATURES_NAME}: missing column(s) {', '.join(missing)}; "
                f"run `skinaug measure {workdir}` again"
            )
        features["image_id"] = features["image_id"].astype(str)
        return cls(RobustScaler.load(folder / SCALER_NAME), load_class_means(folder / CLASS_MEANS_NAME), features)

    @property
    def dim(self) -> int:
        """Length of a scaled measurement vector."""
        return len(self.scaler.features)

    def vectors_for(self, image_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(scaled vectors N x dim, ok mask N) for the given image ids (zeros where not measured)."""
        table = self.features.set_index("image_id")
        present = [i in table.index for i in image_ids]
        ok = np.array([p and table.at[i, "status"] == STATUS_OK for i, p in zip(image_ids, present)], dtype=bool)
        vectors = np.zeros((len(image_ids), self.dim), dtype=np.float32)
        if ok.any():
            rows = table.loc[[i for i, good in zip(image_ids, ok) if good]]
            vectors[ok] = self.scaler.transform(rows)
        return vectors, ok


class ConditionedImages(Dataset):
    """Items {'image': float 3xSxS in [-1, 1], 'mask': float SxS, 'label': int, 'measurements': float m}."""

    def __init__(self, base: ManifestDataset, vectors: np.ndarray, flips: bool = False) -> None:
        self.base = base
        self.vectors = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
        self.flips = flips

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, label, mask = self.base[index]  # type: ignore[misc]  # with_mask=True: (image, label, mask)
        image = image.float() / 127.5 - 1.0
        mask = mask.float()
        if self.flips:  # mirror images keep their measurements (shape, colour and texture statistics)
            if torch.rand(()) < 0.5:
                image, mask = image.flip(-1), mask.flip(-1)
            if torch.rand(()) < 0.5:
                image, mask = image.flip(-2), mask.flip(-2)
        return {"image": image, "mask": mask, "label": label, "measurements": self.vectors[index], "index": index}


def conditioned_split(
    workdir: str | os.PathLike[str],
    split: str,
    image_size: int,
    space: MeasurementSpace,
    cache: DecodedImageCache | None = None,
    flips: bool = False,
) -> ConditionedImages:
    """The usable images of one split (mask ok and measured), with their scaled measurement vectors."""
    full = real_dataset(workdir, split, image_size, None, None, with_mask=True)
    vectors, ok = space.vectors_for(full.frame["image_id"].astype(str).tolist())
    usable = ok & full.has_mask
    if not usable.any():
        raise SkinaugError(f"{workdir}: no {split} image has both a usable mask and measurements")
    frame = full.frame[usable].reset_index(drop=True)
    base = ManifestDataset(frame, "real", image_size, None, cache, with_mask=True)
    return ConditionedImages(base, vectors[usable], flips)


def with_decoded_cache(images: ConditionedImages, cache: DecodedImageCache) -> ConditionedImages:
    """The same images, read from a decoded-image memmap (built once at the training size) instead of files."""
    base = images.base
    cached = ManifestDataset(base.frame, "real", base.image_size, None, cache, with_mask=True)
    return ConditionedImages(cached, images.vectors.numpy(), images.flips)
