"""`augment` killed with SIGKILL mid-run, then re-run: exactly the planned set, as if never interrupted."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable

import pandas as pd
from PIL import Image

from skinaug.generators.augment import AugmentConfig, augment
from skinaug.labels import CLASSES

from .conftest import TEMP_FILE, kill_when, run_cli, snapshot, start_cli

PER_CLASS = 10
TOTAL = PER_CLASS * len(CLASSES)
SEED = 61


def finished_images(out: Path) -> int:
    """Item images already published (atomic-write temporaries do not count)."""
    return sum(1 for p in out.glob("images/*/*.png") if not p.name.startswith("."))


def assert_decodes(path: Path) -> None:
    """The PNG decodes completely (a truncated file raises)."""
    with Image.open(path) as image:
        image.load()
    assert image.size == (32, 32), path


def assert_set_matches_disk(out: Path) -> None:
    """Exactly PER_CLASS rows per class, unique ids, every file decodes, manifest rows == files on disk."""
    manifest = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    assert manifest["label"].value_counts().to_dict() == {label: PER_CLASS for label in CLASSES}
    assert not manifest["image_id"].duplicated().any()
    listed = set(manifest["image_path"]) | set(manifest["mask_path"]) - {""}
    on_disk = {
        p.relative_to(out).as_posix()
        for sub in ("images", "masks")
        for p in (out / sub).rglob("*")
        if p.is_file() and p.relative_to(out).as_posix() != "images/metadata.csv"
    }
    metadata = pd.read_csv(out / "images" / "metadata.csv", dtype=str, keep_default_na=False)
    assert sorted("images/" + metadata["file_name"]) == sorted(manifest["image_path"])
    assert on_disk == listed, f"extra: {sorted(on_disk - listed)[:3]}, missing: {sorted(listed - on_disk)[:3]}"
    for relative in sorted(listed):
        assert_decodes(out / relative)


def test_augment_killed_mid_run_then_rerun_makes_exactly_the_planned_set(
    measured_work: Path, trained_generator: Path, tmp_path: Path, expected: Callable[[str, str], None]
) -> None:
    expected(
        "kill augment",
        "SIGKILL after some images: no manifest, every published PNG whole; the re-run makes "
        "only the missing items, exactly N per class, manifest == files, byte-identical to an "
        "uninterrupted run",
    )
    common = (
        "augment",
        measured_work,
        "--generator",
        trained_generator,
        "--per-class",
        str(PER_CLASS),
        "--batch-size",
        "1",
        "--device",
        "cpu",
    )
    rng = random.Random(SEED)
    out, log = tmp_path / "syn", tmp_path / "augment.log"
    goal = int(rng.uniform(0.15, 0.75) * TOTAL)
    process = start_cli(log, *common, "--out", out)
    kill_when(process, lambda: out.exists() and finished_images(out) >= goal, rng.uniform(0, 0.05), log=log)
    made = finished_images(out)
    assert 0 < made < TOTAL, f"the kill did not land mid-run ({made} of {TOTAL})"
    assert not (out / "manifest.csv").exists(), "an interrupted set must not have a manifest"
    for png in out.glob("*/*/*.png"):
        if not TEMP_FILE.match(png.name):
            assert_decodes(png)  # published files are whole, even right after a SIGKILL

    rerun = run_cli(*common, "--out", out)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    # an item whose image was published is kept; one with only its mask (written first) is made again
    assert (
        rerun.stdout.startswith(f"augment: {TOTAL} images")
        and f"; {TOTAL - made} generated now, {made} kept" in rerun.stdout
    ), rerun.stdout
    assert_set_matches_disk(out)
    assert not [p for p in out.rglob("*") if TEMP_FILE.match(p.name)], "temporary files left behind"

    # an uninterrupted run (in process: same code, one thread); with batch size 1 every item depends only on
    # its own seed, so the resumed set must be byte-identical
    augment(
        measured_work,
        trained_generator,
        tmp_path / "straight",
        AugmentConfig(per_class=PER_CLASS, batch_size=1),
        progress=False,
    )
    assert snapshot(out) == snapshot(tmp_path / "straight")
