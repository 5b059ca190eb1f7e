"""Any dataset described by one CSV: image, label and optional mask, lesion_id, split columns.

The dataset root is the CSV's folder: image and mask paths in the CSV are relative to it (absolute paths
are accepted only when they lie inside it), and the table's paths are relative to it as well.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import SkinaugError
from ..labels import normalise_label
from .base import ReadResult, make_records, read_table, require_columns

REQUIRED = ["image", "label"]  # optional: mask, lesion_id, split


def find_csv(root: str | os.PathLike[str]) -> Path:
    """The CSV itself, or the single *.csv directly inside the folder `root`."""
    root = Path(root)
    if root.is_file():
        return root
    if not root.exists():
        raise SkinaugError(f"{root}: CSV file or folder not found")
    found = sorted(p for p in root.glob("*") if p.is_file() and p.suffix.lower() == ".csv")
    if len(found) != 1:
        listed = ", ".join(p.name for p in found) or "none"
        raise SkinaugError(f"{root}: expected exactly one .csv file in the folder, found {len(found)} ({listed})")
    return found[0]


def inside_path(base: Path, raw: str, where: str) -> str:
    """`raw` (relative to `base`, or absolute) as a POSIX path relative to `base`; error if it escapes."""
    text = raw.strip().replace("\\", "/")
    full = os.path.normpath(os.path.join(base, text))
    try:
        rel = os.path.relpath(full, base)
    except ValueError:  # another drive (Windows)
        rel = os.pardir
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        raise SkinaugError(f"{where}: path {raw.strip()!r} escapes the dataset root {base}")
    return Path(rel).as_posix()


def read_generic_csv(root: str | Path) -> ReadResult:
    """Read a dataset listed in one CSV (header names case-insensitive); see the module docstring."""
    csv_path = find_csv(root)
    table = read_table(csv_path)
    table.columns = [str(c).strip().lower() for c in table.columns]
    require_columns(table, REQUIRED, csv_path)
    base = Path(os.path.abspath(csv_path.parent))
    rows = []
    for line, rec in enumerate(table.to_dict("records"), start=2):
        where = f"{csv_path} line {line}"
        if not rec["image"].strip():
            raise SkinaugError(f"{where}: empty image cell")
        image = inside_path(base, rec["image"], where)
        mask = rec.get("mask", "").strip()
        rows.append(
            {
                "image_id": Path(image).stem,
                "image_path": image,
                "mask_path": inside_path(base, mask, where) if mask else "",
                "label": normalise_label(rec["label"], where=where),
                "original_label": rec["label"].strip(),
                "lesion_id": rec.get("lesion_id", "").strip(),
                "original_split": rec.get("split", "").strip(),
            }
        )
    return ReadResult(make_records(rows))
