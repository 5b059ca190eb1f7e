"""A corpus of bad inputs for `prepare`, `measure`, `augment` and `bench-classifier`, one damage per case.

Each case damages a fresh copy of a small valid data set (HAM10000 layout, 21 images 64x48, or one CSV)
or of its work directory, runs the command in a subprocess and expects either exit status 0 with the
problem listed (problems.csv, features.csv, a warning on stderr) or exit status 1 with one error line
naming the file; never a traceback, never an input file changed, and never an earlier output lost.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skinaug.generators.augment import AugmentConfig, augment
from skinaug.generators.training import TrainOptions, train_generator
from skinaug.labels import CLASSES
from skinaug.measurements import measure_workdir
from skinaug.prepare import prepare_dataset
from skinaug.synthetic import write_copy_set

from ..conftest import draw_lesion
from .conftest import assert_no_traceback, assert_one_line_error, copy_tree, micro_config, run_cli, snapshot

VICTIM = "ISIC_4000001"  # a melanoma image (class 4, second image) that the prepare cases damage
IMAGES = "HAM10000_images_part_1"
N_IMAGES = 21


# --- the valid data set and its damaged variants -------------------------------------------------------


def build_ham(root: Path) -> Path:
    """21 images in the HAM10000 layout (3 per class, 64x48 JPEG) with 0/255 PNG masks."""
    (root / IMAGES).mkdir(parents=True)
    (root / "masks").mkdir()
    rows = []
    for c_index, label in enumerate(CLASSES):
        for k in range(3):
            image_id = f"ISIC_{c_index}{k:06d}"
            rgb, mask = draw_lesion(64, 48, 10 + 2 * k, (150 - 15 * c_index, 80 + 10 * c_index, 60),
                                    seed=c_index * 10 + k)
            Image.fromarray(rgb).save(root / IMAGES / f"{image_id}.jpg", quality=95)
            Image.fromarray(mask.astype(np.uint8) * 255).save(root / "masks" / f"{image_id}_segmentation.png")
            rows.append({"lesion_id": f"HAM_{c_index}{k:06d}", "image_id": image_id, "dx": label})
    pd.DataFrame(rows).to_csv(root / "HAM10000_metadata.csv", index=False)
    return root


def image_path(root: Path, image_id: str = VICTIM) -> Path:
    """The JPEG of an image."""
    return root / IMAGES / f"{image_id}.jpg"


def mask_path(root: Path, image_id: str = VICTIM) -> Path:
    """The mask PNG of an image."""
    return root / "masks" / f"{image_id}_segmentation.png"


def replace_image(root: Path, image: Image.Image, suffix: str = ".png", image_id: str = VICTIM) -> None:
    """Swap an image's JPEG for another file of the same name stem (the reader finds it by stem)."""
    image_path(root, image_id).unlink()
    image.save(root / IMAGES / f"{image_id}{suffix}")


def rgb_of(root: Path) -> np.ndarray:
    """The victim's pixels as uint8 RGB."""
    with Image.open(image_path(root)) as image:
        return np.asarray(image.convert("RGB"))


def mask_of(root: Path) -> np.ndarray:
    """The victim's mask as bool."""
    with Image.open(mask_path(root)) as image:
        return np.asarray(image) > 127


def set_label(root: Path, label: str, image_id: str = VICTIM) -> None:
    """Change one dx cell of the metadata CSV."""
    meta = pd.read_csv(root / "HAM10000_metadata.csv", dtype=str, keep_default_na=False)
    meta.loc[meta["image_id"] == image_id, "dx"] = label
    meta.to_csv(root / "HAM10000_metadata.csv", index=False)


def corrupt(path: Path) -> None:
    """Overwrite a file with bytes that are no image at all."""
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())


def truncate(path: Path) -> None:
    """Keep the first 60 % of a file."""
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 6 // 10])


