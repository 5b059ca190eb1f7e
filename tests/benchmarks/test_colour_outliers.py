"""benchmarks/colour_outliers.py: colours real images never show are found, counted and separate the sets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skinaug.phantoms import PhantomConfig, make_phantoms
from skinaug.prepare import prepare_dataset
from skinaug.synthetic import write_copy_set

from ..conftest import load_benchmark


def _skin(n: int, seed: int) -> np.ndarray:
    """n 16 x 16 images of skin-like colours only (red high, green and blue lower)."""
    rng = np.random.default_rng(seed)
    r = rng.integers(150, 230, (n, 16, 16))
    g = rng.integers(90, 150, (n, 16, 16))
    b = rng.integers(80, 140, (n, 16, 16))
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def test_green_specks_are_out_of_gamut_and_give_the_images_away() -> None:
    bench = load_benchmark("colour_outliers")
    rare = bench.rare_bins(_skin(200, 0))
    real, labels = _skin(60, 1), np.arange(60) % 7
    speckled = _skin(60, 2)
    speckled[:, 5:7, 5:7] = (40, 230, 40)  # a 2 x 2 bright green speck in every image
    baseline = bench.score_set(real, labels, rare, None)
    plain = bench.score_set(_skin(60, 3), labels, rare, baseline["_share"])
    marked = bench.score_set(speckled, labels, rare, baseline["_share"])
    assert bench.out_of_gamut(speckled, rare)[:, 5:7, 5:7].all()
    assert baseline["flagged_image_share"] == 0 and plain["flagged_image_share"] == 0
    assert marked["flagged_image_share"] == 1.0  # 4 pixels >= MIN_PIXELS in every image
    assert marked["out_of_gamut_pixel_share"] == pytest.approx(4 / 256)
    assert marked["auroc_vs_real"] == 1.0 and plain["auroc_vs_real"] == 0.5
    assert marked["flagged_per_class"]["akiec"] == 1.0


def test_a_run_on_phantoms_writes_the_table_and_the_picture(tmp_path: Path) -> None:
    make_phantoms(tmp_path / "ph", PhantomConfig(n=42, seed=1, width=64, height=48), progress=False)
    prepare_dataset("ham10000", tmp_path / "ph", tmp_path / "work", progress=False)
    write_copy_set(tmp_path / "work", tmp_path / "copies", per_class=2, progress=False)
    report = load_benchmark("colour_outliers").run(tmp_path / "work", {"copies": tmp_path / "copies"}, tmp_path, 32)
    assert set(report["scores"]) == {"real (val)", "copies"}
    assert report["scores"]["copies"]["images"] == 14
    assert 0.0 <= report["scores"]["copies"]["auroc_vs_real"] <= 1.0
    assert json.loads((tmp_path / "colour_outliers.json").read_text())["size"] == 32
    assert "| copies | 14 |" in (tmp_path / "colour_outliers.md").read_text()
    assert (tmp_path / "colour_outliers_worst.png").stat().st_size > 0
