"""benchmarks/lesion_focus_ablation.py at a tiny size: both arms train, are measured and reported."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..conftest import load_benchmark
from .conftest import micro_config


def test_lesion_focus_ablation_runs_both_arms_at_a_tiny_size(measured_phantoms: Path, tmp_path: Path) -> None:
    report = load_benchmark("lesion_focus_ablation").run(
        measured_phantoms, tmp_path, micro_config(), steps=4, batch=4, max_train=16, val_images=6, seed=1
    )
    on, off = report["arms"]["lesion focus on"], report["arms"]["--no-lesion-focus"]
    assert (on["weight"], off["weight"]) == (1.0, 0.0)
    for arm in (on, off):
        for key in ("background_psnr_db", "ring_psnr_db", "lesion_psnr_db", "background_l1", "lesion_focus_term"):
            assert math.isfinite(arm[key]), key
    # same data, seed and steps: only the term's weight differs, and it changes the trained tokenizer
    assert on["background_l1"] != off["background_l1"]
    table = (tmp_path / "lesion_focus_ablation.md").read_text()
    assert "| lesion focus on | 1 |" in table and "| --no-lesion-focus | 0 |" in table
    assert json.loads((tmp_path / "lesion_focus_ablation.json").read_text())["steps"] == 4