def huge_allowed(root: Path) -> None:
    """6000x4000 px (24 MP, under the 100 MP limit): a scaled-up copy, cheap to encode as JPEG."""
    big = Image.fromarray(rgb_of(root)).resize((6000, 4000), Image.Resampling.NEAREST)
    replace_image(root, big, ".jpg")


def huge_refused(root: Path) -> None:
    """12000x10000 px (120 MP, over the limit): a 1-bit PNG that compresses to almost nothing."""
    replace_image(root, Image.new("1", (12000, 10000), 1))


def inverted_palette(root: Path) -> None:
    """The mask as a P-mode PNG whose palette is inverted (index 0 white = lesion), as in 320 HAM masks."""
    lesion = mask_of(root)
    mask = Image.fromarray(np.where(lesion, 0, 1).astype(np.uint8), mode="P")
    mask.putpalette([255, 255, 255, 0, 0, 0] + [0, 0, 0] * 254)
    mask.save(mask_path(root))


def double_size_mask(root: Path) -> None:
    """The mask at twice the image's size (128x96), resized with Pillow's default (anti-aliased) filter."""
    with Image.open(mask_path(root)) as mask:
        bigger = mask.resize((128, 96))
    bigger.save(mask_path(root))


def sixteen_bit(root: Path) -> None:
    """A 16-bit greyscale PNG."""
    grey = rgb_of(root).mean(axis=2).astype(np.uint16) * 257
    image = Image.fromarray(grey)
    assert image.mode == "I;16", image.mode
    replace_image(root, image)


def write_csv_dataset(root: Path, image: str) -> Path:
    """A generic-CSV data set of the HAM images plus one row whose image is `image` (relative to the CSV)."""
    meta = pd.read_csv(root / "HAM10000_metadata.csv", dtype=str)
    table = pd.DataFrame({"image": IMAGES + "/" + meta["image_id"] + ".jpg", "label": meta["dx"],
                          "mask": "masks/" + meta["image_id"] + "_segmentation.png"})
    table.loc[len(table)] = {"image": image, "label": "mel", "mask": ""}
    table.to_csv(root / "dataset.csv", index=False)
    return root / "dataset.csv"


# --- expectations --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One damaged input: what to damage, what the command must do, and in words what that is."""

    damage: Callable[[Path], None]
    exit_code: int
    words: tuple[str, ...]                 # in the error line (exit 1) or on stderr (exit 0)
    behaviour: str
    check: Callable[[Path, Path], None] | None = None   # (root, work) -> extra checks after exit 0
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


def kept(width: int = 64, height: int = 48, mask_status: str = "ok",
         fraction: Callable[[Path], float] | None = None) -> Callable[[Path, Path], None]:
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


def save_mask(array: np.ndarray) -> Callable[[Path], None]:
    """Damage: replace the victim's mask by `array` (bool) as a 0/255 PNG."""
    def damage(root: Path) -> None:
        Image.fromarray(array.astype(np.uint8) * 255).save(mask_path(root))
    return damage


def true_fraction(root: Path) -> float:
    """The lesion share of the original (undamaged) victim mask, as drawn."""
    return float(draw_lesion(64, 48, 12, (0, 0, 0), seed=41)[1].mean())


