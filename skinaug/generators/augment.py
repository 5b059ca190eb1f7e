"""`skinaug augment`: a class-balanced synthetic set from a trained generator, resumable and idempotent.

Items are planned by `skinaug.item_plan.plan_items` from (seed, class, k) alone: which train image is its
source (intra: one of its own class; inter: one of another class, regenerated as the target class; free: none),
its seed and its file names. Each item is generated with its own seed, so a set made in one go and a set made
in several (interrupted, resumed, topped up) are the same image for image. A re-run makes only the missing
items and tops the set up to exactly `per_class` per class; the manifest is written last (see
`skinaug.synthetic.fill_synthetic_set`).

Conditioning vectors: intra items use their source's own measurements. Free and inter items draw theirs from
the target class's train distribution: the scaled measurement vector of a real TRAIN image of that class,
picked with the item's seed (`measurement_source="train"`, the default), or take the class's mean train vector
for every item (`measurement_source="class-mean"`). The manifest's `measurements_from` says which.
With `shard="i/n"` only shard i's batches are made, and the shards merge into one set (see shards.py).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from PIL import Image
from tqdm.auto import tqdm

from ..atomic import write_png
from ..errors import SkinaugError
from ..item_plan import batch_of, GENERATOR_MODES, MEASUREMENTS_FROM, ItemPlan, plan_items
from ..labels import CLASSES
from ..manifest import load_prepared, resolve
from ..fingerprints import check_made_from
from ..pictures import labelled_grid
from ..synthetic import SyntheticSet, fill_synthetic_set, set_info
from .data import ConditionedImages, MeasurementSpace, conditioned_split
from .folder import measurement_space
from .generator import Generator
from .shards import Shard, claim, merge_shards, shard_folder, shard_info, shard_plan
from .var import SamplingConfig

MEASUREMENT_SOURCES: tuple[str, ...] = ("train", "class-mean")


@dataclass
class AugmentConfig:
    """What to generate and how."""

    per_class: int = 500
    mode: str = "intra"
    seed: int = 0
    batch_size: int = 16
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    dilation: int = 2
    feather: int = 3
    device: str = "auto"
    measurement_source: str = "train"  # free/inter: a train image's vector of the class, or "class-mean"
    shard: str | None = None  # "i/n": make only shard i of n (see shards.py)


class AugmentResult(NamedTuple):
    """The synthetic set after an `augment` call and how many of its items that call generated."""

    synthetic: SyntheticSet
    made: int

    def summary_line(self) -> str:
        """'augment: 14 images (akiec=2 ...); 14 generated now, 0 kept -> OUT (grid: OUT/grid.png)'."""
        manifest, out = self.synthetic.manifest, self.synthetic.root
        counts = manifest["label"].value_counts()
        per = " ".join(f"{c}={int(counts.get(c, 0))}" for c in sorted(counts.index))
        return (
            f"augment: {len(manifest)} images ({per}); {self.made} generated now, "
            f"{len(manifest) - self.made} kept -> {out} (grid: {out / 'grid.png'})"
        )


def class_train_vectors(
    workdir: str | os.PathLike[str], space: MeasurementSpace
) -> dict[str, tuple[list[str], np.ndarray]]:
    """class -> (image ids, scaled vectors) of the measured TRAIN images of that class (never val or test)."""
    prepared = load_prepared(workdir)
    train = prepared.manifest[prepared.manifest["split"] == "train"]
    ids = train["image_id"].astype(str).tolist()
    vectors, ok = space.vectors_for(ids)
    labels = train["label"].to_numpy()
    return {
        label: ([i for i, keep in zip(ids, ok & (labels == label)) if keep], vectors[ok & (labels == label)])
        for label in CLASSES
    }


def item_vectors(
    plan: ItemPlan,
    gen: Generator,
    sources: ConditionedImages,
    position: dict[str, int],
    train_vectors: dict[str, tuple[list[str], np.ndarray]],
    measurement_source: str,
) -> ItemPlan:
    """The plan with every item's conditioning vector and, in its `measurements_from` column, where it came from."""
    if measurement_source not in MEASUREMENT_SOURCES:
        raise SkinaugError(
            f"--measurements-from {measurement_source!r}: choose one of {', '.join(MEASUREMENT_SOURCES)}"
        )
    vectors: list[np.ndarray] = []
    origins: list[str] = []
    for row in plan.table.itertuples(index=False):
        if row.mode in ("intra", "reconstruct"):
            vectors.append(sources.vectors[position[row.source_image_id]].numpy())
            origins.append("own")
        elif measurement_source == "class-mean":
            vectors.append(gen.class_vector(row.label))
            origins.append("class-mean")
        else:
            ids, rows = train_vectors[row.label]
            if not ids:
                raise SkinaugError(
                    f"class {row.label!r} has no measured training image, so no measurements to "
                    f"draw for its {row.mode} images"
                )
            pick = int(np.random.default_rng([int(row.seed), 2]).integers(len(ids)))  # stream 0 chose the source
            vectors.append(rows[pick])
            origins.append(f"train:{ids[pick]}")
    table = plan.table.copy()
    table[MEASUREMENTS_FROM] = origins
    return ItemPlan(table, np.stack(vectors).astype(np.float32) if vectors else None)


