"""benchmarks/reconstruct_control.py: the paired comparison of b and an arm with generated, reconstructed and
copied images, read from the runs' saved test predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skinaug.errors import SkinaugError

from ..conftest import load_benchmark

Y = np.repeat(np.arange(7), 20)  # 20 test images per class
IDS = np.array([f"ISIC_{i:07d}" for i in range(len(Y))])


def _run(folder: Path, correct_per_class: int, ids: np.ndarray = IDS) -> None:
    """A run that gets the first `correct_per_class` images of every class right (recall = that / 20)."""
    predicted = Y.copy()
    for c in range(7):
        wrong = np.flatnonzero(Y == c)[correct_per_class:]
        predicted[wrong] = (c + 1) % 7
    proba = np.eye(7)[predicted]
    folder.mkdir(parents=True)
    np.savez(folder / "predictions.npz", y_true=Y, proba=proba, image_ids=ids)


def test_the_table_reads_each_runs_recall_and_the_paired_gains(tmp_path: Path) -> None:
    evidence, control = tmp_path / "ev", tmp_path / "ctl"
    runs = evidence / "bench-classifier" / "runs"
    _run(runs / "b_seed0", 12)
    _run(runs / "topup_seed0", 6)
    _run(runs / "topup-copies_seed0", 10)
    _run(control / "runs" / "topup_seed0", 9)
    row = load_benchmark("reconstruct_control").compare(evidence, control, "topup", n_boot=200)
    assert row["mean_recall"] == pytest.approx({"b": 0.6, "generated": 0.3, "reconstructions": 0.45, "copies": 0.5})
    gains = row["reconstructions_vs"]
    assert gains["generated"]["gain"] == pytest.approx(0.15) and gains["generated"]["ci_low"] > 0
    assert gains["copies"]["gain"] == pytest.approx(-0.05) and gains["b"]["gain"] == pytest.approx(-0.15)
    assert row["generated_vs_copies"]["gain"] == pytest.approx(-0.2)


def test_runs_scored_on_other_test_images_are_refused(tmp_path: Path) -> None:
    evidence, control = tmp_path / "ev", tmp_path / "ctl"
    runs = evidence / "bench-classifier" / "runs"
    for name in ("b_seed0", "topup_seed0", "topup-copies_seed0"):
        _run(runs / name, 10)
    _run(control / "runs" / "topup_seed0", 10, ids=IDS[::-1].copy())
    with pytest.raises(SkinaugError, match="other test images"):
        load_benchmark("reconstruct_control").compare(evidence, control, "topup", n_boot=10)
    with pytest.raises(SkinaugError, match="missing"):
        load_benchmark("reconstruct_control").compare(evidence, control, "c", n_boot=10)