PREPARE: dict[str, Case] = {
    "corrupt-image": Case(lambda r: corrupt(image_path(r)), 0, (VICTIM, "not a readable image"),
                          "exit 0; the image is excluded and listed in problems.csv", excluded("not a readable image")),
    "truncated-image": Case(lambda r: truncate(image_path(r)), 0, (VICTIM, "truncated"),
                            "exit 0; the image is excluded as truncated", excluded("corrupt or truncated")),
    "empty-file": Case(lambda r: image_path(r).write_bytes(b""), 0, (VICTIM, "empty file"),
                       "exit 0; the 0-byte file is excluded", excluded("empty file (0 bytes)")),
    "one-pixel": Case(lambda r: replace_image(r, Image.new("RGB", (1, 1)), ".jpg"), 0, (VICTIM, "too small"),
                      "exit 0; a 1x1 image is excluded as too small", excluded("image too small")),
    "over-pixel-limit": Case(huge_refused, 0, (VICTIM, "too large"),
                             "exit 0; a 120 MP image is excluded without decoding it", excluded("image too large")),
    "huge-6000x4000": Case(huge_allowed, 0, (), "exit 0; a 6000x4000 image is kept at its size", kept(6000, 4000)),
    "grayscale": Case(lambda r: replace_image(r, Image.fromarray(rgb_of(r)).convert("L"), ".jpg"), 0, (),
                      "exit 0; a greyscale JPEG is kept", kept()),
    "rgba": Case(lambda r: replace_image(r, Image.fromarray(rgb_of(r)).convert("RGBA")), 0, (),
                 "exit 0; an RGBA PNG is kept (alpha dropped)", kept()),
    "16-bit": Case(sixteen_bit, 0, (), "exit 0; a 16-bit greyscale PNG is kept", kept()),
    "mask-empty": Case(save_mask(np.zeros((48, 64), bool)), 0, (VICTIM, "no lesion pixel"),
                       "exit 0; image kept, mask flagged empty in problems.csv", kept(mask_status="empty")),
    "mask-whole-image": Case(save_mask(np.ones((48, 64), bool)), 0, (VICTIM, "covers 100.0%"),
                             "exit 0; image kept, mask flagged full in problems.csv", kept(mask_status="full")),
    "mask-wrong-size": Case(double_size_mask, 0, (),
                            "exit 0; a 128x96 anti-aliased mask of a 64x48 image is binarised and resized, lesion "
                            "share unchanged", kept(fraction=true_fraction)),
    "mask-inverted-palette": Case(inverted_palette, 0, (),
                                  "exit 0; a palette mask with index 0 = white is read as it looks (lesion not "
                                  "swapped)", kept(fraction=true_fraction)),
    "mask-corrupt": Case(lambda r: corrupt(mask_path(r)), 0, (VICTIM, "mask"),
                         "exit 0; image kept, mask flagged unreadable", kept(mask_status="unreadable")),
    "label-unknown": Case(lambda r: set_label(r, "banana"), 1, ("HAM10000_metadata.csv line 15", "'banana'"),
                          "exit 1 naming the CSV line and the label; the earlier work directory is kept"),
    "label-mixed-case": Case(lambda r: set_label(r, " MeL "), 0, (), "exit 0; ' MeL ' is read as mel",
                             label_is("mel")),
    "label-missing": Case(lambda r: set_label(r, ""), 1, ("HAM10000_metadata.csv line 15", "(empty)"),
                          "exit 1 naming the CSV line of the empty label; the earlier work directory is kept"),
    "label-column-missing": Case(
        lambda r: pd.read_csv(r / "HAM10000_metadata.csv").drop(columns="dx").to_csv(r / "HAM10000_metadata.csv",
                                                                                      index=False),
        1, ("HAM10000_metadata.csv", "missing column(s) dx"), "exit 1 naming the CSV and the column"),
    "every-image-unreadable": Case(lambda r: [corrupt(p) for p in (r / IMAGES).iterdir()], 1,
                                   ("none of the 21 images could be read",),
                                   "exit 1: nothing usable; the earlier work directory is kept"),
    "csv-path-escapes-root": Case(lambda r: write_csv_dataset(r, "../outside.jpg") and None, 1,
                                  ("dataset.csv line 23", "escapes the dataset root"),
                                  "exit 1 naming the CSV line whose path leaves the data set root", fmt="csv"),
    "csv-absolute-path-outside": Case(lambda r: write_csv_dataset(r, "/etc/hostname") and None, 1,
                                      ("dataset.csv line 23", "escapes the dataset root"),
                                      "exit 1 for an absolute path outside the data set root", fmt="csv"),
}


