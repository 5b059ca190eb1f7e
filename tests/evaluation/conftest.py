"""A prepared phantom work directory, a synthetic copy set made from its train split, and saved classifiers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from skinaug.classifiers.models import create_classifier
from skinaug.classifiers.saved import save_classifier
from skinaug.phantoms import PhantomConfig, make_phantoms
from skinaug.prepare import prepare_dataset
from skinaug.synthetic import write_copy_set


@pytest.fixture(scope="session")
def eval_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """140 phantoms (64 x 48) prepared with the default 70/10/20 lesion-grouped split."""
    root = tmp_path_factory.mktemp("evalwork")
    make_phantoms(root / "ph", PhantomConfig(n=140, seed=3, width=64, height=48), progress=False)
    prepare_dataset("ham10000", root / "ph", root / "work", progress=False)
    return root / "work"


@pytest.fixture(scope="session")
def copy_set(eval_workdir: Path) -> Path:
    """8 flipped/rotated train copies per class (augment format, mode 'copy')."""
    out = eval_workdir.parent / "copies"
    write_copy_set(eval_workdir, out, per_class=8, workers=1, progress=False)
    return out


@pytest.fixture(scope="session")
def random_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded, untrained resnet18 saved as a skinaug classifier: a fixed feature extractor."""
    folder = tmp_path_factory.mktemp("random-classifier")
    torch.manual_seed(0)
    model, _ = create_classifier("resnet18", 7)
    save_classifier(folder, model.eval(), "resnet18", 32, trained_on="nothing (random weights, tests)")
    return folder
