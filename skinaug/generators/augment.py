"""`skinaug augment`: a class-balanced synthetic set from a trained generator, resumable and idempotent.

Every item is planned from (seed, class, k) alone: which train image is its source (intra: one of its own
class; inter: one of another class, given the target class and that class's average measurements; free:
none), its seed and its file names. A re-run makes only the missing items and tops the set up to exactly
`per_class` per class; the manifest is written last (see `skinaug.synthetic.fill_synthetic_set`). With
`shard="i/n"` only shard i's batches are made, and the shards merge into one set (see shards.py).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image
from tqdm.auto import tqdm

from ..atomic import write_png
from ..pictures import labelled_grid
from ..errors import SkinaugError
from ..labels import CLASSES
from ..manifest import load_prepared, resolve
from ..fingerprints import check_made_from
from ..synthetic import SYNTHETIC_COLUMNS, SyntheticSet, fill_synthetic_set, set_info
from .data import ConditionedImages, MeasurementSpace, conditioned_split
from .generator import Generator
from .shards import Shard, claim, merge_shards, shard_folder, shard_info, shard_plan
from .var import SamplingConfig

MODES: tuple[str, ...] = ("intra", "inter", "free")


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
    shard: str | None = None  # "i/n": make only shard i of n (see shards.py)


def _item_seed(seed: int, class_index: int, k: int) -> int:
    return int(np.random.SeedSequence([seed, class_index, k]).generate_state(1)[0])


def plan_items(sources: pd.DataFrame, config: AugmentConfig, checksum: str) -> pd.DataFrame:
    """One row per item (SYNTHETIC_COLUMNS, measurements filled in later); `sources` = usable train images."""
    if config.mode not in MODES:
        raise SkinaugError(f"--mode {config.mode!r}: choose one of {', '.join(MODES)}")
    rows = []
    for ci, label in enumerate(CLASSES):
        pool = sources if config.mode == "free" else (
            sources[sources["label"] == label] if config.mode == "intra" else sources[sources["label"] != label])
        if config.per_class and config.mode != "free" and pool.empty:
            raise SkinaugError(f"no usable train image (mask + measurements) to make {config.mode} images of {label}")
        for k in range(config.per_class):
            item_seed = _item_seed(config.seed, ci, k)
            source = pool.iloc[int(np.random.default_rng(item_seed).integers(len(pool)))] if config.mode != "free" else None
            image_id = f"{config.mode}_{label}_{k:05d}"
            rows.append({
                "image_id": image_id, "image_path": f"images/{label}/{image_id}.png",
                "mask_path": f"masks/{label}/{image_id}.png" if source is not None else "", "label": label,
                "mode": config.mode, "source_image_id": source["image_id"] if source is not None else "",
                "source_split": "train" if source is not None else "", "seed": item_seed,
                "guidance": config.sampling.cfg, "generator_checksum": checksum, "measurements": "",
            })
    return pd.DataFrame(rows, columns=list(SYNTHETIC_COLUMNS))


def _vectors(plan: pd.DataFrame, gen: Generator, sources: ConditionedImages) -> list[np.ndarray]:
    """The conditioning vector of every item: the source's own (intra) or the target class average."""
    position = {image_id: i for i, image_id in enumerate(sources.base.frame["image_id"])}
    return [sources.vectors[position[row.source_image_id]].numpy() if row.mode == "intra"
            else gen.class_vector(row.label) for row in plan.itertuples(index=False)]


def _batches(rows: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    by_class: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_class.setdefault(row["label"], []).append(row)
    return [group[i:i + size] for group in by_class.values() for i in range(0, len(group), size)]


def _generate(batch: list[dict[str, Any]], gen: Generator, sources: ConditionedImages, config: AugmentConfig,
              out: Path) -> None:
    labels = [row["label"] for row in batch]
    vectors = np.stack([np.asarray(json.loads(row["measurements"]), dtype=np.float32) for row in batch])
    seed = int(batch[0]["seed"])
    if config.mode == "free":
        images = gen.free(labels, vectors, seed, config.sampling)
        masks = [None] * len(batch)
    else:
        position = {image_id: i for i, image_id in enumerate(sources.base.frame["image_id"])}
        items = [sources[position[row["source_image_id"]]] for row in batch]
        src = torch.stack([it["image"] for it in items])
        masks = [it["mask"].numpy() > 0.5 for it in items]
        images = gen.inpaint(src, np.stack(masks), labels, vectors, seed, config.sampling, config.dilation,
                             config.feather)
    for row, image, mask in zip(batch, images, masks):
        if mask is not None:
            write_png(resolve(out, row["mask_path"]), mask.astype(np.uint8) * 255)
        write_png(resolve(out, row["image_path"]), image)  # the image last: it marks the item as done


def augment(workdir: str | os.PathLike[str], generator_dir: str | os.PathLike[str], out: str | os.PathLike[str],
            config: AugmentConfig = AugmentConfig(), progress: bool = True) -> tuple[SyntheticSet, int]:
    """Make (or top up) the synthetic set; returns it and how many items were generated in this call."""
    gen = Generator.from_pretrained(generator_dir, config.device)
    prepared = load_prepared(workdir)
    check_made_from(f"generator {generator_dir}", gen.made_from, str(gen.trained_on) if gen.trained_on else None,
                    prepared)
    space = MeasurementSpace.load(workdir)
    space = MeasurementSpace(gen.scaler, gen.class_means, space.features)  # the generator's own scaling
    sources = conditioned_split(workdir, "train", gen.image_size, space)
    plan = plan_items(sources.base.frame, config, gen.checksum)
    plan["measurements"] = [json.dumps(np.round(v, 4).tolist()) for v in _vectors(plan, gen, sources)]
    identity = {"name": "lf-var", "checksum": gen.checksum, "mode": config.mode, "seed": config.seed,
                "sampling": asdict(config.sampling), "dilation": config.dilation, "feather": config.feather}
    info = set_info(prepared, {"name": "lf-var", "folder": str(Path(generator_dir).resolve()),
                               "config": gen.config.name, "identity": identity}, config.per_class)
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
        for batch in _batches(todo, config.batch_size):
            _generate(batch, gen, sources, config, target)
            made["n"] += len(batch)
            bar.update(len(batch))
        bar.close()

    syn = fill_synthetic_set(target, info, plan, make)
    if config.shard:
        syn = merge_shards(out, required=False) or syn
    if syn.root == out:
        write_png(out / "grid.png", sample_grid(syn))
    return syn, made["n"]


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
