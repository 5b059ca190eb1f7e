"""What every dataset reader returns, and small helpers the readers share."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import SkinaugError

# Columns of a reader's table. Paths are relative to the dataset root, POSIX style; mask_path is "" when
# the dataset has no mask for the image; lesion_id is the image_id when the dataset has no lesion ids;
# original_split is the dataset's own split name ("" when it has none).
RECORD_COLUMNS: tuple[str, ...] = (
    "image_id",
    "image_path",
    "mask_path",
    "label",
    "original_label",
    "lesion_id",
    "original_split",
)

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


@dataclass
class ReadResult:
    """A reader's output: one row per image, plus notices for the user (e.g. classes dropped)."""

    records: pd.DataFrame
    notices: list[str] = field(default_factory=list)


def make_records(rows: list[dict[str, str]]) -> pd.DataFrame:
    """Build the reader table from row dicts, filling optional columns and fixing the column order."""
    frame = pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
    frame["mask_path"] = frame["mask_path"].fillna("")
    frame["original_split"] = frame["original_split"].fillna("")
    frame["lesion_id"] = frame["lesion_id"].where(frame["lesion_id"].astype(bool), frame["image_id"])
    return frame.astype(str)


def relpath(root: Path, path: Path) -> str:
    """`path` relative to `root` in POSIX form."""
    return Path(os.path.relpath(path, root)).as_posix()


def require_dir(root: str | os.PathLike[str], what: str) -> Path:
    """The dataset root as a Path; SkinaugError if it does not exist or is not a folder."""
    root = Path(root)
    if not root.exists():
        raise SkinaugError(f"{root}: {what} folder not found")
    if not root.is_dir():
        raise SkinaugError(f"{root}: expected the {what} folder, got a file")
    return root


def index_files(folder: Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> dict[str, Path]:
    """Map file stem -> path for image files below `folder` (recursive)."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in extensions and not path.name.startswith("."):
            found.setdefault(path.stem, path)
    return found


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV metadata file with a one-line error if it is missing or malformed."""
    if not path.exists():
        raise SkinaugError(f"{path}: metadata file not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SkinaugError(f"{path}: not a readable CSV ({first})") from exc


def require_columns(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    """SkinaugError naming the file if any of `columns` is absent."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SkinaugError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}")


def find_path(root: Path, name: str, *, is_dir: bool = False) -> Path | None:
    """The shallowest file (or folder) called `name` at or below `root`, or None."""
    direct = root / name
    if direct.exists() and direct.is_dir() == is_dir:
        return direct
    found = [p for p in root.rglob(name) if p.is_dir() == is_dir and not p.name.startswith(".")]
    return min(found, key=lambda p: (len(p.parts), str(p))) if found else None


def split_masks(files: dict[str, Path], suffix: str = "_segmentation") -> tuple[dict[str, Path], dict[str, Path]]:
    """Split an `index_files` map into (images by stem, masks by the stem of their image)."""
    images = {stem: p for stem, p in files.items() if not stem.endswith(suffix)}
    masks = {stem[: -len(suffix)]: p for stem, p in files.items() if stem.endswith(suffix)}
    return images, masks


def parse_flag(raw: str, where: str) -> bool:
    """A 0/1 ground-truth cell ("0", "1", "0.0", "1.0") as a bool; SkinaugError naming `where` otherwise."""
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value not in (0.0, 1.0):
        raise SkinaugError(f"{where}: expected 0 or 1, got {raw.strip()!r}")
    return value == 1.0
