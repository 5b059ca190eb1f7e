"""ISIC 2017 (Part 3, lesion classification) in its official layout, found anywhere below the root."""

from __future__ import annotations

from pathlib import Path

from ..errors import SkinaugError
from .base import (
    ReadResult,
    find_path,
    index_files,
    make_records,
    parse_flag,
    read_table,
    relpath,
    require_columns,
    require_dir,
    split_masks,
)

# split name -> (ground-truth CSV, image folder)
SPLITS: dict[str, tuple[str, str]] = {
    "training": ("ISIC-2017_Training_Part3_GroundTruth.csv", "ISIC-2017_Training_Data"),
    "validation": ("ISIC-2017_Validation_Part3_GroundTruth.csv", "ISIC-2017_Validation_Data"),
    "test": ("ISIC-2017_Test_v2_Part3_GroundTruth.csv", "ISIC-2017_Test_v2_Data"),
}
COLUMNS = ["image_id", "melanoma", "seborrheic_keratosis"]


def _label(melanoma: bool, keratosis: bool, where: str) -> tuple[str, str]:
    """(skinaug label, original label) from the two ground-truth flags."""
    if melanoma and keratosis:
        raise SkinaugError(f"{where}: both melanoma and seborrheic_keratosis are 1")
    if melanoma:
        return "mel", "melanoma"
    if keratosis:
        return "bkl", "seborrheic_keratosis"
    return "nv", "nevus"


def read_isic2017(root: str | Path) -> ReadResult:
    """Read the ISIC 2017 training/validation/test ground truth, images and optional Part 1 masks."""
    root = require_dir(root, "ISIC 2017")
    csvs = {split: find_path(root, csv_name) for split, (csv_name, _) in SPLITS.items()}
    if not any(csvs.values()):
        names = ", ".join(csv_name for csv_name, _ in SPLITS.values())
        raise SkinaugError(f"{root}: no ISIC 2017 ground-truth CSV found below it (looked for {names})")
    images, masks = split_masks(index_files(root))
    rows = []
    for split, csv_path in csvs.items():
        if csv_path is None:
            continue
        table = read_table(csv_path)
        require_columns(table, COLUMNS, csv_path)
        folder = find_path(root, SPLITS[split][1], is_dir=True)
        expected_dir = relpath(root, folder) if folder else SPLITS[split][1]
        for line, rec in enumerate(table.itertuples(index=False), start=2):
            where = f"{csv_path} line {line}"
            image_id = rec.image_id.strip()
            if not image_id:
                raise SkinaugError(f"{where}: empty image_id")
            flags = parse_flag(rec.melanoma, where), parse_flag(rec.seborrheic_keratosis, where)
            label, original = _label(*flags, where)
            image, mask = images.get(image_id), masks.get(image_id)
            rows.append(
                {
                    "image_id": image_id,
                    # a missing image keeps its expected path so that `prepare` reports it by name
                    "image_path": relpath(root, image) if image else f"{expected_dir}/{image_id}.jpg",
                    "mask_path": relpath(root, mask) if mask else "",
                    "label": label,
                    "original_label": original,
                    "lesion_id": image_id,
                    "original_split": split,
                }
            )
    return ReadResult(make_records(rows))
