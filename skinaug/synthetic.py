"""The synthetic-set format ("augment manifest") and a simple stand-in set made of flipped/rotated copies.

A synthetic set is a folder SYN with

* `manifest.csv`: one row per image with `image_id, image_path, mask_path, label, mode, source_image_id,
  source_split, seed, guidance, generator_checksum, measurements`; paths are relative to SYN and may not
  leave it; `mode` is intra|inter|free|copy; `source_image_id` names the real TRAIN image a row was made
  from ("" in free mode); `measurements` is a JSON list of floats as a string, or ""; and (optional, sets
  made before it lack it) `measurements_from`, which vector conditioned the item: "own" (intra: the
  source's own), "train:<image_id>" (free/inter: a train image of the target class, drawn with the item's
  seed) or "class-mean" (the target class's mean train vector); "" for copies;
* `synthetic.json`: `{"kind": "skinaug-synthetic", "format_version": 1, "workdir": ..., "made_from": {...},
  "source_license": {...}, "generator": {...}, "per_class": N}` where `made_from` holds the fingerprints of
  the split and scaler of the real work directory the set was made from (see `skinaug.fingerprints`: the set
  follows its work directory when that is moved), `workdir` the path it had then (for information; sets of
  older versions have only this, and are then tied to it) and `source_license` the real data's licence;
* `images/metadata.csv`: `file_name` (relative to `images/`, the ImageFolder root with one folder per class),
  `label`, `mode`, `source_image_id`: Hugging Face `datasets` reads it with
  `load_dataset("imagefolder", data_dir="SYN/images")`.

Synthetic images are for training only: `check_sources` refuses a set made from a val or test image.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .atomic import read_json, write_csv, write_json, write_png
from .errors import SkinaugError
from .fingerprints import check_made_from, workdir_fingerprints
from .images import load_rgb
from .item_plan import MEASUREMENTS_FROM, MODES, SYNTHETIC_COLUMNS, ItemPlan, plan_items
from .labels import CLASSES
from .licences import data_licence
from .manifest import MANIFEST_NAME, Prepared, load_prepared, resolve
from .masks import MASK_OK, load_mask

SYNTHETIC_NAME = "synthetic.json"
METADATA_NAME = "metadata.csv"
SYNTHETIC_KIND = "skinaug-synthetic"
SYNTHETIC_VERSION = 1
COPY_GENERATOR: dict[str, Any] = {
    "name": "copy",
    "version": 1,
    "operations": "random flip, rotation by a multiple of 90 degrees (180 only for non-square images), per-channel "
    "gain 0.95-1.05 and offset -8..8",
}
COPY_CHECKSUM = hashlib.sha256(json.dumps(COPY_GENERATOR, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class SyntheticSet:
    """A loaded synthetic set: its folder, manifest table and `synthetic.json`."""

    root: Path
    manifest: pd.DataFrame
    info: dict[str, Any]

    @property
    def workdir(self) -> Path:
        """The real work directory the set was made from."""
        return Path(self.info["workdir"])

    def image_file(self, row: pd.Series | dict[str, Any]) -> Path:
        """Absolute path of a row's image (never outside the set's folder)."""
        return resolve(self.root, str(row["image_path"]))

    def mask_file(self, row: pd.Series | dict[str, Any]) -> Path | None:
        """Absolute path of a row's mask, or None when it has none."""
        mask = str(row["mask_path"])
        return resolve(self.root, mask) if mask else None


def _read_info(root: Path) -> dict[str, Any]:
    info_path = root / SYNTHETIC_NAME
    if not root.exists():
        raise SkinaugError(f"{root}: synthetic set not found")
    if not root.is_dir() or not info_path.exists():
        raise SkinaugError(f"{root}: not a synthetic set (no {SYNTHETIC_NAME})")
    info = read_json(info_path)
    if not isinstance(info, dict) or info.get("kind") != SYNTHETIC_KIND:
        kind = info.get("kind") if isinstance(info, dict) else None
        raise SkinaugError(f"{info_path}: not a synthetic set (kind {kind!r}, expected {SYNTHETIC_KIND!r})")
    if info.get("format_version") != SYNTHETIC_VERSION:
        raise SkinaugError(
            f"{info_path}: synthetic format version {info.get('format_version')!r}, this "
            f"skinaug reads {SYNTHETIC_VERSION}"
        )
    if not isinstance(info.get("workdir"), str) or not info["workdir"]:
        raise SkinaugError(f"{info_path}: no 'workdir' (the real work directory the set was made from)")
    return info