def assert_accepted(result: subprocess.CompletedProcess[str], summary: str, words: Sequence[str]) -> None:
    """Exit 0 without a traceback, one summary line on stdout, every problem word listed on stderr."""
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith(summary) and result.stdout.count("\n") == 1
    for word in words:
        assert word in result.stderr, f"{word!r} not listed on stderr"


@pytest.fixture(scope="module")
def clean_ham(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The valid 21-image data set (copy it before damaging)."""
    return build_ham(tmp_path_factory.mktemp("clean") / "ham")


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


# --- measure: a prepared work directory whose files changed afterwards ---------------------------------


def edit_manifest(work: Path, column: str, value: str, image_id: str = VICTIM) -> None:
    """Change one cell of WORK/manifest.csv."""
    manifest = pd.read_csv(work / "manifest.csv", dtype=str, keep_default_na=False)
    manifest.loc[manifest["image_id"] == image_id, column] = value
    manifest.to_csv(work / "manifest.csv", index=False)


def edit_dataset_json(work: Path, **changes: object) -> None:
    """Change keys of WORK/dataset.json."""
    info = json.loads((work / "dataset.json").read_text())
    info.update(changes)
    (work / "dataset.json").write_text(json.dumps(info))


def measured_as(status: str, reason: str = "") -> Callable[[Path, Path], None]:
    """Check: features.csv has every image, the victim with `status` (and `reason` in its reason), the rest ok."""
    def check(root: Path, work: Path) -> None:
        features = pd.read_csv(work / "measurements" / "features.csv", dtype={"reason": str}, keep_default_na=False)
        assert len(features) == N_IMAGES
        victim = features[features["image_id"] == VICTIM].iloc[0]
        assert victim["status"] == status and reason in victim["reason"], (victim["status"], victim["reason"])
        assert (features[features["image_id"] != VICTIM]["status"] == "ok").all()
    return check


def several_encodings(root: Path) -> None:
    """The victim as a 16-bit PNG, two other images as greyscale JPEG and RGBA PNG."""
    sixteen_bit(root)
    for image_id, mode, suffix in (("ISIC_0000000", "L", ".jpg"), ("ISIC_1000000", "RGBA", ".png")):
        with Image.open(image_path(root, image_id)) as image:
            converted = image.convert(mode)
        replace_image(root, converted, suffix, image_id)


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
    "image-corrupted-after-prepare": WorkCase(None, lambda r, w: corrupt(image_path(r)), 0,
                                             ("not measured", VICTIM),
                                             "exit 0; the image gets status failed with the reason, listed on stderr",
                                             measured_as("failed", "not a readable image")),
    "image-deleted-after-prepare": WorkCase(None, lambda r, w: image_path(r).unlink(), 0, ("not measured", VICTIM),
                                            "exit 0; status failed: file not found",
                                            measured_as("failed", "file not found")),
    "mask-emptied-after-prepare": WorkCase(None, lambda r, w: save_mask(np.zeros((48, 64), bool))(r), 0,
                                           ("not measured", "no lesion pixel"),
                                           "exit 0; status failed: the mask has no lesion pixel",
                                           measured_as("failed", "no lesion pixel")),
    "huge-6000x4000": WorkCase(huge_allowed, None, 0, (), "exit 0; measured after downscaling to 256 px",
                               measured_as("ok")),
    "grey-rgba-16-bit": WorkCase(several_encodings, None, 0, (), "exit 0; every encoding measured",
                                 measured_as("ok")),
    "manifest-path-escapes-root": WorkCase(None, lambda r, w: edit_manifest(w, "image_path", "../../../etc/hostname"),
                                           1, ("../../../etc/hostname", "escapes the dataset root"),
                                           "exit 1 naming the path; earlier measurements kept"),
    "manifest-label-unknown": WorkCase(None, lambda r, w: edit_manifest(w, "label", "banana"), 1,
                                       ("manifest.csv", "'banana'"),
                                       "exit 1 naming the manifest and the label; earlier measurements kept"),
    "manifest-cut-mid-row": WorkCase(None, lambda r, w: truncate(w / "manifest.csv"), 1, ("manifest.csv",),
                                     "exit 1 naming the manifest; earlier measurements kept"),
    "dataset-moved": WorkCase(None, lambda r, w: edit_dataset_json(w, root=str(r.parent / "moved")), 1,
                              ("no measured training image",),
                              "exit 1 when no image can be read; earlier measurements kept"),
    "dataset-json-not-json": WorkCase(None, lambda r, w: truncate(w / "dataset.json"), 1,
                                      ("dataset.json", "not valid JSON"),
                                      "exit 1 naming dataset.json; earlier measurements kept"),
}


@pytest.fixture(scope="module")
def measure_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A measurement cache shared by the measure cases (only damaged images are measured again)."""
    return tmp_path_factory.mktemp("measure-cache")


@pytest.mark.parametrize("case", sorted(MEASURE))
def test_measure(case: str, clean_ham: Path, measure_cache: Path, tmp_path: Path,
                 expected: Callable[[str, str], None]) -> None:
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


# --- augment and bench-classifier: a measured work directory (and a generator trained on it) ----------


@dataclass(frozen=True)
class Prepared:
    """A data set, its prepared + measured work directory and a micro generator trained on it."""

    root: Path
    work: Path
    generator: Path


@pytest.fixture(scope="module")
def prepared_ham(clean_ham: Path, measure_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """`clean_ham` prepared, measured and with a 2-step micro generator (in process: set-up, not under test)."""
    folder = tmp_path_factory.mktemp("prepared")
    root, work = copy_tree(clean_ham, folder / "ham"), folder / "work"
    prepare_dataset("ham10000", root, work, progress=False)
    measure_workdir(work, workers=1, cache_dir=measure_cache, progress=False)
    train_generator(work, folder / "gen", micro_config(steps=2), TrainOptions(device="cpu", progress=False))
    return Prepared(root, work, folder / "gen")


def private_copy(base: Prepared, folder: Path) -> Prepared:
    """A copy of data set, work directory and generator that point at each other (safe to damage)."""
    copy = Prepared(copy_tree(base.root, folder / "ham"), copy_tree(base.work, folder / "work"),
                    copy_tree(base.generator, folder / "gen"))
    edit_dataset_json(copy.work, root=str(copy.root))
    config = json.loads((copy.generator / "config.json").read_text())
    (copy.generator / "config.json").write_text(json.dumps({**config, "workdir": str(copy.work.resolve())}))
    return copy


def train_ids(work: Path, label: str | None = None) -> list[str]:
    """image_ids of the train split (of one class)."""
    manifest = pd.read_csv(work / "manifest.csv", dtype=str)
    rows = manifest[(manifest["split"] == "train") & ((manifest["label"] == label) if label else True)]
    return sorted(rows["image_id"])


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
    "nan-and-inf-measurements": AugmentCase(lambda p: edit_features(p.work, non_finite), 0, (),
                                            "exit 0; NaN/inf measurements of the sources become 0 (the median)",
                                            finite_vectors),
    "class-without-measurements": AugmentCase(lambda p: edit_features(p.work, unmeasured("df")), 1,
                                              ("no usable train image", "df"),
                                              "exit 1: intra needs a measured train image of every class"),
    "features-csv-garbage": AugmentCase(lambda p: corrupt(p.work / "measurements" / "features.csv"), 1,
                                        ("features.csv",), "exit 1 naming features.csv"),
    "features-csv-no-status-column": AugmentCase(lambda p: edit_features(p.work, lambda f: f.drop(columns="status")),
                                                 1, ("features.csv", "status"),
                                                 "exit 1 naming features.csv and the missing column"),
    "source-image-corrupted": AugmentCase(lambda p: [corrupt(image_path(p.root, i)) for i in train_ids(p.work)], 1,
                                          (IMAGES, "not a readable image"),
                                          "exit 1 naming the unreadable source image; finished images are kept"),
    "generator-folder-is-a-workdir": AugmentCase(lambda p: None, 1, ("config.json", "not a trained generator"),
                                                 "exit 1: the folder holds no generator", generator=lambda p: p.work),
}


@pytest.fixture(scope="module")
def first_set(prepared_ham: Prepared, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 1-per-class synthetic set of `prepared_ham` (an earlier output the cases must not lose)."""
    out = tmp_path_factory.mktemp("first-set") / "syn"
    augment(prepared_ham.work, prepared_ham.generator, out, AugmentConfig(per_class=1, batch_size=8), progress=False)
    return out


@pytest.mark.parametrize("case", sorted(AUGMENT))
def test_augment(case: str, prepared_ham: Prepared, first_set: Path, tmp_path: Path,
                 expected: Callable[[str, str], None]) -> None:
    spec = AUGMENT[case]
    expected("bad input: augment", spec.behaviour)
    p = private_copy(prepared_ham, tmp_path)
    out = copy_tree(first_set, tmp_path / "syn")
    (out / "synthetic.json").write_text((out / "synthetic.json").read_text().replace(
        str(prepared_ham.work.resolve()), str(p.work.resolve())).replace(
        str(prepared_ham.generator.resolve()), str(p.generator.resolve())))
    spec.damage(p)
    inputs = {name: snapshot(folder) for name, folder in (("root", p.root), ("work", p.work), ("gen", p.generator))}
    earlier = snapshot(out, skip=("manifest.csv", "grid.png", "synthetic.json", "images/metadata.csv"))
    result = run_cli("augment", p.work, "--generator", spec.generator(p), "--per-class", "2", "--out", out,
                     "--batch-size", "8")
    assert {name: snapshot(folder) for name, folder in (("root", p.root), ("work", p.work),
                                                          ("gen", p.generator))} == inputs, "augment changed an input"
    assert snapshot(out, skip=("manifest.csv", "grid.png", "synthetic.json", "images/metadata.csv")).items() >= earlier.items(), \
        "an earlier image was lost"
    if spec.exit_code == 1:
        assert_one_line_error(result, *spec.words)
        return
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr[-3000:]
    assert spec.check is not None
    spec.check(p, out)


BENCH_ARGS: tuple[str, ...] = ("--arch", "resnet18", "--image-size", "16", "--epochs", "1", "--seeds", "1",
                               "--arms", "a", "--batch-size", "8", "--workers", "0", "--device", "cpu")


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
    "image-corrupted-after-prepare": BenchCase(lambda p: corrupt(image_path(p.root, train_ids(p.work)[0])), 1,
                                               (IMAGES, "not a readable image"),
                                               "exit 1 naming the unreadable image (prepare again)"),
    "manifest-label-unknown": BenchCase(lambda p: edit_manifest(p.work, "label", "banana", train_ids(p.work)[0]), 1,
                                        ("manifest.csv", "'banana'"), "exit 1 naming the manifest and the label"),
    "no-validation-images": BenchCase(lambda p: set_split(p.work, "val", "train"), 1, ("no images in split val",),
                                      "exit 1: model selection needs real validation images"),
    "synthetic-source-in-test-split": BenchCase(synthetic_from_test_image, 1, ("test split", "train only"),
                                                "exit 1: a synthetic image made from a test image is refused",
                                                lambda p: ("--synthetic", str(p.work.parent / "copies"),
                                                           "--arms", "ac")),
    "grey-rgba-16-bit-and-huge-images": BenchCase(encodings_and_huge, 0, (),
                                                  "exit 0; every encoding and a 6000x4000 image are trained on"),
}


@pytest.mark.parametrize("case", sorted(BENCH))
def test_bench_classifier(case: str, prepared_ham: Prepared, tmp_path: Path,
                          expected: Callable[[str, str], None]) -> None:
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
