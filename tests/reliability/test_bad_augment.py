"""Bad inputs for `augment`: damaged measurements, source images and generator folders."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from skinaug.generators.augment import AugmentConfig, augment
from skinaug.labels import CLASSES

from .bad_inputs import (
    IMAGES,
    Prepared,
    clean_ham,  # noqa: F401 (fixtures)
    corrupt,
    image_path,
    measure_cache,  # noqa: F401 (fixtures)
    prepared_ham,  # noqa: F401 (fixtures)
    private_copy,
    train_ids,
)
from .conftest import assert_no_traceback, assert_one_line_error, copy_tree, run_cli, snapshot


def edit_features(work: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """Rewrite WORK/measurements/features.csv through `edit`."""
    path = work / "measurements" / "features.csv"
    edit(pd.read_csv(path, low_memory=False)).to_csv(path, index=False)


def non_finite(features: pd.DataFrame) -> pd.DataFrame:
    """NaN in three measurements and +inf in one of every train image."""
    columns = [c for c in features.columns if c not in ("image_id", "label", "split", "status", "reason")]
    train = features["split"] == "train"
    features.loc[train, columns[:3]] = np.nan
    features.loc[train, columns[3]] = np.inf
    return features


def unmeasured(label: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Mark every image of a class as not measured."""

    def edit(features: pd.DataFrame) -> pd.DataFrame:
        features.loc[features["label"] == label, "status"] = "failed"
        return features

    return edit


def finite_vectors(p: Prepared, out: Path) -> None:
    """Check: every synthetic image's measurement vector is finite (NaN/inf in features.csv become 0)."""
    manifest = pd.read_csv(out / "manifest.csv", dtype=str)
    vectors = np.array([json.loads(v) for v in manifest["measurements"]], dtype=float)
    assert len(manifest) == 2 * len(CLASSES) and np.isfinite(vectors).all()


@dataclass(frozen=True)
class AugmentCase:
    """A damage to a private copy (data set, work directory, generator) before `augment`."""

    damage: Callable[[Prepared], None]
    exit_code: int
    words: tuple[str, ...]
    behaviour: str
    check: Callable[[Prepared, Path], None] | None = None
    generator: Callable[[Prepared], Path] = lambda p: p.generator


AUGMENT: dict[str, AugmentCase] = {
    "nan-and-inf-measurements": AugmentCase(
        lambda p: edit_features(p.work, non_finite),
        0,
        (),
        "exit 0; NaN/inf measurements of the sources become 0 (the median)",
        finite_vectors,
    ),
    "class-without-measurements": AugmentCase(
        lambda p: edit_features(p.work, unmeasured("df")),
        1,
        ("no usable train image", "df"),
        "exit 1: intra needs a measured train image of every class",
    ),
    "features-csv-garbage": AugmentCase(
        lambda p: corrupt(p.work / "measurements" / "features.csv"), 1, ("features.csv",), "exit 1 naming features.csv"
    ),
    "features-csv-no-status-column": AugmentCase(
        lambda p: edit_features(p.work, lambda f: f.drop(columns="status")),
        1,
        ("features.csv", "status"),
        "exit 1 naming features.csv and the missing column",
    ),
    "source-image-corrupted": AugmentCase(
        lambda p: [corrupt(image_path(p.root, i)) for i in train_ids(p.work)],
        1,
        (IMAGES, "not a readable image"),
        "exit 1 naming the unreadable source image; finished images are kept",
    ),
    "generator-folder-is-a-workdir": AugmentCase(
        lambda p: None,
        1,
        ("config.json", "not a trained generator"),
        "exit 1: the folder holds no generator",
        generator=lambda p: p.work,
    ),
}


@pytest.fixture(scope="module")
def first_set(prepared_ham: Prepared, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 1-per-class synthetic set of `prepared_ham` (an earlier output the cases must not lose)."""
    out = tmp_path_factory.mktemp("first-set") / "syn"
    augment(prepared_ham.work, prepared_ham.generator, out, AugmentConfig(per_class=1, batch_size=8), progress=False)
    return out


@pytest.mark.parametrize("case", sorted(AUGMENT))
def test_augment(
    case: str, prepared_ham: Prepared, first_set: Path, tmp_path: Path, expected: Callable[[str, str], None]
) -> None:
    spec = AUGMENT[case]
    expected("bad input: augment", spec.behaviour)
    p = private_copy(prepared_ham, tmp_path)
    out = copy_tree(first_set, tmp_path / "syn")
    (out / "synthetic.json").write_text(
        (out / "synthetic.json")
        .read_text()
        .replace(str(prepared_ham.work.resolve()), str(p.work.resolve()))
        .replace(str(prepared_ham.generator.resolve()), str(p.generator.resolve()))
    )
    spec.damage(p)
    inputs = {name: snapshot(folder) for name, folder in (("root", p.root), ("work", p.work), ("gen", p.generator))}
    earlier = snapshot(out, skip=("manifest.csv", "grid.png", "synthetic.json", "images/metadata.csv"))
    result = run_cli(
        "augment", p.work, "--generator", spec.generator(p), "--per-class", "2", "--out", out, "--batch-size", "8"
    )
    assert {
        name: snapshot(folder) for name, folder in (("root", p.root), ("work", p.work), ("gen", p.generator))
    } == inputs, "augment changed an input"
    assert (
        snapshot(out, skip=("manifest.csv", "grid.png", "synthetic.json", "images/metadata.csv")).items()
        >= earlier.items()
    ), "an earlier image was lost"
    if spec.exit_code == 1:
        assert_one_line_error(result, *spec.words)
        return
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr[-3000:]
    assert spec.check is not None
    spec.check(p, out)