def _check_rows(root: Path, manifest: pd.DataFrame, where: Path) -> None:
    """Labels, modes, unique ids, numeric seed/guidance and paths that stay inside `root`."""
    for column, allowed in (("label", CLASSES), ("mode", MODES)):
        bad = manifest.loc[~manifest[column].isin(allowed)]
        if len(bad):
            row = bad.iloc[0]
            raise SkinaugError(
                f"{where}: unknown {column} {row[column]!r} for image {row['image_id']} "
                f"({len(bad)} row(s)); known: {', '.join(allowed)}"
            )
    duplicated = manifest["image_id"][manifest["image_id"].duplicated()]
    if len(duplicated):
        raise SkinaugError(f"{where}: image_id {duplicated.iloc[0]} appears more than once")
    for column in ("seed", "guidance"):
        values = pd.to_numeric(manifest[column], errors="coerce")
        if values.isna().any():
            row = manifest.loc[values.isna()].iloc[0]
            raise SkinaugError(f"{where}: {column} {row[column]!r} of image {row['image_id']} is not a number")
    for row in manifest.itertuples(index=False):
        if not row.image_path:
            raise SkinaugError(f"{where}: image {row.image_id} has an empty image_path")
        for path in filter(None, (row.image_path, row.mask_path)):
            try:
                resolve(root, path)
            except SkinaugError as exc:
                raise SkinaugError(
                    f"{where}: image {row.image_id}: {path!r} leaves the synthetic set's folder {root}; refused"
                ) from exc


def load_synthetic(path: str | os.PathLike[str]) -> SyntheticSet:
    """Load SYN/manifest.csv and synthetic.json, checking kind, version, columns, labels and paths."""
    root = Path(path).resolve()
    info = _read_info(root)
    manifest_path = root / MANIFEST_NAME
    if not manifest_path.exists():
        raise SkinaugError(f"{manifest_path}: not found; the synthetic set is incomplete (interrupted?), make it again")
    try:
        manifest = pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SkinaugError(f"{manifest_path}: not a readable manifest ({exc})") from exc
    missing = [c for c in SYNTHETIC_COLUMNS if c not in manifest.columns]
    if missing:
        raise SkinaugError(f"{manifest_path}: missing column(s) {', '.join(missing)}")
    _check_rows(root, manifest, manifest_path)
    if MEASUREMENTS_FROM not in manifest.columns:  # a set made before skinaug recorded it
        manifest[MEASUREMENTS_FROM] = ""
    manifest["seed"] = manifest["seed"].astype(float).astype(np.int64)
    manifest["guidance"] = manifest["guidance"].astype(float)
    return SyntheticSet(root, manifest, info)


def check_sources(syn: SyntheticSet, prepared: Prepared) -> None:
    """Refuse a synthetic set made from another work directory, or with a row whose source is not a TRAIN image.

    The work directory must be the same because its split decides what is train: a set (or the generator that
    made it) fitted on another split could have seen this work directory's test images.
    """
    check_made_from(str(syn.root), syn.info.get("made_from"), syn.info.get("workdir"), prepared, scaler=False)
    sourceless = syn.manifest[(syn.manifest["mode"] != "free") & (syn.manifest["source_image_id"] == "")]
    if not sourceless.empty:
        raise SkinaugError(
            f"{syn.root}: synthetic image {sourceless.iloc[0]['image_id']} (mode "
            f"{sourceless.iloc[0]['mode']}) names no source image; refused"
        )
    splits = dict(zip(prepared.manifest["image_id"], prepared.manifest["split"]))
    rows = syn.manifest[syn.manifest["source_image_id"] != ""]
    found = rows["source_image_id"].map(splits).fillna("")
    bad = rows[found != "train"]
    if bad.empty:
        return
    first = bad.iloc[0]
    split = found[bad.index[0]]
    where = f"which is in the {split} split" if split else f"which is not in the work directory {prepared.workdir}"
    raise SkinaugError(
        f"{syn.root}: {len(bad)} of {len(syn.manifest)} synthetic image(s) have a source outside "
        f"the train split; synthetic image {first['image_id']} was made from "
        f"{first['source_image_id']} {where}; synthetic sources must come from train only"
    )


