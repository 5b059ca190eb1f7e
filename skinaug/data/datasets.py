"""PyTorch datasets over the real work directory and over synthetic sets, with guards against leakage.

Synthetic images are for training only: `synthetic_dataset` refuses a set made from val/test images, and
evaluation code calls `require_real(dataset, "validation")` / `require_real(dataset, "test")`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import ConcatDataset, Dataset, Subset
from torchvision import tv_tensors

from ..errors import SkinaugError
from ..labels import CLASSES
from ..manifest import load_prepared
from ..masks import MASK_OK
from ..splits import SPLITS
from ..synthetic import check_sources, load_synthetic
from . import decode
from .cache import DecodedImageCache

KINDS: tuple[str, ...] = ("real", "synthetic", "mixed")
CacheArg = DecodedImageCache | str | os.PathLike[str] | None


class TorchvisionLabels:
    """`.classes`, `.class_to_idx` and `.targets` as torchvision's ImageFolder has them (from `.labels`)."""

    labels: np.ndarray

    @property
    def classes(self) -> list[str]:
        """Class names in index order (all seven, whether or not present)."""
        return list(CLASSES)

    @property
    def class_to_idx(self) -> dict[str, int]:
        """Class name -> index."""
        return {name: index for index, name in enumerate(CLASSES)}

    @property
    def targets(self) -> list[int]:
        """The class index of every item, in item order."""
        return self.labels.tolist()


class ManifestDataset(TorchvisionLabels, Dataset):
    """Images of a table with absolute `image_file`, `mask_file` ("" if none) and `label` columns.

    Items are `(image, label_index)`, or `(image, label_index, mask)` with `with_mask=True`: image is a
    uint8 C x H x W tensor (resized to image_size x image_size unless None) passed through `transform`;
    mask is a bool H x W tensor (all False where a row has no mask, see `.has_mask`). With `with_mask`,
    `transform` is called as `transform(image, mask)` (torchvision v2 style) so that flips, rotations and
    crops move the mask with the image. With `cache`, images are read from a decoded-image memmap
    (decoded once at image_size) instead of from the files. With `via_size`, every image is resized to
    via_size first and then to image_size (see `decode_image`): the resolution chain of generated images.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        kind: str,
        image_size: int | None = None,
        transform: Callable[..., Any] | None = None,
        cache: CacheArg = None,
        with_mask: bool = False,
        via_size: int | None = None,
    ) -> None:
        if kind not in ("real", "synthetic"):
            raise SkinaugError(f"dataset kind must be 'real' or 'synthetic', got {kind!r}")
        missing = [c for c in ("image_file", "mask_file", "label") if c not in frame.columns]
        if missing:
            raise SkinaugError(f"dataset table lacks column(s) {', '.join(missing)}")
        unknown = sorted(set(frame["label"]) - set(CLASSES))
        if unknown:
            raise SkinaugError(
                f"dataset table has unknown label(s) {', '.join(map(repr, unknown))}; known: {', '.join(CLASSES)}"
            )
        self.frame = frame.reset_index(drop=True).copy()
        self.frame["mask_file"] = self.frame["mask_file"].fillna("").astype(str)
        self.kind = kind
        self.image_size = image_size
        self.via_size = via_size
        self.transform = transform
        self.with_mask = with_mask
        self.labels: np.ndarray = np.array([CLASSES.index(v) for v in self.frame["label"]], dtype=np.int64)
        self.has_mask: np.ndarray = (self.frame["mask_file"] != "").to_numpy()
        self._files: list[str] = [str(f) for f in self.frame["image_file"]]
        self.cache_file: Path | None = None
        self._images: np.ndarray | None = None
        if cache is not None:
            if image_size is None:
                raise SkinaugError("a decoded-image cache needs an image_size (images are cached at that size)")
            if not isinstance(cache, DecodedImageCache):
                cache = DecodedImageCache(cache)
            self.cache_file = cache.build(self._files, image_size, via_size)

    def __len__(self) -> int:
        return len(self._files)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_images"] = None  # each DataLoader worker maps the cache file itself
        return state

    def _image(self, index: int) -> np.ndarray:
        if self.cache_file is None:
            return decode.decode_image(self._files[index], self.image_size, self.via_size)
        if self._images is None:
            self._images = np.load(self.cache_file, mmap_mode="r")
        return np.array(self._images[index])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int] | tuple[torch.Tensor, int, torch.Tensor]:
        image = torch.from_numpy(self._image(index)).permute(2, 0, 1).contiguous()
        label = int(self.labels[index])
        if not self.with_mask:
            return (self.transform(image) if self.transform else image), label
        mask = torch.from_numpy(decode.decode_mask(self.frame.at[index, "mask_file"], *image.shape[1:]))
        if self.transform:
            image, mask8 = self.transform(tv_tensors.Image(image), tv_tensors.Mask(mask.to(torch.uint8)))
            image, mask = image.as_subclass(torch.Tensor), mask8.as_subclass(torch.Tensor).bool()
        return image, label, mask


def _splits(split: str | Sequence[str]) -> list[str]:
    wanted = [split] if isinstance(split, str) else list(split)
    bad = [s for s in wanted if s not in SPLITS]
    if bad or not wanted:
        raise SkinaugError(f"unknown split {', '.join(map(repr, bad)) or '(none)'}; choose from {', '.join(SPLITS)}")
    return wanted


def real_dataset(
    workdir: str | os.PathLike[str],
    split: str | Sequence[str],
    image_size: int | None = None,
    transform: Callable[..., Any] | None = None,
    cache: CacheArg = None,
    with_mask: bool = False,
    via_size: int | None = None,
) -> ManifestDataset:
    """The real images of one split (train/val/test) or several of a work directory (`via_size`: see
    ManifestDataset)."""
    prepared = load_prepared(workdir)
    wanted = _splits(split)
    rows = prepared.manifest[prepared.manifest["split"].isin(wanted)]
    if rows.empty:
        raise SkinaugError(f"{prepared.workdir}: no images in split {'+'.join(wanted)}")
    records = rows.to_dict("records")
    frame = pd.DataFrame(
        {
            "image_id": rows["image_id"].to_numpy(),
            "image_file": [str(prepared.image_file(r)) for r in records],
            "mask_file": [
                str(prepared.mask_file(r)) if r["mask_status"] == MASK_OK and r["mask_path"] else "" for r in records
            ],
            "label": rows["label"].to_numpy(),
            "split": rows["split"].to_numpy(),
        }
    )
    return ManifestDataset(frame, "real", image_size, transform, cache, with_mask, via_size)


def synthetic_dataset(
    syn_dir: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    image_size: int | None = None,
    transform: Callable[..., Any] | None = None,
    cache: CacheArg = None,
    with_mask: bool = False,
    via_size: int | None = None,
) -> ManifestDataset:
    """The images of a synthetic set, after checking that every source image is in workdir's train split."""
    syn = load_synthetic(syn_dir)
    check_sources(syn, load_prepared(workdir))
    rows = syn.manifest
    if rows.empty:
        raise SkinaugError(f"{syn.root}: the synthetic set has no images")
    records = rows.to_dict("records")
    files = [syn.image_file(r) for r in records]
    absent = [f for f in files if not f.is_file()]
    if absent:
        raise SkinaugError(f"{syn.root}: {len(absent)} image file(s) of the manifest are missing, first {absent[0]}")
    frame = pd.DataFrame(
        {
            "image_id": rows["image_id"].to_numpy(),
            "image_file": [str(f) for f in files],
            "mask_file": [str(syn.mask_file(r) or "") for r in records],
            "label": rows["label"].to_numpy(),
            "mode": rows["mode"].to_numpy(),
            "source_image_id": rows["source_image_id"].to_numpy(),
        }
    )
    return ManifestDataset(frame, "synthetic", image_size, transform, cache, with_mask, via_size)


