"""`augment --shard i/n`: one set made by several GPUs or machines, merged into one manifest.

Items are generated in batches of one class (`--batch-size`), and a batch's images depend only on its items
and its first item's seed. Shard i of n makes the batches whose number b (class index x batches per class +
k // batch size) satisfies b % n == i, into OUT/shards/<i>-of-<n>/ (a synthetic set of its own, resumable).
When every shard is complete, the shards are merged into OUT: images are moved, not copied, the manifest
lists the items in the order of one run, and `shards/` is removed. Merging is automatic at the end of the
shard that completes the set, or `skinaug merge-shards OUT` after copying shard folders from other machines.
Shards merged this way equal one run with the same settings and batch size, image for image.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import write_json
from ..errors import SkinaugError
from ..item_plan import ItemPlan, item_index
from ..labels import CLASSES
from ..manifest import MANIFEST_NAME, resolve
from ..synthetic import SYNTHETIC_NAME, SyntheticSet, fill_synthetic_set, load_synthetic, start_or_resume

SHARDS = "shards"
_FOLDER = re.compile(r"^(\d+)-of-(\d+)$")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (0-based) of `count`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """'i/n' with 0 <= i < n."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
        if not match:
            raise SkinaugError(f"--shard {text!r}: expected i/n, e.g. 0/4 for the first of four shards")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1 or index >= count:
            raise SkinaugError(
                f"--shard {text!r}: the index counts from 0 and must be below n (0/{max(count, 1)} "
                f"... {max(count, 1) - 1}/{max(count, 1)})"
            )
        return cls(index, count)

    @property
    def name(self) -> str:
        """Folder name below OUT/shards/."""
        return f"{self.index}-of-{self.count}"


def shard_plan(plan: ItemPlan, shard: Shard, batch_size: int) -> ItemPlan:
    """The items of `plan` (one run's plan, class by class, k = 0.. within a class) that shard `shard` makes:
    whole batches (see `item_plan.batch_of`), every n-th one."""
    table = plan.table
    k = table["image_id"].map(item_index)
    per_class_batches = math.ceil(max(int(k.max()) + 1 if len(k) else 0, 1) / batch_size)
    batch = table["label"].map(CLASSES.index) * per_class_batches + k // batch_size
    return plan.subset(((batch % shard.count) == shard.index).to_numpy())


def shard_info(info: dict[str, Any], shard: Shard, batch_size: int) -> dict[str, Any]:
    """synthetic.json of a shard folder: the set's, with the shard and the batch size in its identity."""
    generator = dict(info["generator"])
    generator["identity"] = {**generator["identity"], "shard": shard.name, "batch_size": batch_size}
    return {**info, "generator": generator}


def shard_folder(out: str | os.PathLike[str], shard: Shard) -> Path:
    """OUT/shards/<i>-of-<n>."""
    return Path(out) / SHARDS / shard.name


def claim(out: str | os.PathLike[str], info: dict[str, Any]) -> None:
    """Mark OUT as the merged set's folder (or check that it is the same set) before a shard writes below it."""
    out = Path(out)
    if (out / SYNTHETIC_NAME).exists():
        start_or_resume(out, info)
        return
    others = [p.name for p in out.iterdir()] if out.is_dir() else []
    if [name for name in others if name != SHARDS]:
        start_or_resume(out, info)  # a folder that is not ours: refused with the usual message
    write_json(out / SYNTHETIC_NAME, info)


def _base(info: dict[str, Any]) -> dict[str, Any]:
    generator = dict(info["generator"])
    identity = {k: v for k, v in generator["identity"].items() if k not in ("shard", "batch_size")}
    return {**info, "generator": {**generator, "identity": identity}}


def merge_shards(out: str | os.PathLike[str], required: bool = True) -> SyntheticSet | None:
    """Merge OUT/shards/*/ into OUT once every shard is complete; None (required=False) while one is missing."""
    out = Path(out).resolve()
    try:
        return _merge(out, required)
    except (SkinaugError, FileNotFoundError):
        if not required and (out / MANIFEST_NAME).exists() and not (out / SHARDS).exists():
            return load_synthetic(out)  # another shard's process merged meanwhile
        raise


def _numbers(folder: Path) -> tuple[int, int]:
    """(i, n) of a shard folder named <i>-of-<n>."""
    match = _FOLDER.match(folder.name)
    assert match is not None  # the folders were selected by this pattern
    return int(match.group(1)), int(match.group(2))


def _merge(out: Path, required: bool) -> SyntheticSet | None:
    folders = sorted(p for p in (out / SHARDS).glob("*") if p.is_dir() and _FOLDER.match(p.name))
    if not folders:
        if (out / MANIFEST_NAME).exists() and (out / SYNTHETIC_NAME).exists():
            return load_synthetic(out)  # merged already (by the shard that finished last)
        if required:
            raise SkinaugError(f"{out / SHARDS}: no shard folders (<i>-of-<n>) to merge")
        return None
    counts = {_numbers(p)[1] for p in folders}
    if len(counts) > 1:
        raise SkinaugError(f"{out / SHARDS}: shards of different splittings ({', '.join(p.name for p in folders)})")
    count = counts.pop()
    complete = {_numbers(p)[0]: p for p in folders if (p / MANIFEST_NAME).exists()}
    missing = [f"{i}-of-{count}" for i in range(count) if i not in complete]
    if missing:
        if required:
            raise SkinaugError(
                f"{out / SHARDS}: shard(s) {', '.join(missing)} missing or unfinished; run "
                f"`skinaug augment ... --shard i/{count}` for them (or copy their folders here)"
            )
        return None
    shards = [load_synthetic(complete[i]) for i in range(count)]
    bases = [_base(s.info) for s in shards]
    sizes = {s.info["generator"]["identity"].get("batch_size") for s in shards}

    def settings(info: dict[str, Any]) -> tuple[Any, ...]:
        return info["generator"]["identity"], info.get("made_from"), info.get("per_class")

    if len(sizes) > 1 or any(settings(b) != settings(bases[0]) for b in bases):
        raise SkinaugError(
            f"{out / SHARDS}: the shards were made with different settings (generator, seed, mode, "
            "work directory or batch size); make them again with the same ones"
        )
    info = bases[0]
    claim(out, info)
    plan = pd.concat([s.manifest for s in shards], ignore_index=True)  # back in the order of one run:
    plan = plan.assign(_class=plan["label"].map(CLASSES.index)).sort_values(["_class", "image_id"])  # k is 0-padded
    plan = plan.drop(columns="_class").reset_index(drop=True)
    owner = {row["image_id"]: shard.root for shard in shards for row in shard.manifest.to_dict("records")}

    def move(todo: list[dict[str, Any]]) -> None:
        for row in todo:
            for column in ("mask_path", "image_path"):  # the image last: it marks the item as done
                if row[column]:
                    _move(resolve(owner[row["image_id"]], row[column]), resolve(out, row[column]))

    merged = fill_synthetic_set(out, info, ItemPlan(plan), move)
    shutil.rmtree(out / SHARDS, ignore_errors=True)
    return merged


def _move(source: Path, target: Path) -> None:
    if target.exists() and not source.exists():
        return  # moved by a merge running at the same time
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
    except FileNotFoundError:
        if not target.exists():
            raise