# --- the copy set: a stand-in until the generator exists, and a sanity baseline -------------------------


def _train_fingerprint(train: pd.DataFrame) -> str:
    text = "\n".join(sorted(train["image_id"] + "\t" + train["label"]))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _make_copy(row: dict[str, Any], source: pd.Series, prepared: Prepared, out: Path) -> None:
    """Write one copy (and its mask): flip, rotate by k*90 degrees, small per-channel colour shift.

    A non-square image turns by 0 or 180 degrees only: a quarter turn would change its aspect ratio, and so how it
    is squashed when resized to a square, a mark that tells copies from real images (a label shortcut)."""
    rng = np.random.default_rng([int(row["seed"]), 1])  # stream 0 chose the source image in plan_items
    flip, turns = int(rng.integers(3)), int(rng.integers(4))
    if int(source["width"]) != int(source["height"]):
        turns = 2 * (turns % 2)
    gain, offset = rng.uniform(0.95, 1.05, 3), rng.uniform(-8, 8, 3)

    def geometry(a: np.ndarray) -> np.ndarray:
        a = a[:, ::-1] if flip == 1 else a[::-1] if flip == 2 else a
        return np.ascontiguousarray(np.rot90(a, turns))

    rgb = load_rgb(prepared.image_file(source)).astype(np.float64) * gain + offset
    image = geometry(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))
    mask_file = prepared.mask_file(source)
    if row["mask_path"] and mask_file is not None:  # planned only for a source with a usable mask
        mask = load_mask(mask_file, (int(source["width"]), int(source["height"])))
        write_png(resolve(out, row["mask_path"]), geometry(mask).astype(np.uint8) * 255)
    write_png(resolve(out, row["image_path"]), image)  # the image last: it marks the item as done


