"""Shared by the bad-input tests (test_bad_*.py, one file per command): a small valid data set, ways to damage it.

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

from skinaug.generators.training import TrainOptions, train_generator
from skinaug.labels import CLASSES
from skinaug.measurements import measure_workdir
from skinaug.prepare import prepare_dataset

from ..conftest import draw_lesion
from .conftest import assert_no_traceback, copy_tree, micro_config

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
            rgb, mask = draw_lesion(
                64, 48, 10 + 2 * k, (150 - 15 * c_index, 80 + 10 * c_index, 60), seed=c_index * 10 + k
            )
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
    table = pd.DataFrame(
        {
            "image": IMAGES + "/" + meta["image_id"] + ".jpg",
            "label": meta["dx"],
            "mask": "masks/" + meta["image_id"] + "_segmentation.png",
        }
    )
    table.loc[len(table)] = {"image": image, "label": "mel", "mask": ""}
    table.to_csv(root / "dataset.csv", index=False)
    return root / "dataset.csv"


def save_mask(array: np.ndarray) -> Callable[[Path], None]:
    """Damage: replace the victim's mask by `array` (bool) as a 0/255 PNG."""

    def damage(root: Path) -> None:
        Image.fromarray(array.astype(np.uint8) * 255).save(mask_path(root))

    return damage


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


def several_encodings(root: Path) -> None:
    """The victim as a 16-bit PNG, two other images as greyscale JPEG and RGBA PNG."""
    sixteen_bit(root)
    for image_id, mode, suffix in (("ISIC_0000000", "L", ".jpg"), ("ISIC_1000000", "RGBA", ".png")):
        with Image.open(image_path(root, image_id)) as image:
            converted = image.convert(mode)
        replace_image(root, converted, suffix, image_id)


@pytest.fixture(scope="module")
def measure_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A measurement cache shared by the measure cases (only damaged images are measured again)."""
    return tmp_path_factory.mktemp("measure-cache")


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
    copy = Prepared(
        copy_tree(base.root, folder / "ham"),
        copy_tree(base.work, folder / "work"),
        copy_tree(base.generator, folder / "gen"),
    )
    edit_dataset_json(copy.work, root=str(copy.root))
    config = json.loads((copy.generator / "config.json").read_text())
    (copy.generator / "config.json").write_text(json.dumps({**config, "workdir": str(copy.work.resolve())}))
    return copy


def train_ids(work: Path, label: str | None = None) -> list[str]:
    """image_ids of the train split (of one class)."""
    manifest = pd.read_csv(work / "manifest.csv", dtype=str)
    rows = manifest[(manifest["split"] == "train") & ((manifest["label"] == label) if label else True)]
    return sorted(rows["image_id"])
