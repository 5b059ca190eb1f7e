"""The arms' samplers: what share of each class's draws is real or extra, and how many draws per epoch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skinaug.classifiers.arms import BuiltArm, build_arm, control_of, parse_arm, parse_arms, unfinished_of
from skinaug.data import ManifestDataset, synthetic_share_of_draws
from skinaug.errors import SkinaugError
from skinaug.labels import CLASSES

REAL_COUNTS = {"nv": 600, "mel": 120, "df": 10}  # one class above N=500, two below
EXTRA_PER_CLASS = 500
N_EPOCHS = 40  # draws enough for shares to within ~0.01


def _dataset(counts: dict[str, int], kind: str, prefix: str) -> ManifestDataset:
    labels = [label for label, n in counts.items() for _ in range(n)]
    frame = pd.DataFrame(
        {
            "image_id": [f"{prefix}{i}" for i in range(len(labels))],
            "image_file": [f"/nowhere/{prefix}{i}.png" for i in range(len(labels))],
            "mask_file": "",
            "label": labels,
        }
    )
    return ManifestDataset(frame, kind)  # no file is read until an item is fetched


@pytest.fixture(scope="module")
def sets() -> tuple[ManifestDataset, ManifestDataset]:
    real = _dataset(REAL_COUNTS, "real", "r")
    extra = _dataset({label: EXTRA_PER_CLASS for label in REAL_COUNTS}, "synthetic", "s")
    return real, extra


def _shares(arm: str, real: ManifestDataset, extra: ManifestDataset) -> dict[str, dict[str, float]]:
    """Per-class draw counts and extra shares over N_EPOCHS epochs of the arm's sampler (seed 0)."""
    built = build_arm(arm, real, extra, seed=0, top_up_to=500)
    draws = []
    for _ in range(N_EPOCHS):
        epoch = np.arange(len(built.dataset)) if built.sampler is None else np.fromiter(iter(built.sampler), int)
        assert epoch.size == len(real) or built.sampler is None, "every arm draws len(real) images per epoch"
        draws.append(epoch)
    return synthetic_share_of_draws(built.labels, built.is_extra, np.concatenate(draws))


def _class_share(result: dict[str, dict[str, float]], label: str) -> float:
    return result[label]["draws"] / result["all"]["draws"]


def test_real_only_arms_draw_no_extra_image(sets: tuple[ManifestDataset, ManifestDataset]) -> None:
    real, extra = sets
    for arm in ("a", "b", "d"):
        result = _shares(arm, real, extra)
        assert result["all"]["synthetic_draws"] == 0, arm
    balanced = _shares("b", real, extra)
    for label in REAL_COUNTS:
        assert _class_share(balanced, label) == pytest.approx(1 / 3, abs=0.01)


def test_pooled_arm_c_share_tracks_the_class(sets: tuple[ManifestDataset, ManifestDataset]) -> None:
    real, extra = sets
    result = _shares("c", real, extra)
    for label, n_real in REAL_COUNTS.items():
        assert _class_share(result, label) == pytest.approx(1 / 3, abs=0.01)
        expected = EXTRA_PER_CLASS / (EXTRA_PER_CLASS + n_real)  # every image of the class equally likely
        assert result[label]["synthetic_share"] == pytest.approx(expected, abs=0.01), label


@pytest.mark.parametrize("cap", [0.25, 0.5])
def test_share_arm_caps_the_extra_share_of_every_class(
    sets: tuple[ManifestDataset, ManifestDataset], cap: float
) -> None:
    real, extra = sets
    result = _shares(f"share{cap}", real, extra)
    for label, n_real in REAL_COUNTS.items():
        assert _class_share(result, label) == pytest.approx(1 / 3, abs=0.01)
        pooled = EXTRA_PER_CLASS / (EXTRA_PER_CLASS + n_real)
        assert result[label]["synthetic_share"] == pytest.approx(min(cap, pooled), abs=0.012), label


def test_topup_fills_every_class_to_n_and_shuffles(sets: tuple[ManifestDataset, ManifestDataset]) -> None:
    real, extra = sets
    built = build_arm("topup", real, extra, seed=0, top_up_to=500)
    for label, n_real in REAL_COUNTS.items():
        k = CLASSES.index(label)
        n_extra = int((built.is_extra & (built.labels == k)).sum())
        assert n_extra == max(0, 500 - n_real), label  # nv (600 real) gets none
    result = _shares("topup", real, extra)
    total = len(built.labels)
    for label, n_real in REAL_COUNTS.items():  # plain shuffling: classes drawn as often as they occur
        held = max(n_real, 500)
        assert _class_share(result, label) == pytest.approx(held / total, abs=0.01)
        assert result[label]["synthetic_share"] == pytest.approx(max(0, 500 - n_real) / held, abs=0.012)


