"""Deterministic train/val/test splits, stratified by class and grouped by lesion.

All images of one lesion go to the same split (HAM10000 photographs many lesions two or three times;
splitting images instead of lesions leaks near-duplicates into the test set). Within each class the
lesions are shuffled with a seeded generator and dealt one by one to the split that is furthest below
its target share of that class's images, so every class gets close to 70/10/20 of its images.

A data-scarce experiment keeps only part of the train split (`SplitConfig.train_keep`): after the deal, each
class's train lesions are shuffled with their own seeded generator and kept until the class holds that fraction
of its train images (at least one lesion). Val and test are exactly those of the full split, so results with
and without the reduction are scored on the same images; the lesions left out are marked `UNUSED`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import SkinaugError

SPLITS: tuple[str, ...] = ("train", "val", "test")
UNUSED = "unused"  # train lesions left out by SplitConfig.train_keep


@dataclass(frozen=True)
class SplitConfig:
    """Split fractions (train, val, test), the seed of the shuffle and the share of train lesions kept."""

    train: float = 0.7
    val: float = 0.1
    test: float = 0.2
    seed: int = 0
    train_keep: float = 1.0

    def fractions(self) -> np.ndarray:
        """The three fractions, validated to be non-negative and to sum to 1."""
        values = np.array([self.train, self.val, self.test], dtype=float)
        if (values < 0).any() or abs(values.sum() - 1.0) > 1e-6:
            raise SkinaugError(
                f"split fractions must be >= 0 and sum to 1; got train={self.train}, val={self.val}, test={self.test}"
            )
        if not 0.0 < self.train_keep <= 1.0:
            raise SkinaugError(f"train_keep must be in (0, 1]; got {self.train_keep}")
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


def _keep_train(
    assignment: dict[str, str], lesions: list[str], sizes: dict[str, int], keep: float, rng: np.random.Generator
) -> None:
    """Mark train lesions beyond `keep` of the class's train images as UNUSED (module docstring)."""
    train = [lesion for lesion in lesions if assignment[lesion] == "train"]
    if keep >= 1.0:
        return
    target = keep * sum(sizes[lesion] for lesion in train)  # > 0 for any train lesion: the first is always kept
    kept = 0
    for lesion in (train[i] for i in rng.permutation(len(train))):
        if kept >= target:
            assignment[lesion] = UNUSED
        else:
            kept += sizes[lesion]


def assign_splits(frame: pd.DataFrame, config: SplitConfig = SplitConfig()) -> pd.Series:
    """Split name ('train', 'val', 'test'; UNUSED with `train_keep` < 1) for each row (needs lesion_id, label).

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
        dealt = _deal(lesions, sizes, fractions, rng)
        _keep_train(dealt, lesions, sizes, config.train_keep, np.random.default_rng([config.seed, index, 1]))
        assignment.update(dealt)
    return frame["lesion_id"].map(assignment).rename("split")


def split_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Image counts per class (rows) and split (columns), with totals."""
    table = pd.crosstab(frame["label"], frame["split"]).reindex(columns=list(SPLITS), fill_value=0)
    table["total"] = table.sum(axis=1)
    return table
