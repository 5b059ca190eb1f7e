"""Bad inputs for `bench-classifier`: damaged images, manifests, splits and synthetic sets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from PIL import Image

from skinaug.prepare import prepare_dataset
from skinaug.synthetic import write_copy_set

from .bad_inputs import (
    IMAGES,
    Prepared,
    clean_ham,  # noqa: F401 (fixtures)
    corrupt,
    edit_manifest,
    image_path,
    measure_cache,  # noqa: F401 (fixtures)
    prepared_ham,  # noqa: F401 (fixtures)
    private_copy,
    replace_image,
    several_encodings,
    train_ids,
)
from .conftest import assert_no_traceback, assert_one_line_error, run_cli, snapshot

BENCH_ARGS: tuple[str, ...] = (
    "--arch",
    "resnet18",
    "--image-size",
    "16",
    "--epochs",
    "1",
    "--seeds",
    "1",
    "--arms",
    "a",
    "--batch-size",
    "8",
    "--workers",
    "0",
    "--device",
    "cpu",
)


def synthetic_from_test_image(p: Prepared) -> None:
    """A copy set (skinaug.synthetic) whose first row claims a test image as its source."""
    syn = p.work.parent / "copies"
    write_copy_set(p.work, syn, per_class=1, progress=False)
    manifest = pd.read_csv(syn / "manifest.csv", dtype=str, keep_default_na=False)
    test = pd.read_csv(p.work / "manifest.csv", dtype=str).query("split == 'test'")["image_id"].iloc[0]
    manifest.loc[0, "source_image_id"] = test
    manifest.to_csv(syn / "manifest.csv", index=False)


def encodings_and_huge(p: Prepared) -> None:
    """Train/val/test images as 16-bit, greyscale, RGBA and 6000x4000 files (each kept by prepare)."""
    several_encodings(p.root)
    with Image.open(image_path(p.root, "ISIC_5000000")) as image:
        big = image.convert("RGB").resize((6000, 4000), Image.Resampling.NEAREST)
    replace_image(p.root, big, ".jpg", "ISIC_5000000")
    prepare_dataset("ham10000", p.root, p.work, progress=False)


def set_split(work: Path, old: str, new: str) -> None:
    """Move every image of split `old` to `new` in the manifest."""
    manifest = pd.read_csv(work / "manifest.csv", dtype=str, keep_default_na=False)
    manifest.loc[manifest["split"] == old, "split"] = new
    manifest.to_csv(work / "manifest.csv", index=False)


@dataclass(frozen=True)
class BenchCase:
    """A damage to a private copy before `bench-classifier`, with extra arguments."""

    damage: Callable[[Prepared], None]
    exit_code: int
    words: tuple[str, ...]
    behaviour: str
    extra: Callable[[Prepared], tuple[str, ...]] = lambda p: ()


BENCH: dict[str, BenchCase] = {
    "image-corrupted-after-prepare": BenchCase(
        lambda p: corrupt(image_path(p.root, train_ids(p.work)[0])),
        1,
        (IMAGES, "not a readable image"),
        "exit 1 naming the unreadable image (prepare again)",
    ),
    "manifest-label-unknown": BenchCase(
        lambda p: edit_manifest(p.work, "label", "banana", train_ids(p.work)[0]),
        1,
        ("manifest.csv", "'banana'"),
        "exit 1 naming the manifest and the label",
    ),
    "no-validation-images": BenchCase(
        lambda p: set_split(p.work, "val", "train"),
        1,
        ("no images in split val",),
        "exit 1: model selection needs real validation images",
    ),
    "synthetic-source-in-test-split": BenchCase(
        synthetic_from_test_image,
        1,
        ("test split", "train only"),
        "exit 1: a synthetic image made from a test image is refused",
        lambda p: ("--synthetic", str(p.work.parent / "copies"), "--arms", "ac"),
    ),
    "grey-rgba-16-bit-and-huge-images": BenchCase(
        encodings_and_huge, 0, (), "exit 0; every encoding and a 6000x4000 image are trained on"
    ),
}


@pytest.mark.parametrize("case", sorted(BENCH))
def test_bench_classifier(
    case: str, prepared_ham: Prepared, tmp_path: Path, expected: Callable[[str, str], None]
) -> None:
    spec = BENCH[case]
    expected("bad input: bench-classifier", spec.behaviour)
    p = private_copy(prepared_ham, tmp_path)
    spec.damage(p)
    inputs = {name: snapshot(folder) for name, folder in (("root", p.root), ("work", p.work))}
    out = tmp_path / "bench"
    result = run_cli("bench-classifier", p.work, *BENCH_ARGS, *spec.extra(p), "--out", out)
    assert {name: snapshot(folder) for name, folder in (("root", p.root), ("work", p.work))} == inputs
    if spec.exit_code == 1:
        assert_one_line_error(result, *spec.words)
        assert not (out / "bench_config.json").exists(), "a refused benchmark locked its output folder"
        return
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("mean recall on real test: a ") and (out / "report.md").exists()
