"""Lesion-grouped, class-stratified splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skinaug.errors import SkinaugError
from skinaug.splits import UNUSED, SplitConfig, assign_splits


def _toy(n_lesions: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for lesion in range(n_lesions):
        label = rng.choice(["nv", "mel", "df"], p=[0.7, 0.25, 0.05])
        for image in range(rng.integers(1, 4)):  # 1-3 images per lesion, like HAM10000
            rows.append({"image_id": f"img{lesion}_{image}", "lesion_id": f"L{lesion}", "label": label})
    return pd.DataFrame(rows)


def _assert_no_lesion_crosses(frame: pd.DataFrame, split: pd.Series) -> None:
    per_lesion = split.groupby(frame["lesion_id"]).nunique()
    assert (per_lesion == 1).all(), per_lesion[per_lesion > 1].index.tolist()[:5]


def test_lesions_never_cross_and_every_class_is_near_70_10_20() -> None:
    frame = _toy()
    split = assign_splits(frame)
    _assert_no_lesion_crosses(frame, split)
    for label, group in frame.groupby("label"):
        shares = split[group.index].value_counts(normalize=True)
        tolerance = 0.03 if len(group) > 100 else 0.12
        assert abs(shares.get("train", 0) - 0.7) < tolerance, (label, shares.to_dict())
        assert abs(shares.get("test", 0) - 0.2) < tolerance, (label, shares.to_dict())
        assert shares.get("val", 0) > 0, label


def test_deterministic_and_independent_of_row_order() -> None:
    frame = _toy()
    first = assign_splits(frame, SplitConfig(seed=3))
    shuffled = frame.sample(frac=1.0, random_state=0)
    again = assign_splits(shuffled, SplitConfig(seed=3))
    pd.testing.assert_series_equal(first, again.loc[first.index])
    other_seed = assign_splits(frame, SplitConfig(seed=4))
    assert (other_seed != first).any()


def test_custom_fractions_and_bad_fractions() -> None:
    frame = _toy()
    split = assign_splits(frame, SplitConfig(0.5, 0.0, 0.5))
    assert set(split) == {"train", "test"}
    assert abs((split == "train").mean() - 0.5) < 0.05
    with pytest.raises(SkinaugError, match="sum to 1"):
        assign_splits(frame, SplitConfig(0.7, 0.2, 0.2))


def test_a_lesion_with_mixed_labels_stays_together() -> None:
    frame = pd.DataFrame({"image_id": ["a", "b", "c"], "lesion_id": ["L", "L", "M"], "label": ["nv", "mel", "nv"]})
    split = assign_splits(frame)
    assert split.iloc[0] == split.iloc[1]


@pytest.mark.real_data
def test_no_lesion_crosses_splits_on_real_ham10000(ham10000_root) -> None:
    from skinaug.readers.ham10000 import read_ham10000

    records = read_ham10000(ham10000_root).records
    split = assign_splits(records)
    _assert_no_lesion_crosses(records, split)
    assert records.groupby("lesion_id").size().max() > 1  # the real set does have multi-image lesions
    for label, group in records.groupby("label"):
        share = (split[group.index] == "test").mean()
        assert 0.15 < share < 0.25, (label, share)


def test_train_keep_reduces_train_only_and_keeps_val_and_test_exactly() -> None:
    frame = _toy(n_lesions=600)
    full = assign_splits(frame, SplitConfig(seed=2))
    scarce = assign_splits(frame, SplitConfig(seed=2, train_keep=0.25))
    _assert_no_lesion_crosses(frame, scarce)
    for name in ("val", "test"):  # the same images scored with and without the reduction
        pd.testing.assert_index_equal(full.index[full == name], scarce.index[scarce == name])
    assert set(scarce.index[scarce == UNUSED]) <= set(full.index[full == "train"])
    sizes = frame.groupby("lesion_id").size()
    for label, group in frame.groupby("label"):
        train_images = int((full[group.index] == "train").sum())
        kept = scarce[group.index] == "train"
        assert kept.sum() >= 1, label
        # kept until the class holds a quarter of its train images: at most one lesion (<= 3 images) beyond it
        assert 0.25 * train_images <= kept.sum() < 0.25 * train_images + sizes.max(), (label, kept.sum())
    assert assign_splits(frame, SplitConfig(seed=2, train_keep=1.0)).equals(full)


def test_train_keep_keeps_a_lesion_of_a_tiny_class_and_refuses_bad_values() -> None:
    frame = pd.DataFrame({"image_id": ["a", "b"], "lesion_id": ["L", "M"], "label": ["df", "df"]})
    split = assign_splits(frame, SplitConfig(1.0, 0.0, 0.0, train_keep=0.01))
    assert sorted(split) == ["train", UNUSED]
    for bad in (0.0, 1.5):
        with pytest.raises(SkinaugError, match="train_keep"):
            assign_splits(frame, SplitConfig(train_keep=bad))