def test_topup_sampler_balances_the_topped_up_set(sets: tuple[ManifestDataset, ManifestDataset]) -> None:
    real, extra = sets
    result = _shares("topup-sampler", real, extra)
    for label, n_real in REAL_COUNTS.items():
        assert _class_share(result, label) == pytest.approx(1 / 3, abs=0.01)
        assert result[label]["synthetic_share"] == pytest.approx(max(0, 500 - n_real) / max(n_real, 500), abs=0.012)


def _draw(built: BuiltArm) -> np.ndarray:
    """One epoch of an arm's draws (every index once for plain shuffling without a sampler)."""
    return np.arange(len(built.dataset)) if built.sampler is None else np.fromiter(iter(built.sampler), int)


def test_copies_control_is_mixed_exactly_as_the_generated_set(sets: tuple[ManifestDataset, ManifestDataset]) -> None:
    real, extra = sets
    copies = _dataset({label: EXTRA_PER_CLASS for label in REAL_COUNTS}, "synthetic", "c")
    for arm in ("c", "topup", "share0.25"):
        generated = build_arm(arm, real, extra, seed=3)
        control = build_arm(parse_arm(f"{arm}-copies"), real, copies, seed=3)
        assert np.array_equal(generated.labels, control.labels) and np.array_equal(generated.is_extra, control.is_extra)
        assert np.array_equal(_draw(generated), _draw(control)), arm  # the very same draws, image for image


def test_arm_names_and_controls() -> None:
    assert [a.name for a in parse_arms("abcd")] == ["a", "b", "c", "d"]
    names = [a.name for a in parse_arms("a,b,c,c-copies,topup-selected", (0.25,))]
    assert names == ["a", "b", "c", "c-copies", "topup-selected", "share0.25", "share0.25-copies", "share0.25-selected"]
    assert control_of("c") == "c-copies" and control_of("topup-selected") == "topup-copies"
    assert control_of("share0.5") == "share0.5-copies" and control_of("b") is None and control_of("c-copies") is None
    finish = parse_arm("share0.5-copies-finish2")
    assert (finish.mixing, finish.source, finish.share, finish.finish) == ("share", "copies", 0.5, 2)
    assert control_of("share0.5-finish2") == "share0.5-copies-finish2"
    assert control_of("topup-selected-finish1") == "topup-copies-finish1"
    assert unfinished_of("share0.5-copies-finish2") == "share0.5-copies" and unfinished_of("share0.5") is None
    assert "last 2 epoch(s) real only" in parse_arm("share0.5-finish2").describe()
    for bad in ("x", "a-copies", "share2", "topup-magic", "b-finish2", "c-finish0", "c-finish1-finish1"):
        with pytest.raises(SkinaugError, match="--arms"):
            parse_arms(bad)


@pytest.mark.parametrize("arm", ["share0.5-finish2", "topup-finish2", "c-copies-finish2"])
def test_finish_arm_draws_like_its_base_then_like_b(sets: tuple[ManifestDataset, ManifestDataset], arm: str) -> None:
    real, extra = sets
    built = build_arm(arm, real, extra, seed=0, top_up_to=500, epochs=5)
    base = build_arm(arm.removesuffix("-finish2"), real, extra, seed=0, top_up_to=500)
    b = build_arm("b", real, extra, seed=0)
    assert built.sampler is not None and base.sampler is not None and b.sampler is not None
    for epoch in range(5):
        built.sampler.set_epoch(epoch)  # type: ignore[attr-defined]
        drawn = np.fromiter(iter(built.sampler), int)
        assert drawn.size == len(real)
        if epoch < 3:  # epochs 0-2: the base arm's draws, image for image
            assert np.array_equal(drawn, np.fromiter(iter(base.sampler), int)), epoch
        else:  # the last 2: real images only, class-balanced as arm b
            assert not built.is_extra[drawn].any(), epoch
            assert np.array_equal(drawn, np.fromiter(iter(b.sampler), int)), epoch
    shares = synthetic_share_of_draws(built.labels, built.is_extra, drawn)
    for label in REAL_COUNTS:
        assert _class_share(shares, label) == pytest.approx(1 / 3, abs=0.05)


def test_finish_needs_more_epochs_than_it_finishes_with(sets: tuple[ManifestDataset, ManifestDataset]) -> None:
    real, extra = sets
    with pytest.raises(SkinaugError, match="finish2 needs more than 2 epochs"):
        build_arm("share0.5-finish2", real, extra, seed=0, epochs=2)
    with pytest.raises(SkinaugError, match="finish2 needs more than 2 epochs"):
        build_arm("share0.5-finish2", real, extra, seed=0)
