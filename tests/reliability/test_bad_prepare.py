"""Bad inputs for `prepare`: damaged images, masks, labels and CSV paths (see bad_inputs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skinaug.prepare import prepare_dataset

from ..conftest import draw_lesion
from .bad_inputs import (
    IMAGES,
    N_IMAGES,
    VICTIM,
    assert_accepted,
    clean_ham,  # noqa: F401 (fixtures)
    corrupt,
    double_size_mask,
    huge_allowed,
    huge_refused,
    image_path,
    inverted_palette,
    mask_path,
    replace_image,
    rgb_of,
    save_mask,
    set_label,
    sixteen_bit,
    truncate,
    write_csv_dataset,
)
from .conftest import assert_one_line_error, copy_tree, run_cli, snapshot

# --- expectations --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One damaged input: what to damage, what the command must do, and in words what that is."""

    damage: Callable[[Path], None]
    exit_code: int
    words: tuple[str, ...]  # in the error line (exit 1) or on stderr (exit 0)
    behaviour: str
    check: Callable[[Path, Path], None] | None = None  # (root, work) -> extra checks after exit 0
    fmt: str = "ham10000"


def manifest_row(work: Path, image_id: str = VICTIM) -> dict[str, str]:
    """The manifest row of an image (KeyError-like failure if absent)."""
    manifest = pd.read_csv(work / "manifest.csv", dtype=str, keep_default_na=False)
    rows = manifest[manifest["image_id"] == image_id].to_dict("records")
    assert len(rows) == 1, f"{image_id} is not in the manifest once"
    return rows[0]


def excluded(reason: str) -> Callable[[Path, Path], None]:
    """Check: the victim is out of the manifest and in problems.csv as excluded for `reason`."""

    def check(root: Path, work: Path) -> None:
        manifest = pd.read_csv(work / "manifest.csv", dtype=str)
        problems = pd.read_csv(work / "problems.csv", dtype=str)
        assert VICTIM not in set(manifest["image_id"]) and len(manifest) == N_IMAGES - 1
        row = problems[problems["image_id"] == VICTIM].iloc[0]
        assert row["action"] == "image excluded" and reason in row["problem"], row.to_dict()

    return check


def kept(
    width: int = 64, height: int = 48, mask_status: str = "ok", fraction: Callable[[Path], float] | None = None
) -> Callable[[Path, Path], None]:
    """Check: the victim is in the manifest with this size and mask status (and mask fraction, if given)."""

    def check(root: Path, work: Path) -> None:
        row = manifest_row(work)
        assert (int(row["width"]), int(row["height"]), row["mask_status"]) == (width, height, mask_status), row
        if fraction is not None:
            assert abs(float(row["mask_fraction"]) - fraction(root)) < 0.01, (row["mask_fraction"], fraction(root))
        problems = pd.read_csv(work / "problems.csv", dtype=str)
        listed = set(problems["image_id"])
        assert (VICTIM in listed) == (mask_status != "ok"), "a mask problem must be listed, and only then"
        assert len(pd.read_csv(work / "manifest.csv")) == N_IMAGES

    return check


def label_is(label: str) -> Callable[[Path, Path], None]:
    """Check: the victim's canonical label."""

    def check(root: Path, work: Path) -> None:
        assert manifest_row(work)["label"] == label

    return check


def true_fraction(root: Path) -> float:
    """The lesion share of the original (undamaged) victim mask, as drawn."""
    return float(draw_lesion(64, 48, 12, (0, 0, 0), seed=41)[1].mean())


