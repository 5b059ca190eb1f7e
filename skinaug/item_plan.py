"""The one planner of synthetic items, for the generator's sets (intra, inter, free, reconstruct) and the copy set.

Every item is planned from (seed, class, k) alone: its seed, which train image is its source (intra, reconstruct
and copy: one of its own class; inter: one of another class; free: none), and its file names. Item k of a class
has the same source in every mode that takes it from its own class, so a `reconstruct` set (the lesion replaced
by the tokenizer's reconstruction of itself) is the intra set's twin, image for image. So a re-run plans the same
items, and a set topped up to more per class keeps the items it had. Measurement vectors stay an array beside
the table until the manifest is written (`ItemPlan.manifest`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .errors import SkinaugError
from .labels import CLASSES

GENERATOR_MODES: tuple[str, ...] = ("intra", "inter", "free", "reconstruct")
MODES: tuple[str, ...] = (*GENERATOR_MODES, "copy")
SYNTHETIC_COLUMNS: tuple[str, ...] = (
    "image_id",
    "image_path",
    "mask_path",
    "label",
    "mode",
    "source_image_id",
    "source_split",
    "seed",
    "guidance",
    "generator_checksum",
    "measurements",
)
# written by this skinaug, optional when reading (sets made before it have no such column)
MEASUREMENTS_FROM = "measurements_from"


def item_seed(seed: int, class_index: int, k: int) -> int:
    """The seed of item k of a class: it picks the item's source and measurements and seeds its generation."""
    return int(np.random.SeedSequence([seed, class_index, k]).generate_state(1)[0])


@dataclass
class ItemPlan:
    """The planned items: one table row per item and (optionally) its conditioning vector, row for row."""

    table: pd.DataFrame  # SYNTHETIC_COLUMNS + MEASUREMENTS_FROM; "measurements" filled by manifest()
    vectors: np.ndarray | None = None  # N x m scaled measurement vectors, or None (no measurements)

    def subset(self, keep: np.ndarray | pd.Series) -> "ItemPlan":
        """The items where `keep` (bool, one per row) is True, with their vectors."""
        mask = np.asarray(keep, dtype=bool)
        return ItemPlan(self.table[mask].reset_index(drop=True), None if self.vectors is None else self.vectors[mask])

    def manifest(self) -> pd.DataFrame:
        """The table as manifest.csv holds it: each vector as a JSON list rounded to 4 decimals ("" without)."""
        table = self.table.copy()
        if self.vectors is not None:
            table["measurements"] = [json.dumps(np.round(v, 4).tolist()) for v in self.vectors]
        return table


def item_index(image_id: str) -> int:
    """k of an item id "<mode>_<label>_<k>" (its index within its class)."""
    return int(str(image_id).rsplit("_", 1)[1])


def batch_of(label: str, image_id: str, batch_size: int) -> tuple[int, int]:
    """The batch an item is generated in: (class index, k // batch_size). Batches never depend on which items
    are still missing, so a resumed set is made in the same batches as an uninterrupted one (floating-point
    results depend slightly on what else is in a batch)."""
    return CLASSES.index(label), item_index(image_id) // batch_size


def plan_items(
    sources: pd.DataFrame,
    mode: str,
    per_class: int,
    seed: int,
    *,
    guidance: float,
    checksum: str,
    no_source: Callable[[str], str],
    has_mask: Callable[[pd.Series], bool] = lambda source: True,
) -> ItemPlan:
    """Plan `per_class` items of every class in `mode` from `sources` (train images: image_id, label, ...).

    The pool of a class keeps the order of `sources`; `no_source(label)` is the error when a class that needs a
    source has none; `has_mask(source)` says whether an item made from `source` gets a mask file.
    """
    if mode not in MODES:
        raise SkinaugError(f"--mode {mode!r}: choose one of {', '.join(GENERATOR_MODES)}")
    rows = []
    for ci, label in enumerate(CLASSES):
        pool = (
            None
            if mode == "free"
            else (sources[sources["label"] != label] if mode == "inter" else sources[sources["label"] == label])
        )
        if per_class and pool is not None and pool.empty:
            raise SkinaugError(no_source(label))
        for k in range(per_class):
            seed_k = item_seed(seed, ci, k)
            source = None if pool is None else pool.iloc[int(np.random.default_rng(seed_k).integers(len(pool)))]
            image_id = f"{mode}_{label}_{k:05d}"
            masked = source is not None and has_mask(source)
            rows.append(
                {
                    "image_id": image_id,
                    "image_path": f"images/{label}/{image_id}.png",
                    "mask_path": f"masks/{label}/{image_id}.png" if masked else "",
                    "label": label,
                    "mode": mode,
                    "source_image_id": source["image_id"] if source is not None else "",
                    "source_split": "train" if source is not None else "",
                    "seed": seed_k,
                    "guidance": guidance,
                    "generator_checksum": checksum,
                    "measurements": "",
                    MEASUREMENTS_FROM: "",
                }
            )
    return ItemPlan(pd.DataFrame(rows, columns=[*SYNTHETIC_COLUMNS, MEASUREMENTS_FROM]))