def _batches(plan: pd.DataFrame, todo: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """The whole planned batches (`batch_of`) that hold a missing item, every row with its plan position.

    A batch is generated whole even when only some of its items are missing, so every image is made in the
    same company as in an uninterrupted run (with the same batch size) and comes out bit for bit the same.
    """
    needed = {batch_of(r["label"], r["image_id"], size) for r in todo}
    batches: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for position, row in enumerate(plan.to_dict("records")):
        key = batch_of(row["label"], row["image_id"], size)
        if key in needed:
            batches.setdefault(key, []).append({**row, "position": position})
    return [batches[key] for key in sorted(batches)]


def _generate(
    batch: list[dict[str, Any]],
    vectors: np.ndarray | None,
    gen: Generator,
    sources: ConditionedImages,
    position: dict[str, int],
    config: AugmentConfig,
    out: Path,
    wanted: set[str],
) -> int:
    """Generate one batch, each item from its own seed; write the items in `wanted`; returns how many."""
    labels = [row["label"] for row in batch]
    chosen = None if vectors is None else vectors[[row["position"] for row in batch]]
    seeds = [int(row["seed"]) for row in batch]
    if config.mode == "free":
        images = gen.free(labels, chosen, seeds, config.sampling)
        masks: list[np.ndarray | None] = [None] * len(batch)
    elif config.mode == "reconstruct":
        items = [sources[position[row["source_image_id"]]] for row in batch]
        lesions = [it["mask"].numpy() > 0.5 for it in items]
        masks = list(lesions)
        src = torch.stack([it["image"] for it in items])
        images = gen.reconstruct_lesions(src, np.stack(lesions), config.dilation, config.feather)
    else:
        items = [sources[position[row["source_image_id"]]] for row in batch]
        src = torch.stack([it["image"] for it in items])
        lesions = [it["mask"].numpy() > 0.5 for it in items]
        masks = list(lesions)
        images = gen.inpaint(
            src, np.stack(lesions), labels, chosen, seeds, config.sampling, config.dilation, config.feather
        )
    written = 0
    for row, image, mask in zip(batch, images, masks):
        if row["image_id"] not in wanted:
            continue
        written += 1
        if mask is not None:
            write_png(resolve(out, row["mask_path"]), mask.astype(np.uint8) * 255)
        write_png(resolve(out, row["image_path"]), image)  # the image last: it marks the item as done
    return written


def augment(
    workdir: str | os.PathLike[str],
    generator_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: AugmentConfig = AugmentConfig(),
    progress: bool = True,
) -> AugmentResult:
    """Make (or top up) the synthetic set; returns it and how many items were generated in this call."""
    if config.mode not in GENERATOR_MODES:
        raise SkinaugError(f"--mode {config.mode!r}: choose one of {', '.join(GENERATOR_MODES)}")
    gen = Generator.from_pretrained(generator_dir, config.device)
    prepared = load_prepared(workdir)
    check_made_from(
        f"generator {generator_dir}", gen.made_from, str(gen.trained_on) if gen.trained_on else None, prepared
    )
    space = measurement_space(workdir, gen.scaler, gen.class_means)
    sources = conditioned_split(workdir, "train", gen.image_size, space)
    position = {image_id: i for i, image_id in enumerate(sources.base.frame["image_id"])}
    plan = plan_items(
        sources.base.frame,
        config.mode,
        config.per_class,
        config.seed,
        guidance=config.sampling.cfg,
        checksum=gen.checksum,
        no_source=lambda label: f"no usable train image (mask + measurements) to make {config.mode} images of {label}",
    )
    plan = item_vectors(plan, gen, sources, position, class_train_vectors(workdir, space), config.measurement_source)
    identity = {
        "name": "lf-var",
        "checksum": gen.checksum,
        "mode": config.mode,
        "seed": config.seed,
        "sampling": asdict(config.sampling),
        "dilation": config.dilation,
        "feather": config.feather,
        "seeds": "one per item",
        "measurements_from": config.measurement_source,
        "batches": "by class, k // batch_size",
    }
    info = set_info(
        prepared,
        {
            "name": "lf-var",
            "folder": str(Path(generator_dir).resolve()),
            "config": gen.config.name,
            "identity": identity,
        },
        config.per_class,
    )
    made = {"n": 0}
    out = Path(out).resolve()
    target = out
    if config.shard:  # this process makes one shard's batches below OUT/shards/, merged once all are there
        shard = Shard.parse(config.shard)
        claim(out, info)
        target = shard_folder(out, shard)
        info, plan = shard_info(info, shard, config.batch_size), shard_plan(plan, shard, config.batch_size)

    def make(todo: list[dict[str, Any]]) -> None:
        bar = tqdm(total=len(todo), desc=f"augment ({config.mode})", unit="img", disable=not progress)
        wanted = {r["image_id"] for r in todo}
        for batch in _batches(plan.table, todo, config.batch_size):
            written = _generate(batch, plan.vectors, gen, sources, position, config, target, wanted)
            made["n"] += written
            bar.update(written)
        bar.close()

    syn = fill_synthetic_set(target, info, plan, make)
    if config.shard:
        syn = merge_shards(out, required=False) or syn
    if syn.root == out:
        write_png(out / "grid.png", sample_grid(syn))
    return AugmentResult(syn, made["n"])


def sample_grid(syn: SyntheticSet, per_class: int = 8, tile: int = 64) -> Image.Image:
    """A labelled grid: one row per class, up to `per_class` images each."""
    rows = []
    for label, group in syn.manifest.groupby("label", sort=False):
        images = []
        for row in group.head(per_class).to_dict("records"):
            with Image.open(syn.image_file(row)) as image:
                images.append(image.convert("RGB"))
        rows.append((str(label), images))
    return labelled_grid(rows, tile=tile, label_width=60)
