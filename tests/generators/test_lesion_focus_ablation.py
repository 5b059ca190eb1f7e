"""benchmarks/lesion_focus_ablation.py at a tiny size: both arms train for each seed, are measured and reported."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ..conftest import load_benchmark
from .conftest import micro_config


def test_lesion_focus_ablation_runs_both_arms_at_a_tiny_size(measured_phantoms: Path, tmp_path: Path) -> None:
    bench = load_benchmark("lesion_focus_ablation")
    report = bench.run(
        measured_phantoms, tmp_path, micro_config(), steps=4, batch=4, max_train=16, val_images=6, seeds=(1, 2)
    )
    on, off = report["arms"]["lesion focus on"], report["arms"]["--no-lesion-focus"]
    assert (on["weight"], off["weight"]) == (1.0, 0.0)
    for run in report["runs"]:
        for arm in run["arms"].values():
            for key in ("background_psnr_db", "ring_psnr_db", "lesion_psnr_db", "background_l1", "lesion_focus_term"):
                assert math.isfinite(arm[key]), key
        # same data, seed and steps: only the term's weight differs, and it changes the trained tokenizer
        assert run["arms"]["lesion focus on"]["background_l1"] != run["arms"]["--no-lesion-focus"]["background_l1"]
    # each seed trains its own tokenizers: the seeds differ
    assert [r["seed"] for r in report["runs"]] == [1, 2]
    first, second = (r["arms"]["lesion focus on"]["background_l1"] for r in report["runs"])
    assert first != second
    table = (tmp_path / "lesion_focus_ablation.md").read_text()
    assert "| lesion focus on | 1 |" in table and "| --no-lesion-focus | 0 |" in table
    assert "| 1 | " in table and "| 2 | " in table and "| mean +- sd |" in table
    assert json.loads((tmp_path / "lesion_focus_ablation.json").read_text())["steps"] == 4


def test_summary_pairs_the_arms_of_each_seed() -> None:
    bench = load_benchmark("lesion_focus_ablation")

    def arm(weight: float, psnr: float) -> dict[str, float]:
        return {"weight": weight, "seconds_per_step": 1.0, **{m: psnr for m in bench.METRICS}}

    runs = [
        {"seed": 0, "arms": {"lesion focus on": arm(1, 21.0), "--no-lesion-focus": arm(0, 20.0)}},
        {"seed": 1, "arms": {"lesion focus on": arm(1, 23.0), "--no-lesion-focus": arm(0, 22.5)}},
        {"seed": 2, "arms": {"lesion focus on": arm(1, 19.0), "--no-lesion-focus": arm(0, 19.3)}},
    ]
    summary = bench.summarise(runs)
    diff = summary["difference_on_minus_off"]["background_psnr_db"]
    assert diff["per_seed"] == pytest.approx([1.0, 0.5, -0.3])
    assert diff["mean"] == pytest.approx(0.4)
    assert diff["sd"] == pytest.approx(0.6557, abs=1e-4)  # sample sd of 1.0, 0.5, -0.3
    assert diff["same_sign"] is False
    on = summary["arms"]["lesion focus on"]["background_psnr_db"]
    assert on["mean"] == pytest.approx(21.0) and on["sd"] == pytest.approx(2.0)
