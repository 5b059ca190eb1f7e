"""`skinaug prepare`: read a data set, check every image and mask, split it, save the manifest."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from . import __version__
from .atomic import write_csv, write_json
from .errors import SkinaugError
from .derived import check_resplit
from .images import open_image
from .licences import licence_for_format
from .labels import CLASSES
from .manifest import (
    DATASET_NAME,
    MANIFEST_COLUMNS,
    MANIFEST_NAME,
    MANIFEST_VERSION,
    PROBLEM_COLUMNS,
    PROBLEMS_NAME,
    resolve,
)
from .masks import MASK_OK, check_mask
from .readers import READERS
from .splits import SPLITS, UNUSED, SplitConfig, assign_splits, split_table


@dataclass
class PrepareResult:
    """What `prepare` did: the manifest, the problems found, and notices from the reader."""

    manifest: pd.DataFrame
    problems: pd.DataFrame
    notices: list[str] = field(default_factory=list)
    left_out: int = 0  # train images left out by SplitConfig.train_keep

    def summary(self) -> str:
        """One line: images per class and split, and how many were excluded or lack a usable mask."""
        frame = self.manifest
        per_class = " ".join(f"{c}={int((frame['label'] == c).sum())}" for c in CLASSES)
        per_split = " ".join(f"{s}={int((frame['split'] == s).sum())}" for s in SPLITS)
        excluded = int((self.problems["action"] == "image excluded").sum()) if len(self.problems) else 0
        no_mask = int((frame["mask_status"] != MASK_OK).sum())
        kept = f", {self.left_out} train images left out (train_keep)" if self.left_out else ""
        return (
            f"prepared {len(frame)} images ({per_class}; {per_split}); {excluded} excluded, "
            f"{no_mask} without a usable mask{kept}"
        )


def _check_row(root: Path, row: dict[str, Any]) -> dict[str, Any]:
    """Decode the image fully and check its mask; returns size, mask status and any problem."""
    out: dict[str, Any] = {
        "width": 0,
        "height": 0,
        "mask_status": "",
        "mask_fraction": float("nan"),
        "problem": "",
        "mask_problem": "",
    }
    try:
        image_file = resolve(root, row["image_path"])
        size = open_image(image_file).size
    except SkinaugError as exc:
        out["problem"] = str(exc)
        return out
    out["width"], out["height"] = size
    try:
        mask_file = resolve(root, row["mask_path"]) if row["mask_path"] else None
    except SkinaugError as exc:
        out.update(mask_status="unreadable", mask_problem=str(exc))
        return out
    check = check_mask(mask_file, size)
    out.update(mask_status=check.status, mask_fraction=check.fraction)
    if check.status != MASK_OK:
        out["mask_problem"] = check.reason if mask_file else f"{image_file.name}: no mask"
    return out


def _drop_duplicates(records: pd.DataFrame, notices: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records with one row per image_id, and problem rows for images listed with conflicting labels.

    Identical repeats are dropped with a notice. An image listed with two or more different labels is a label
    conflict: which label is right cannot be known, so the image is excluded and reported (problems.csv and
    stderr) naming every label it was given.
    """
    labels = records.groupby("image_id", sort=False)["label"].unique()
    conflicting = labels[labels.map(len) > 1]
    conflicts = pd.DataFrame(
        [
            (
                image_id,
                records.loc[records["image_id"] == image_id, "image_path"].iloc[0],
                f"label conflict: {image_id} is listed with labels {' and '.join(found)}; which is right is unknown",
                "image excluded",
            )
            for image_id, found in conflicting.items()
        ],
        columns=list(PROBLEM_COLUMNS),
    )
    records = records[~records["image_id"].isin(conflicting.index)]
    duplicated = records["image_id"].duplicated(keep="first")
    if duplicated.any():
        notices.append(
            f"{int(duplicated.sum())} repeated row(s) of the same image and label ignored "
            f"(first: {records.loc[duplicated, 'image_id'].iloc[0]})"
        )
    return records[~duplicated].reset_index(drop=True), conflicts


def check_records(root: Path, records: pd.DataFrame, workers: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Per-row image/mask check results (threads: decoding releases the GIL)."""
    rows = records.to_dict("records")
    workers = workers or min(8, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(
            tqdm(
                pool.map(lambda r: _check_row(root, r), rows),
                total=len(rows),
                desc="checking images",
                unit="img",
                disable=not progress,
            )
        )
    return pd.DataFrame(results, index=records.index)


def _problems(records: pd.DataFrame, checks: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for rec, chk in zip(records.itertuples(index=False), checks.itertuples(index=False)):
        if chk.problem:
            rows.append((rec.image_id, rec.image_path, chk.problem, "image excluded"))
        elif chk.mask_problem:
            rows.append(
                (
                    rec.image_id,
                    rec.mask_path or rec.image_path,
                    chk.mask_problem,
                    f"kept; mask {chk.mask_status}, not measurable",
                )
            )
    return pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))


def prepare_dataset(
    fmt: str,
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    split: SplitConfig = SplitConfig(),
    workers: int | None = None,
    progress: bool = True,
) -> PrepareResult:
    """Read `root` in format `fmt`, check images and masks, split, and write the work directory `out`."""
    if fmt not in READERS:
        raise SkinaugError(f"unknown format {fmt!r}; choose one of {', '.join(READERS)}")
    given = Path(root).resolve()
    read = READERS[fmt](given)
    root = given.parent if given.is_file() else given  # a CSV file given itself: its paths are under its folder
    notices = list(read.notices)
    records, conflicts = _drop_duplicates(read.records, notices)
    if records.empty:
        raise SkinaugError(
            f"{given}: no images found for format {fmt}"
            + (f" ({conflicts['problem'].iloc[0]})" if len(conflicts) else "")
        )
    checks = check_records(root, records, workers, progress)
    problems = pd.concat([conflicts, _problems(records, checks)], ignore_index=True)
    usable = checks["problem"] == ""
    manifest = pd.concat([records, checks[["width", "height", "mask_status", "mask_fraction"]]], axis=1)
    manifest = manifest[usable].reset_index(drop=True)
    if manifest.empty:
        raise SkinaugError(
            f"{root}: none of the {len(records)} images could be read (first problem: {problems['problem'].iloc[0]})"
        )
    manifest["source"] = fmt
    manifest["split"] = assign_splits(manifest, split)
    left_out = int((manifest["split"] == UNUSED).sum())
    manifest = manifest.loc[manifest["split"] != UNUSED, list(MANIFEST_COLUMNS)].reset_index(drop=True)
    out = Path(out)
    check_resplit(out, manifest)
    write_csv(out / MANIFEST_NAME, manifest)
    write_csv(out / PROBLEMS_NAME, problems)
    write_json(
        out / DATASET_NAME,
        {
            "manifest_version": MANIFEST_VERSION,
            "skinaug_version": __version__,
            "format": fmt,
            "license": licence_for_format(fmt),
            "root": str(root),
            "split": asdict(split),
            "images": int(len(manifest)),
            "excluded": int((~usable).sum()) + len(conflicts),
            "train_left_out": left_out,
            "counts": split_table(manifest).to_dict(orient="index"),
            "notices": notices,
        },
    )
    return PrepareResult(manifest, problems, notices, left_out)
