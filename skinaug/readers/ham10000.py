"""HAM10000 in its official layout: metadata CSV, images in part_1/part_2 or one folder, Tschandl masks."""

from __future__ import annotations

from pathlib import Path

from ..labels import normalise_label
from .base import ReadResult, index_files, make_records, read_table, relpath, require_columns, require_dir

METADATA_NAME = "HAM10000_metadata.csv"
MASK_SUFFIX = "_segmentation"


def _find_metadata(root: Path) -> Path:
    direct = root / METADATA_NAME
    if direct.exists():
        return direct
    candidates = sorted(root.glob("*metadata*.csv")) or sorted(root.rglob(METADATA_NAME))
    return candidates[0] if candidates else direct


def read_ham10000(root: str | Path) -> ReadResult:
    """Read HAM10000 (or any dataset in its layout, such as skinaug's phantoms) below `root`."""
    root = require_dir(root, "HAM10000")
    meta_path = _find_metadata(root)
    meta = read_table(meta_path)
    require_columns(meta, ["lesion_id", "image_id", "dx"], meta_path)
    files = index_files(root)
    images = {stem: p for stem, p in files.items() if not stem.endswith(MASK_SUFFIX)}
    masks = {stem[: -len(MASK_SUFFIX)]: p for stem, p in files.items() if stem.endswith(MASK_SUFFIX)}
    rows = []
    for line, rec in enumerate(meta.itertuples(index=False), start=2):
        image_id = rec.image_id.strip()
        image = images.get(image_id)
        mask = masks.get(image_id)
        rows.append(
            {
                "image_id": image_id,
                # a missing image keeps its expected path so that `prepare` reports it by name
                "image_path": relpath(root, image) if image else f"HAM10000_images/{image_id}.jpg",
                "mask_path": relpath(root, mask) if mask else "",
                "label": normalise_label(rec.dx, where=f"{meta_path} line {line}"),
                "original_label": rec.dx,
                "lesion_id": rec.lesion_id.strip(),
                "original_split": "",
            }
        )
    return ReadResult(make_records(rows))