class CombinedDataset(TorchvisionLabels, ConcatDataset):
    """Several datasets end to end, with `.labels` concatenated and `.kind` real/synthetic/mixed."""

    def __init__(self, datasets: Sequence[Any]) -> None:  # ManifestDatasets or CombinedDatasets (checked)
        super().__init__(datasets)
        for d in datasets:
            if not hasattr(d, "labels") or getattr(d, "kind", None) not in KINDS:
                raise SkinaugError("combine() takes datasets with .labels and .kind (ManifestDataset or combine())")
        if len({bool(getattr(d, "with_mask", False)) for d in datasets}) > 1:
            raise SkinaugError("combine(): all datasets must agree on with_mask")
        self.with_mask = bool(getattr(datasets[0], "with_mask", False))
        self.labels: np.ndarray = np.concatenate([np.asarray(d.labels, dtype=np.int64) for d in datasets])
        kinds = {d.kind for d in datasets}
        self.kind: str = kinds.pop() if len(kinds) == 1 else "mixed"
        self.frame = pd.concat(
            [d.frame if "kind" in d.frame.columns else d.frame.assign(kind=d.kind) for d in datasets], ignore_index=True
        )


def combine(*datasets: Dataset) -> CombinedDataset:
    """One dataset of all given ones (e.g. real train + synthetic); `.kind` is "real" only if all are real."""
    if not datasets:
        raise SkinaugError("combine() needs at least one dataset")
    return CombinedDataset(datasets)


class LabelledSubset(Subset):
    """Some items of a dataset (repeats allowed), keeping `.labels`, `.kind`, `.frame` and `.with_mask`."""

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        order = np.asarray(indices, dtype=np.int64).reshape(-1)
        super().__init__(dataset, order.tolist())
        self.kind: str = getattr(dataset, "kind")
        self.with_mask = bool(getattr(dataset, "with_mask", False))
        self.labels: np.ndarray = np.asarray(getattr(dataset, "labels"), dtype=np.int64)[order]
        self.frame = getattr(dataset, "frame").iloc[order].reset_index(drop=True)


def labelled_subset(dataset: Dataset, indices: Sequence[int] | np.ndarray) -> LabelledSubset:
    """`dataset` restricted to `indices` (in that order, repeats allowed), usable with combine() and samplers."""
    if not hasattr(dataset, "labels") or getattr(dataset, "kind", None) not in KINDS:
        raise SkinaugError("labelled_subset() takes a dataset with .labels and .kind (ManifestDataset or combine())")
    return LabelledSubset(dataset, indices)


def _kind(dataset: Any) -> str | None:
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return getattr(dataset, "kind", None)


def require_real(dataset: Any, role: str) -> None:
    """Refuse anything but real images for `role` ("validation", "test"): call it in evaluation code."""
    kind = _kind(dataset)
    if kind == "real":
        return
    if kind in ("synthetic", "mixed"):
        raise SkinaugError(
            f"a synthetic set cannot be used as {role} data; this dataset is {kind}: evaluate "
            f"on real images only (real_dataset(workdir, 'val' or 'test'))"
        )
    raise SkinaugError(
        f"a synthetic set cannot be used as {role} data; cannot tell whether this "
        f"{type(dataset).__name__} is real (no .kind): use real_dataset(workdir, 'val' or 'test')"
    )
