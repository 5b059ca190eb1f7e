"""Deterministic train/val/test splits, stratified by class and grouped by lesion.

All images of one lesion go to the same split (HAM10000 photographs many lesions two or three times;
splitting images instead of lesions leaks near-duplicates into the test set). Within each class the
lesions are shuffled with a seeded generator and dealt one by one to the split that is furthest below
its target share of that class's images, so every class gets close to 70/10/20 of its images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import SkinaugError

SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class SplitConfig:
    """Split fractions (train, val, test) and the seed of the shuffle."""

    train: float = 0.7
    val: float = 0.1
    test: float = 0.2
    seed: int = 0

    def fractions(self) -> np.ndarray:
        """The three fractions, validated to be non-negative and to sum to 1."""
        values = np.array([self.train, self.val, self.test], dtype=float)
        if (values < 0).any() or abs(values.sum() - 1.0) > 1e-6:
            raise SkinaugError(
                f"split fractions must be >= 0 and sum to 1; got train={self.train}, val={self.val}, test={self.test}"
            )
        return values


def lesion_labels(frame: pd.DataFrame) -> pd.Series:
    """The class of each lesion: the most frequent label among its images (ties: alphabetical)."""
    counts = frame.groupby(["lesion_id", "label"]).size().reset_index(name="n")
    counts = counts.sort_values(["lesion_id", "n", "label"], ascending=[True, False, True])
    return counts.drop_duplicates("lesion_id").set_index("lesion_id")["label"]


def _deal(lesions: list[str], sizes: dict[str, int], fractions: np.ndarray, rng: np.random.Generator) -> dict[str, str]:
    """Assign shuffled lesions to the split with the largest shortfall against its target."""
    order = [lesions[i] for i in rng.permutation(len(lesions))]
    total = sum(sizes[lesion] for lesion in order)
    targets = fractions * total
    filled = np.zeros(len(SPLITS))
    assignment: dict[str, str] = {}
    for lesion in order:
        # shortfall relative to target; splits with a zero target never receive anything
        shortfall = np.where(targets > 0, (targets - filled) / np.maximum(targets, 1e-9), -np.inf)
        choice = int(np.argmax(shortfall))
        assignment[lesion] = SPLITS[choice]
        filled[choice] += sizes[lesion]
    return assignment


def assign_splits(frame: pd.DataFrame, config: SplitConfig = SplitConfig()) -> pd.Series:
    """Split name ('train', 'val', 'test') for each row of `frame` (needs lesion_id and label).

    Deterministic for a given table content and seed, whatever the row order.
    """
    fractions = config.fractions()
    if frame.empty:
        return pd.Series([], dtype=str, index=frame.index, name="split")
    sizes = frame.groupby("lesion_id").size().to_dict()
    by_lesion = lesion_labels(frame)
    assignment: dict[str, str] = {}
    for index, label in enumerate(sorted(by_lesion.unique())):
        lesions = sorted(by_lesion.index[by_lesion == label])
        rng = np.random.default_rng([config.seed, index])
        assignment.update(_deal(lesions, sizes, fractions, rng))
    return frame["lesion_id"].map(assignment).rename("split")


def split_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Image counts per class (rows) and split (columns), with totals."""
    table = pd.crosstab(frame["label"], frame["split"]).reindex(columns=list(SPLITS), fill_value=0)
    table["total"] = table.sum(axis=1)
    return table
