"""`prepare`: reading, checking every image and mask, splitting, and saving the work directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skinaug.errors import SkinaugError
from skinaug.manifest import MANIFEST_COLUMNS, load_prepared, resolve
from skinaug.prepare import prepare_dataset


def test_prepare_writes_a_complete_manifest(tiny_ham: Path, tmp_path: Path) -> None:
    result = prepare_dataset("ham10000", tiny_ham, tmp_path / "work", progress=False)
    prepared = load_prepared(tmp_path / "work")
    manifest = prepared.manifest
    assert list(manifest.columns) == list(MANIFEST_COLUMNS)
    assert len(manifest) == 21 and result.problems.empty
    assert set(manifest["split"]) <= {"train", "val", "test"} and (manifest["split"] == "train").any()
    assert (manifest.groupby("lesion_id")["split"].nunique() == 1).all()
    assert (manifest[["width", "height"]].to_numpy() == [64, 48]).all()
    assert (manifest["mask_status"] == "ok").all()
    assert manifest["mask_fraction"].between(0.05, 0.5).all()
    assert prepared.root == tiny_ham.resolve()
    assert prepared.image_file(manifest.iloc[0]).exists() and prepared.mask_file(manifest.iloc[0]).exists()
    info = json.loads((tmp_path / "work" / "dataset.json").read_text())
    assert info["format"] == "ham10000" and info["images"] == 21
    assert "21 images" in result.summary() and "0 excluded" in result.summary()


def _break_inputs(root: Path) -> dict[str, str]:
    """Damage five images/masks of the tiny set in different ways; returns image_id -> what was done."""
    images, masks = root / "HAM10000_images_part_1", root / "masks"
    good = (images / "ISIC_0000000.jpg").read_bytes()
    (images / "ISIC_0000000.jpg").write_bytes(good[:200] + bytes(range(256)) * 4)  # corrupt JPEG
    truncated = (masks / "ISIC_1000000_segmentation.png").read_bytes()
    (masks / "ISIC_1000000_segmentation.png").write_bytes(truncated[: len(truncated) // 2])  # truncated PNG
    (images / "ISIC_2000000.jpg").unlink()  # missing image
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(masks / "ISIC_3000000_segmentation.png")  # empty mask
    (masks / "ISIC_4000000_segmentation.png").unlink()  # missing mask
    return {
        "ISIC_0000000": "corrupt",
        "ISIC_1000000": "truncated mask",
        "ISIC_2000000": "missing",
        "ISIC_3000000": "empty mask",
        "ISIC_4000000": "missing mask",
    }


def test_bad_images_and_masks_are_reported_by_name_and_never_abort(tiny_ham: Path, tmp_path: Path) -> None:
    _break_inputs(tiny_ham)
    result = prepare_dataset("ham10000", tiny_ham, tmp_path / "work", progress=False)
    problems = result.problems.set_index("image_id")
    assert problems.loc["ISIC_0000000", "action"] == "image excluded"
    assert "ISIC_0000000.jpg" in problems.loc["ISIC_0000000", "problem"]
    assert "corrupt" in problems.loc["ISIC_0000000", "problem"]
    assert problems.loc["ISIC_2000000", "action"] == "image excluded"
    assert "ISIC_2000000.jpg: file not found" in problems.loc["ISIC_2000000", "problem"]
    assert "ISIC_1000000_segmentation.png" in problems.loc["ISIC_1000000", "problem"]
    assert "empty" in problems.loc["ISIC_3000000", "action"] and "no lesion" in problems.loc["ISIC_3000000", "problem"]
    assert "missing" in problems.loc["ISIC_4000000", "action"]
    manifest = result.manifest.set_index("image_id")
    assert "ISIC_0000000" not in manifest.index and "ISIC_2000000" not in manifest.index
    assert manifest.loc["ISIC_1000000", "mask_status"] == "unreadable"
    assert manifest.loc["ISIC_3000000", "mask_status"] == "empty"
    assert manifest.loc["ISIC_4000000", "mask_status"] == "missing"
    assert len(manifest) == 19
    assert "2 excluded, 3 without a usable mask" in result.summary()
    saved = pd.read_csv(tmp_path / "work" / "problems.csv")
    assert len(saved) == 5


def test_unknown_label_is_one_line_naming_file_and_line(tiny_ham: Path, tmp_path: Path) -> None:
    meta = tiny_ham / "HAM10000_metadata.csv"
    frame = pd.read_csv(meta, dtype=str)
    frame.loc[4, "dx"] = "lentigo maligna"
    frame.to_csv(meta, index=False)
    with pytest.raises(SkinaugError) as error:
        prepare_dataset("ham10000", tiny_ham, tmp_path / "work", progress=False)
    message = str(error.value)
    assert "HAM10000_metadata.csv line 6" in message and "lentigo maligna" in message and "\n" not in message
    assert not (tmp_path / "work" / "manifest.csv").exists()


def test_rerun_replaces_outputs_atomically_and_keeps_them_on_failure(tiny_ham: Path, tmp_path: Path) -> None:
    prepare_dataset("ham10000", tiny_ham, tmp_path / "work", progress=False)
    before = (tmp_path / "work" / "manifest.csv").read_bytes()
    (tiny_ham / "HAM10000_metadata.csv").write_text('not,a\nmetadata"file')
    with pytest.raises(SkinaugError):
        prepare_dataset("ham10000", tiny_ham, tmp_path / "work", progress=False)
    assert (tmp_path / "work" / "manifest.csv").read_bytes() == before
    assert not [p for p in (tmp_path / "work").iterdir() if p.name.endswith(".tmp")]


def test_paths_escaping_the_root_are_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    assert resolve(tmp_path / "root", "a/b.jpg") == (tmp_path / "root" / "a" / "b.jpg").resolve()
    for bad in ("../outside.jpg", "a/../../outside.jpg", "/etc/passwd"):
        with pytest.raises(SkinaugError, match="escapes the dataset root"):
            resolve(tmp_path / "root", bad)
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    with pytest.raises(SkinaugError, match="escapes"):
        resolve(tmp_path / "root", "link/secret.jpg")


def test_a_manifest_whose_paths_escape_the_root_is_refused_when_used(tiny_ham: Path, tmp_path: Path) -> None:
    prepare_dataset("ham10000", tiny_ham, tmp_path / "work", progress=False)
    path = tmp_path / "work" / "manifest.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[0, "image_path"] = "../../../etc/passwd"
    frame.to_csv(path, index=False)
    prepared = load_prepared(tmp_path / "work")
    with pytest.raises(SkinaugError, match="escapes the dataset root"):
        prepared.image_file(prepared.manifest.iloc[0])


def test_load_prepared_explains_a_missing_or_foreign_workdir(tmp_path: Path) -> None:
    with pytest.raises(SkinaugError, match="run `skinaug prepare"):
        load_prepared(tmp_path / "nothing")
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "dataset.json").write_text('{"manifest_version": 99}')
    (tmp_path / "w" / "manifest.csv").write_text("a\n1\n")
    with pytest.raises(SkinaugError, match="version 99"):
        load_prepared(tmp_path / "w")


def test_unknown_format_and_missing_root(tmp_path: Path) -> None:
    with pytest.raises(SkinaugError, match="unknown format 'xyz'"):
        prepare_dataset("xyz", tmp_path, tmp_path / "w", progress=False)
    with pytest.raises(SkinaugError, match="not found"):
        prepare_dataset("ham10000", tmp_path / "absent", tmp_path / "w", progress=False)
