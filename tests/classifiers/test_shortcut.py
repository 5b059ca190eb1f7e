"""The real-vs-extra judge scores marks on the images, not the class mix of the two sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import Dataset

from skinaug.classifiers.shortcut import ShortcutConfig, _class_matched, real_vs_extra_auroc

COLOURS = {0: (0.8, 0.2, 0.2), 1: (0.2, 0.2, 0.8)}  # two classes a judge tells apart at a glance


class _Images(Dataset):
    """Noisy images of two colour classes; `mark` brightens a corner patch (what a generator might leave)."""

    def __init__(self, prefix: str, counts: dict[int, int], seed: int, mark: bool = False) -> None:
        self.labels = np.repeat(list(counts), list(counts.values())).astype(np.int64)
        self.frame = pd.DataFrame({"image_id": [f"{prefix}{i}" for i in range(len(self.labels))]})
        rng = np.random.default_rng(seed)
        base = np.stack([np.asarray(COLOURS[int(c)], np.float32)[:, None, None] for c in self.labels])
        self.images = torch.from_numpy(base + 0.25 * rng.standard_normal((len(self.labels), 3, 16, 16)).astype("f4"))
        if mark:
            self.images[:, :, :4, :4] += 0.6

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


JUDGE = ShortcutConfig(arch="test_resnet", steps=60, batch_size=32, lr=3e-3)
REAL = {0: 760, 1: 80}  # like HAM10000's train split: one class dominates
EXTRA = {0: 80, 1: 720}  # like a top-up set: the rare class dominates


def _auroc(extra: _Images) -> dict:
    real = _Images("real", REAL, seed=1)
    return real_vs_extra_auroc(real, real, extra, extra, JUDGE, device="cpu")


def test_extra_images_without_a_mark_are_not_told_apart_by_their_class_mix() -> None:
    torch.manual_seed(0)
    result = _auroc(_Images("extra", EXTRA, seed=2))  # same image distribution per class, other class mix
    # sampled without matching, the class mix alone gives 0.5 + (0.9 - 0.095) / 2 = 0.90
    assert result["auroc"] < 0.75, result
    assert result["sampling"] == "class-matched"
    assert set(result["held_out_per_class"]) == {"akiec", "bcc"}  # class indices 0 and 1, both held out


def test_extra_images_with_a_mark_are_told_apart() -> None:
    torch.manual_seed(0)
    assert _auroc(_Images("extra", EXTRA, seed=2, mark=True))["auroc"] > 0.9


def test_class_matching_takes_equal_numbers_per_class_from_each_side_only() -> None:
    rng = np.random.default_rng(0)
    real_labels = np.repeat([0, 1, 2], [50, 10, 5])
    extra_labels = np.repeat([0, 1], [8, 30])  # class 2 has no extra image: left out
    real_side, extra_side = rng.random(65) < 0.7, rng.random(38) < 0.7
    real_idx, extra_idx, counts = _class_matched(real_side, real_labels, extra_side, extra_labels, 1000, rng)
    assert real_side[real_idx].all() and extra_side[extra_idx].all()
    for c in (0, 1):
        expected = min((real_side & (real_labels == c)).sum(), (extra_side & (extra_labels == c)).sum())
        assert counts[c] == expected == (real_labels[real_idx] == c).sum() == (extra_labels[extra_idx] == c).sum()
    assert 2 not in counts and len(np.unique(real_idx)) == len(real_idx)
    capped_real, capped_extra, _ = _class_matched(real_side, real_labels, extra_side, extra_labels, 6, rng)
    assert len(capped_real) == len(capped_extra) <= 6


@pytest.mark.parametrize("side", ["real", "extra"])
def test_a_class_missing_from_one_side_leaves_too_few_images_as_nan(side: str) -> None:
    real = _Images("real", {0: 40} if side == "real" else REAL, seed=1)
    extra = _Images("extra", {1: 40} if side == "real" else {1: 1}, seed=2)
    result = real_vs_extra_auroc(real, real, extra, extra, JUDGE, device="cpu")
    assert np.isnan(result["auroc"]) and "too few" in result["note"]
