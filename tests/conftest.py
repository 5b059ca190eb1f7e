"""Shared fixtures: the real HAM10000 copy (skipped, with the reason, where it is absent)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

# pytest-xdist runs one worker per core: one intra-op thread each, or OpenMP oversubscription makes
# small convolutions tens of times slower.
torch.set_num_threads(1)

HAM10000 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "HAM10000"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """A script of benchmarks/ (not a package: `benchmarks` is a taken name on PyPI) imported as a module."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses of the script look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ham10000_root() -> Path:
    """The real HAM10000 folder; the licence forbids shipping it, so tests use it only where present."""
    if not (HAM10000 / "HAM10000_metadata.csv").exists():
        pytest.skip(f"real HAM10000 not found at {HAM10000}")
    return HAM10000


def draw_lesion(
    width: int, height: int, radius: float, colour: tuple[int, int, int], seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A noisy skin-coloured image with one elliptical lesion of `colour`; returns (rgb uint8, mask bool)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    cx, cy = width / 2 + rng.uniform(-3, 3), height / 2 + rng.uniform(-3, 3)
    mask = ((xx - cx) / radius) ** 2 + ((yy - cy) / (radius * 0.8)) ** 2 <= 1.0
    rgb = np.empty((height, width, 3))
    rgb[:] = (225, 180, 160)
    rgb[mask] = colour
    rgb += rng.normal(0, 6, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8), mask


@pytest.fixture
def tiny_ham(tmp_path: Path) -> Path:
    """A 21-image data set in the HAM10000 layout (3 images per class, 2 of them of one lesion)."""
    import pandas as pd
    from PIL import Image

    from skinaug.labels import CLASSES

    root = tmp_path / "ham"
    (root / "HAM10000_images_part_1").mkdir(parents=True)
    (root / "masks").mkdir()
    rows = []
    for c_index, label in enumerate(CLASSES):
        for k in range(3):
            image_id = f"ISIC_{c_index}{k:06d}"
            rgb, mask = draw_lesion(
                64, 48, 10 + 2 * k, (150 - 15 * c_index, 80 + 10 * c_index, 60), seed=c_index * 10 + k
            )
            Image.fromarray(rgb).save(root / "HAM10000_images_part_1" / f"{image_id}.jpg", quality=95)
            Image.fromarray(mask.astype("uint8") * 255).save(root / "masks" / f"{image_id}_segmentation.png")
            rows.append(
                {
                    "lesion_id": f"HAM_{c_index}{min(k, 1):06d}",
                    "image_id": image_id,
                    "dx": label,
                    "dx_type": "histo",
                    "age": "50.0",
                    "sex": "male",
                    "localization": "back",
                }
            )
    pd.DataFrame(rows).to_csv(root / "HAM10000_metadata.csv", index=False)
    return root
