"""Dermofit Image Library: class folders (AK, BCC, ...) holding one folder per lesion with image and mask."""

from __future__ import annotations

from pathlib import Path

from ..errors import SkinaugError
from .base import ReadResult, make_records, relpath, require_dir

# Dermofit class folder (any case) -> skinaug label
CLASS_MAP: dict[str, str] = {
    "AK": "akiec",
    "IEC": "akiec",
    "BCC": "bcc",
    "SK": "bkl",
    "DF": "df",
    "VASC": "vasc",
    "ML": "nv",
    "MEL": "mel",
}
# classes with no skinaug counterpart -> what they are
DROPPED: dict[str, str] = {"SCC": "squamous cell carcinoma", "PYO": "pyogenic granuloma"}
MAX_DEPTH = 3  # how deep below the root the folder holding the class folders may lie


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _class_parent(root: Path) -> Path | None:
    """The folder (root or below) holding the most Dermofit class folders, or None if there are none."""
    best, best_count, level = None, 0, [root]
    for _ in range(MAX_DEPTH + 1):
        for folder in level:
            count = sum(p.name.upper() in CLASS_MAP or p.name.upper() in DROPPED for p in _subdirs(folder))
            if count > best_count:
                best, best_count = folder, count
        level = [sub for folder in level for sub in _subdirs(folder)]
    return best


def read_dermofit(root: str | Path) -> ReadResult:
    """Read Dermofit below `root`; SCC and PYO are dropped (no skinaug class), each with a notice."""
    root = require_dir(root, "Dermofit")
    parent = _class_parent(root)
    if parent is None:
        names = ", ".join([*CLASS_MAP, *DROPPED])
        raise SkinaugError(f"{root}: no Dermofit class folder ({names}) found")
    rows, notices = [], []
    for class_dir in _subdirs(parent):
        code = class_dir.name.upper()
        if code in DROPPED:
            count = len(_subdirs(class_dir))
            notices.append(f"Dermofit: dropped {count} {code} image(s) ({DROPPED[code]} has no skinaug class)")
            continue
        if code not in CLASS_MAP:
            notices.append(f"Dermofit: skipped folder {relpath(root, class_dir)!r} (not a Dermofit class)")
            continue
        for lesion_dir in _subdirs(class_dir):
            lesion = lesion_dir.name
            mask = lesion_dir / f"{lesion}mask.png"
            rows.append(
                {
                    "image_id": lesion,
                    # a missing image keeps its expected path so that `prepare` reports it by name
                    "image_path": relpath(root, lesion_dir / f"{lesion}.png"),
                    "mask_path": relpath(root, mask) if mask.is_file() else "",
                    "label": CLASS_MAP[code],
                    "original_label": code,
                    "lesion_id": lesion,
                    "original_split": "",
                }
            )
    return ReadResult(make_records(rows), notices)
