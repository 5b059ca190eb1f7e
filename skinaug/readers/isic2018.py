"""ISIC 2018 Task 3 (= HAM10000 training set plus the challenge validation/test sets), found anywhere below the root."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import SkinaugError
from ..labels import normalise_label
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
    "training": ("ISIC2018_Task3_Training_GroundTruth.csv", "ISIC2018_Task3_Training_Input"),
    "validation": ("ISIC2018_Task3_Validation_GroundTruth.csv", "ISIC2018_Task3_Validation_Input"),
    "test": ("ISIC2018_Task3_Test_GroundTruth.csv", "ISIC2018_Task3_Test_Input"),
}
CLASS_COLUMNS = ["MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"]
GROUPINGS_NAME = "ISIC2018_Task3_Training_LesionGroupings.csv"


def _one_hot(rec: dict[str, str], where: str) -> str:
    """The one class column holding 1; SkinaugError if there is not exactly one."""
    hot = [c for c in CLASS_COLUMNS if parse_flag(rec[c], where)]
    if len(hot) != 1:
        raise SkinaugError(f"{where}: expected exactly one 1 among {', '.join(CLASS_COLUMNS)}, found {len(hot)}")
    return hot[0]


def _entries(table: pd.DataFrame, path: Path) -> list[tuple[str, str, str, str]]:
    """(where, image_id, original label, lesion_id or "") per row, from the one-hot CSV or the
    HAM10000-style test CSV (lesion_id, image_id, dx, ...) that the Harvard Dataverse distributes."""
    ham_style = {"image_id", "dx"} <= set(table.columns)
    if not ham_style:
        require_columns(table, ["image", *CLASS_COLUMNS], path)
    entries = []
    for line, rec in enumerate(table.to_dict("records"), start=2):
        where = f"{path} line {line}"
        image_id = (rec["image_id"] if ham_style else rec["image"]).strip()
        if not image_id:
            raise SkinaugError(f"{where}: empty image id")
        original = rec["dx"].strip() if ham_style else _one_hot(rec, where)
        entries.append((where, image_id, original, rec.get("lesion_id", "").strip()))
    return entries


def _lesion_groupings(root: Path) -> dict[str, str] | None:
    """image -> lesion_id from the optional lesion-groupings CSV, or None if it is absent."""
    path = find_path(root, GROUPINGS_NAME)
    if path is None:
        return None
    table = read_table(path)
    require_columns(table, ["image", "lesion_id"], path)
    return {i.strip(): lesion.strip() for i, lesion in zip(table["image"], table["lesion_id"]) if lesion.strip()}


def read_isic2018(root: str | Path) -> ReadResult:
    """Read the ISIC 2018 Task 3 ground truth of every split present, with images, lesion ids and masks."""
    root = require_dir(root, "ISIC 2018")
    csvs = {split: find_path(root, csv_name) for split, (csv_name, _) in SPLITS.items()}
    if not any(csvs.values()):
        names = ", ".join(csv_name for csv_name, _ in SPLITS.values())
        raise SkinaugError(f"{root}: no ISIC 2018 Task 3 ground-truth CSV found below it (looked for {names})")
    groupings = _lesion_groupings(root)
    notices = []
    if groupings is None and csvs["training"]:
        notices.append(
            f"ISIC 2018: {GROUPINGS_NAME} not found below {root}; each training image counts as its own lesion"
        )
    images, masks = split_masks(index_files(root))
    rows = []
    for split, csv_path in csvs.items():
        if csv_path is None:
            continue
        folder = find_path(root, SPLITS[split][1], is_dir=True)
        expected_dir = relpath(root, folder) if folder else SPLITS[split][1]
        for where, image_id, original, lesion_id in _entries(read_table(csv_path), csv_path):
            image, mask = images.get(image_id), masks.get(image_id)
            rows.append(
                {
                    "image_id": image_id,
                    # a missing image keeps its expected path so that `prepare` reports it by name
                    "image_path": relpath(root, image) if image else f"{expected_dir}/{image_id}.jpg",
                    "mask_path": relpath(root, mask) if mask else "",
                    "label": normalise_label(original, where=where),
                    "original_label": original,
                    "lesion_id": lesion_id or (groupings or {}).get(image_id, ""),
                    "original_split": split,
                }
            )
    return ReadResult(make_records(rows), notices)