PREPARE: dict[str, Case] = {
    "corrupt-image": Case(
        lambda r: corrupt(image_path(r)),
        0,
        (VICTIM, "not a readable image"),
        "exit 0; the image is excluded and listed in problems.csv",
        excluded("not a readable image"),
    ),
    "truncated-image": Case(
        lambda r: truncate(image_path(r)),
        0,
        (VICTIM, "truncated"),
        "exit 0; the image is excluded as truncated",
        excluded("corrupt or truncated"),
    ),
    "empty-file": Case(
        lambda r: image_path(r).write_bytes(b""),
        0,
        (VICTIM, "empty file"),
        "exit 0; the 0-byte file is excluded",
        excluded("empty file (0 bytes)"),
    ),
    "one-pixel": Case(
        lambda r: replace_image(r, Image.new("RGB", (1, 1)), ".jpg"),
        0,
        (VICTIM, "too small"),
        "exit 0; a 1x1 image is excluded as too small",
        excluded("image too small"),
    ),
    "over-pixel-limit": Case(
        huge_refused,
        0,
        (VICTIM, "too large"),
        "exit 0; a 120 MP image is excluded without decoding it",
        excluded("image too large"),
    ),
    "huge-6000x4000": Case(huge_allowed, 0, (), "exit 0; a 6000x4000 image is kept at its size", kept(6000, 4000)),
    "grayscale": Case(
        lambda r: replace_image(r, Image.fromarray(rgb_of(r)).convert("L"), ".jpg"),
        0,
        (),
        "exit 0; a greyscale JPEG is kept",
        kept(),
    ),
    "rgba": Case(
        lambda r: replace_image(r, Image.fromarray(rgb_of(r)).convert("RGBA")),
        0,
        (),
        "exit 0; an RGBA PNG is kept (alpha dropped)",
        kept(),
    ),
    "16-bit": Case(sixteen_bit, 0, (), "exit 0; a 16-bit greyscale PNG is kept", kept()),
    "mask-empty": Case(
        save_mask(np.zeros((48, 64), bool)),
        0,
        (VICTIM, "no lesion pixel"),
        "exit 0; image kept, mask flagged empty in problems.csv",
        kept(mask_status="empty"),
    ),
    "mask-whole-image": Case(
        save_mask(np.ones((48, 64), bool)),
        0,
        (VICTIM, "covers 100.0%"),
        "exit 0; image kept, mask flagged full in problems.csv",
        kept(mask_status="full"),
    ),
    "mask-wrong-size": Case(
        double_size_mask,
        0,
        (),
        "exit 0; a 128x96 anti-aliased mask of a 64x48 image is binarised and resized, lesion share unchanged",
        kept(fraction=true_fraction),
    ),
    "mask-inverted-palette": Case(
        inverted_palette,
        0,
        (),
        "exit 0; a palette mask with index 0 = white is read as it looks (lesion not swapped)",
        kept(fraction=true_fraction),
    ),
    "mask-corrupt": Case(
        lambda r: corrupt(mask_path(r)),
        0,
        (VICTIM, "mask"),
        "exit 0; image kept, mask flagged unreadable",
        kept(mask_status="unreadable"),
    ),
    "label-unknown": Case(
        lambda r: set_label(r, "banana"),
        1,
        ("HAM10000_metadata.csv line 15", "'banana'"),
        "exit 1 naming the CSV line and the label; the earlier work directory is kept",
    ),
    "label-mixed-case": Case(lambda r: set_label(r, " MeL "), 0, (), "exit 0; ' MeL ' is read as mel", label_is("mel")),
    "label-missing": Case(
        lambda r: set_label(r, ""),
        1,
        ("HAM10000_metadata.csv line 15", "(empty)"),
        "exit 1 naming the CSV line of the empty label; the earlier work directory is kept",
    ),
    "label-column-missing": Case(
        lambda r: (
            pd.read_csv(r / "HAM10000_metadata.csv").drop(columns="dx").to_csv(r / "HAM10000_metadata.csv", index=False)
        ),
        1,
        ("HAM10000_metadata.csv", "missing column(s) dx"),
        "exit 1 naming the CSV and the column",
    ),
    "every-image-unreadable": Case(
        lambda r: [corrupt(p) for p in (r / IMAGES).iterdir()],
        1,
        ("none of the 21 images could be read",),
        "exit 1: nothing usable; the earlier work directory is kept",
    ),
    "csv-path-escapes-root": Case(
        lambda r: write_csv_dataset(r, "../outside.jpg") and None,
        1,
        ("dataset.csv line 23", "escapes the dataset root"),
        "exit 1 naming the CSV line whose path leaves the data set root",
        fmt="csv",
    ),
    "csv-absolute-path-outside": Case(
        lambda r: write_csv_dataset(r, "/etc/hostname") and None,
        1,
        ("dataset.csv line 23", "escapes the dataset root"),
        "exit 1 for an absolute path outside the data set root",
        fmt="csv",
    ),
}


@pytest.mark.parametrize("case", sorted(PREPARE))
def test_prepare(case: str, clean_ham: Path, tmp_path: Path, expected: Callable[[str, str], None]) -> None:
    spec = PREPARE[case]
    expected("bad input: prepare", spec.behaviour)
    root = copy_tree(clean_ham, tmp_path / "ham")
    work = tmp_path / "work"
    prepare_dataset("ham10000", root, work, progress=False)  # an earlier, good work directory
    before_work = snapshot(work)
    spec.damage(root)
    before_root = snapshot(root)
    source = root / "dataset.csv" if spec.fmt == "csv" else root
    result = run_cli("prepare", "--format", spec.fmt, source, "--out", work)
    assert snapshot(root) == before_root, "prepare changed its input"
    if spec.exit_code == 1:
        assert_one_line_error(result, *spec.words)
        assert snapshot(work) == before_work, "a refused prepare changed the earlier work directory"
        return
    assert_accepted(result, "prepared ", spec.words)
    assert spec.check is not None
    spec.check(root, work)