def start_or_resume(out: Path, info: dict[str, Any]) -> None:
    """Refuse a folder that is neither empty nor a set made by the same generator identity from the same workdir."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    try:
        existing = _read_info(out)
    except SkinaugError as exc:
        raise SkinaugError(f"{exc}; write a synthetic set into an empty or new folder") from exc
    mine, theirs = info["generator"].get("identity"), existing.get("generator", {}).get("identity")
    split, their_split = info.get("made_from", {}).get("split"), (existing.get("made_from") or {}).get("split")
    same_workdir = split == their_split if split and their_split else Path(existing["workdir"]) == Path(info["workdir"])
    if not same_workdir or mine != theirs:
        raise SkinaugError(
            f"{out}: holds a synthetic set made differently (from {existing['workdir']} with "
            f"{theirs}); use the same settings to top it up, or another folder"
        )


_ITEM_FILE = re.compile(r"^\.?[a-z]+_[a-z]+_\d+\.png(\..*\.tmp)?$")


def _stale(out: Path, plan: pd.DataFrame) -> list[Path]:
    """Item files no longer planned (a smaller per_class) and temporary files of an interrupted run."""
    keep = {resolve(out, p) for p in pd.concat([plan["image_path"], plan["mask_path"]]) if p}
    return [
        path
        for sub in ("images", "masks")
        for path in sorted((out / sub).glob("*/*"))
        if _ITEM_FILE.match(path.name) and path.resolve() not in keep
    ]


def fill_synthetic_set(
    out: str | os.PathLike[str], info: dict[str, Any], plan: ItemPlan, make: Callable[[list[dict[str, Any]]], None]
) -> SyntheticSet:
    """Make the planned items whose files are missing, remove unplanned ones, then write the manifest last.

    `plan` holds one row per item, deterministic for the same settings; `make(rows)` writes each row's mask (if
    any) and then its image, atomically (each row also carries its "position" in the plan). Re-running tops the
    set up to exactly the plan: an interrupted run leaves no manifest, so a reader never sees a manifest that
    does not match the files.
    """
    out = Path(out).resolve()
    start_or_resume(out, info)
    if not (out / SYNTHETIC_NAME).exists():
        write_json(out / SYNTHETIC_NAME, info)  # marks the folder as ours before any image is written
    todo = [
        {**r, "position": i}
        for i, r in enumerate(plan.table.to_dict("records"))
        if not resolve(out, r["image_path"]).exists() or (r["mask_path"] and not resolve(out, r["mask_path"]).exists())
    ]
    stale = _stale(out, plan.table)
    if todo or stale:
        (out / MANIFEST_NAME).unlink(missing_ok=True)  # the set is incomplete until the new manifest is written
        (out / "images" / METADATA_NAME).unlink(missing_ok=True)
    for path in stale:
        path.unlink()
    if todo:
        make(todo)
    write_json(out / SYNTHETIC_NAME, info)
    write_csv(out / "images" / METADATA_NAME, hf_metadata(plan.table))
    write_csv(out / MANIFEST_NAME, plan.manifest())
    return load_synthetic(out)


def hf_metadata(plan: pd.DataFrame) -> pd.DataFrame:
    """The rows of `images/metadata.csv` (Hugging Face imagefolder): file_name relative to images/, label, ..."""
    prefix = "images/"
    if not plan["image_path"].str.startswith(prefix).all():
        bad = plan.loc[~plan["image_path"].str.startswith(prefix), "image_path"].iloc[0]
        raise SkinaugError(f"synthetic image path {bad!r} is not below {prefix}; cannot list it in {METADATA_NAME}")
    return pd.DataFrame(
        {
            "file_name": plan["image_path"].str.slice(len(prefix)),
            "label": plan["label"],
            "mode": plan["mode"],
            "source_image_id": plan["source_image_id"],
        }
    )


def set_info(prepared: Prepared, generator: dict[str, Any], per_class: int) -> dict[str, Any]:
    """The content of synthetic.json for a set made from `prepared` by `generator`."""
    return {
        "kind": SYNTHETIC_KIND,
        "format_version": SYNTHETIC_VERSION,
        "workdir": str(prepared.workdir.resolve()),
        "made_from": workdir_fingerprints(prepared),
        "source_license": data_licence(prepared.info),
        "generator": generator,
        "per_class": per_class,
    }


def write_copy_set(
    workdir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    per_class: int,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
) -> SyntheticSet:
    """Make (or top up) a synthetic set of `per_class` flipped/rotated/colour-shifted train copies per class.

    Resumable and idempotent: existing files are kept, missing ones are made, the manifest is written last.
    """
    if per_class < 0:
        raise SkinaugError(f"per_class must be >= 0, got {per_class}")
    prepared = load_prepared(workdir)
    workdir_abs = prepared.workdir.resolve()
    train = prepared.manifest[prepared.manifest["split"] == "train"]
    fingerprint = _train_fingerprint(train)
    identity = {"name": "copy", "seed": seed, "train_fingerprint": fingerprint}
    info = set_info(
        prepared, {**COPY_GENERATOR, "seed": seed, "train_fingerprint": fingerprint, "identity": identity}, per_class
    )
    plan = plan_items(
        train.sort_values("image_id"),
        "copy",
        per_class,
        seed,
        guidance=0.0,
        checksum=COPY_CHECKSUM,
        no_source=lambda label: f"{workdir_abs}: no train image of class {label}; cannot make copies of it",
        has_mask=lambda source: source["mask_path"] != "" and source["mask_status"] == MASK_OK,
    )
    sources = train.set_index("image_id")
    out = Path(out).resolve()

    def make(todo: list[dict[str, Any]]) -> None:
        with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:
            jobs = [pool.submit(_make_copy, r, sources.loc[r["source_image_id"]], prepared, out) for r in todo]
            for job in tqdm(jobs, desc="copies", unit="img", disable=not progress):
                job.result()

    return fill_synthetic_set(out, info, plan, make)
