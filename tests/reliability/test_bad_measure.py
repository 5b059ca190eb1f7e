"""Bad inputs for `measure`: a prepared work directory whose files changed afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from skinaug.measurements import measure_workdir
from skinaug.prepare import prepare_dataset

from .bad_inputs import (  # noqa: F401 (fixtures)
    N_IMAGES,
    VICTIM,
    assert_accepted,
    clean_ham,
    corrupt,
    edit_dataset_json,
    edit_manifest,
    huge_allowed,
    image_path,
    measure_cache,
    save_mask,
    several_encodings,
    truncate,
)
from .conftest import assert_one_line_error, copy_tree, run_cli, snapshot


def measured_as(status: str, reason: str = "") -> Callable[[Path, Path], None]:
    """Check: features.csv has every image, the victim with `status` (and `reason` in its reason), the rest ok."""

    def check(root: Path, work: Path) -> None:
        features = pd.read_csv(work / "measurements" / "features.csv", dtype={"reason": str}, keep_default_na=False)
        assert len(features) == N_IMAGES
        victim = features[features["image_id"] == VICTIM].iloc[0]
        assert victim["status"] == status and reason in victim["reason"], (victim["status"], victim["reason"])
        assert (features[features["image_id"] != VICTIM]["status"] == "ok").all()

    return check


@dataclass(frozen=True)
class WorkCase:
    """A damage to the data set before `prepare` (root) or to the data set / work directory after it (work)."""

    before_prepare: Callable[[Path], None] | None
    after_prepare: Callable[[Path, Path], None] | None
    exit_code: int
    words: tuple[str, ...]
    behaviour: str
    check: Callable[[Path, Path], None] | None = None


MEASURE: dict[str, WorkCase] = {
    "image-corrupted-after-prepare": WorkCase(
        None,
        lambda r, w: corrupt(image_path(r)),
        0,
        ("not measured", VICTIM),
        "exit 0; the image gets status failed with the reason, listed on stderr",
        measured_as("failed", "not a readable image"),
    ),
    "image-deleted-after-prepare": WorkCase(
        None,
        lambda r, w: image_path(r).unlink(),
        0,
        ("not measured", VICTIM),
        "exit 0; status failed: file not found",
        measured_as("failed", "file not found"),
    ),
    "mask-emptied-after-prepare": WorkCase(
        None,
        lambda r, w: save_mask(np.zeros((48, 64), bool))(r),
        0,
        ("not measured", "no lesion pixel"),
        "exit 0; status failed: the mask has no lesion pixel",
        measured_as("failed", "no lesion pixel"),
    ),
    "huge-6000x4000": WorkCase(
        huge_allowed, None, 0, (), "exit 0; measured after downscaling to 256 px", measured_as("ok")
    ),
    "grey-rgba-16-bit": WorkCase(several_encodings, None, 0, (), "exit 0; every encoding measured", measured_as("ok")),
    "manifest-path-escapes-root": WorkCase(
        None,
        lambda r, w: edit_manifest(w, "image_path", "../../../etc/hostname"),
        1,
        ("../../../etc/hostname", "escapes the dataset root"),
        "exit 1 naming the path; earlier measurements kept",
    ),
    "manifest-label-unknown": WorkCase(
        None,
        lambda r, w: edit_manifest(w, "label", "banana"),
        1,
        ("manifest.csv", "'banana'"),
        "exit 1 naming the manifest and the label; earlier measurements kept",
    ),
    "manifest-cut-mid-row": WorkCase(
        None,
        lambda r, w: truncate(w / "manifest.csv"),
        1,
        ("manifest.csv",),
        "exit 1 naming the manifest; earlier measurements kept",
    ),
    "dataset-moved": WorkCase(
        None,
        lambda r, w: edit_dataset_json(w, root=str(r.parent / "moved")),
        1,
        ("no measured training image",),
        "exit 1 when no image can be read; earlier measurements kept",
    ),
    "dataset-json-not-json": WorkCase(
        None,
        lambda r, w: truncate(w / "dataset.json"),
        1,
        ("dataset.json", "not valid JSON"),
        "exit 1 naming dataset.json; earlier measurements kept",
    ),
}


@pytest.mark.parametrize("case", sorted(MEASURE))
def test_measure(
    case: str, clean_ham: Path, measure_cache: Path, tmp_path: Path, expected: Callable[[str, str], None]
) -> None:
    spec = MEASURE[case]
    expected("bad input: measure", spec.behaviour)
    root, work = copy_tree(clean_ham, tmp_path / "ham"), tmp_path / "work"
    if spec.before_prepare:
        spec.before_prepare(root)
    prepare_dataset("ham10000", root, work, progress=False)
    measure_workdir(work, workers=1, cache_dir=measure_cache, progress=False)  # earlier, good measurements
    if spec.after_prepare:
        spec.after_prepare(root, work)
    before_root, before_measurements = snapshot(root), snapshot(work / "measurements")
    result = run_cli("measure", work, "--workers", "1", "--cache-dir", measure_cache)
    assert snapshot(root) == before_root, "measure changed its input"
    if spec.exit_code == 1:
        assert_one_line_error(result, *spec.words)
        assert snapshot(work / "measurements") == before_measurements, "a refused measure changed earlier results"
        return
    assert_accepted(result, "measured ", spec.words)
    assert spec.check is not None
    spec.check(root, work)
