"""The prepared data set of a work directory: manifest.csv + dataset.json, and safe path resolution.

`WORKDIR/manifest.csv` has one row per usable image with the reader's columns plus source, split,
width, height, mask_status and mask_fraction. Paths in it are relative to the dataset root stored in
`WORKDIR/dataset.json`; a path that would leave that root is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .atomic import read_json
from .errors import SkinaugError
from .labels import CLASSES
from .readers.base import RECORD_COLUMNS

MANIFEST_NAME = "manifest.csv"
DATASET_NAME = "dataset.json"
PROBLEMS_NAME = "problems.csv"
MANIFEST_VERSION = 1

MANIFEST_COLUMNS: tuple[str, ...] = RECORD_COLUMNS + (
    "source",
    "split",
    "width",
    "height",
    "mask_status",
    "mask_fraction",
)
PROBLEM_COLUMNS: tuple[str, ...] = ("image_id", "file", "problem", "action")


def resolve(root: str | os.PathLike[str], relative: str) -> Path:
    """`root / relative`, refusing paths that escape `root` (.., absolute paths elsewhere, symlinks)."""
    base = Path(root).resolve()
    try:
        target = (base / relative).resolve()
    except (RuntimeError, OSError) as exc:  # RuntimeError: a symlink loop (Python < 3.13), OSError: ELOOP
        raise SkinaugError(f"{base / relative}: cannot follow the path ({exc})") from None
    if target != base and base not in target.parents:
        raise SkinaugError(f"{relative}: path escapes the dataset root {base}; refused")
    return target


@dataclass
class Prepared:
    """A loaded work directory: the manifest table and the dataset description."""

    workdir: Path
    manifest: pd.DataFrame
    info: dict[str, Any]

    @property
    def root(self) -> Path:
        """The dataset root the manifest's paths are relative to."""
        return Path(self.info["root"])

    def image_file(self, row: pd.Series | dict[str, Any]) -> Path:
        """Absolute path of a row's image."""
        return resolve(self.root, str(row["image_path"]))

    def mask_file(self, row: pd.Series | dict[str, Any]) -> Path | None:
        """Absolute path of a row's mask, or None when it has none."""
        mask = str(row["mask_path"])
        return resolve(self.root, mask) if mask else None


def load_prepared(workdir: str | os.PathLike[str]) -> Prepared:
    """Load WORKDIR/manifest.csv and dataset.json with one-line errors for a missing or foreign folder."""
    workdir = Path(workdir)
    info_path, manifest_path = workdir / DATASET_NAME, workdir / MANIFEST_NAME
    for path in (info_path, manifest_path):
        if not path.exists():
            raise SkinaugError(f"{path}: not found; run `skinaug prepare ... --out {workdir}` first")
    info = read_json(info_path)
    if info.get("manifest_version") != MANIFEST_VERSION:
        raise SkinaugError(
            f"{info_path}: manifest version {info.get('manifest_version')!r}, this skinaug reads "
            f"{MANIFEST_VERSION}; run `skinaug prepare` again"
        )
    try:
        manifest = pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SkinaugError(f"{manifest_path}: not a readable manifest ({exc})") from exc
    missing = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise SkinaugError(f"{manifest_path}: missing column(s) {', '.join(missing)}")
    _check_rows(manifest, manifest_path)
    for column in ("width", "height"):
        manifest[column] = manifest[column].astype(int)
    manifest["mask_fraction"] = pd.to_numeric(manifest["mask_fraction"], errors="coerce")
    return Prepared(workdir, manifest, info)


def _check_rows(manifest: pd.DataFrame, where: Path) -> None:
    """One-line errors for a damaged or hand-edited manifest: unknown labels, non-numeric sizes."""
    bad = manifest[~manifest["label"].isin(CLASSES)]
    if len(bad):
        raise SkinaugError(
            f"{where}: unknown label {bad['label'].iloc[0]!r} of image {bad['image_id'].iloc[0]} "
            f"({len(bad)} row(s)); known: {', '.join(CLASSES)}"
        )
    for column in ("width", "height"):
        numbers = pd.to_numeric(manifest[column], errors="coerce")
        bad = manifest[numbers.isna() | (numbers != numbers.round())]
        if len(bad):
            raise SkinaugError(
                f"{where}: {column} {bad[column].iloc[0]!r} of image {bad['image_id'].iloc[0]} is not "
                "a whole number; the manifest is damaged, run `skinaug prepare` again"
            )
