"""The classifiers the evaluation needs: one trained on the REAL train split (domain features, the converse test
and the real baseline of the CAS) and one trained on the SYNTHETIC set only (the classification accuracy score).

Both: class-balanced sampler, epoch selected on real val; scored on real test by the caller.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..atomic import read_json
from ..classifiers.bench import fingerprint
from ..classifiers.models import create_classifier
from ..classifiers.saved import META_NAME, classifier_folder, save_classifier
from ..classifiers.train import TrainConfig, default_workers, make_loader, predict_proba, train_classifier
from ..data import ManifestDataset, eval_transform, real_dataset, synthetic_dataset, train_transform, weighted_sampler
from ..data.transforms import IMAGENET, Normalisation
from ..labels import CLASSES
from ..manifest import MANIFEST_NAME


JUDGE_TRAIN: dict[str, Any] = {
    "arch": "resnet18",
    "image_size": 64,
    "epochs": 15,
    "patience": 5,
    "channels_last": False,
}  # small defaults: the judges run on a CPU


def judge_train(**changes: Any) -> TrainConfig:
    """The judges' classifier TrainConfig: resnet18, 64 px, 15 epochs, patience 5, with `changes`."""
    return TrainConfig(**{**JUDGE_TRAIN, **changes})


@dataclass
class JudgeSettings:
    """Architecture and training of the evaluation's classifiers: a classifier TrainConfig and a step floor."""

    train: TrainConfig = field(default_factory=judge_train)
    min_steps: int = 200  # small sets train for more epochs, up to at least this many steps

    def train_config(self, train_images: int) -> TrainConfig:
        """The classifier TrainConfig for a training set of `train_images` images (more epochs for small sets)."""
        batches = max(1, train_images // self.train.batch_size)
        return replace(self.train, epochs=max(self.train.epochs, math.ceil(self.min_steps / batches)))

    def record(self) -> dict[str, Any]:
        """The settings as one flat JSON-ready dict (the TrainConfig's fields and min_steps)."""
        return {**asdict(self.train), "min_steps": self.min_steps}


def _train(
    train: ManifestDataset,
    workdir: str | os.PathLike[str],
    settings: JudgeSettings,
    seed: int,
    desc: str,
    progress: bool,
) -> nn.Module:
    config = settings.train_config(len(train))
    workers = default_workers() if config.workers is None else config.workers
    val = real_dataset(workdir, "val", config.image_size, eval_transform())
    torch.manual_seed(seed)
    model, _ = create_classifier(config.arch, len(CLASSES), image_size=config.image_size)
    loader = make_loader(
        train,
        config.batch_size,
        workers,
        sampler=weighted_sampler(train.labels, seed=seed),
        seed=seed,
        drop_last=len(train) > config.batch_size,
    )
    result = train_classifier(
        model, loader, make_loader(val, config.batch_size, workers), config, seed, desc=desc, progress=progress
    )
    return result.model.eval()


def real_judge(
    workdir: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    settings: JudgeSettings,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Train (or reuse, when FOLDER holds one for the same data and settings) a classifier on the real train split."""
    folder = Path(folder)
    wanted: dict[str, Any] = {
        "trained_on": "the real train split",
        "workdir_manifest": fingerprint(workdir, MANIFEST_NAME),
        "settings": settings.record(),
        "seed": seed,
    }
    if (folder / META_NAME).is_file():
        meta = read_json(folder / META_NAME)
        if all(meta.get(k) == v for k, v in wanted.items()):
            return folder
    size = settings.train.image_size
    train = real_dataset(workdir, "train", size, train_transform(size))
    model = _train(train, workdir, settings, seed, "judge on real train", progress)
    save_classifier(folder, model, settings.train.arch, size, **wanted)
    return folder


def synthetic_judge(
    workdir: str | os.PathLike[str],
    synthetic: str | os.PathLike[str],
    settings: JudgeSettings,
    seed: int = 0,
    progress: bool = True,
) -> nn.Module:
    """A classifier trained on the synthetic set only (selected on real val), for the classification accuracy score."""
    size = settings.train.image_size
    train = synthetic_dataset(synthetic, workdir, size, train_transform(size))
    return _train(train, workdir, settings, seed, "judge on synthetic only", progress)


def describe_judge(path: str | os.PathLike[str]) -> str:
    """'resnet18 (64 px) trained on the real train split, from FOLDER' for tables."""
    folder = classifier_folder(path)
    meta = read_json(folder / META_NAME)
    origin = meta.get("trained_on", "data not recorded in its model.json")
    return f"a {meta['arch']} ({meta['image_size']} px) trained on {origin}, from {folder}"


def real_test_predictions(
    model: nn.Module,
    workdir: str | os.PathLike[str],
    image_size: int,
    batch_size: int = 64,
    normalisation: Normalisation = IMAGENET,
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, probabilities) of a classifier on the real test split."""
    test = real_dataset(workdir, "test", image_size, eval_transform(normalisation))
    proba, y_true = predict_proba(model, make_loader(test, batch_size, 0), channels_last=False)
    return y_true, proba
