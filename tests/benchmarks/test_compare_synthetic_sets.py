"""benchmarks/compare_synthetic_sets.py: one arm on several synthetic sets against b, its copies and each other."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from skinaug.atomic import write_json
from skinaug.errors import SkinaugError
from skinaug.labels import CLASSES

from ..conftest import load_benchmark

K = len(CLASSES)
Y = np.random.default_rng(0).integers(0, K, size=400)
IDS = np.array([f"ISIC_{i:07d}" for i in range(Y.size)])


def _run(folder: Path, arm: str, seed: int, skill: float, salt: int) -> None:
    """One finished run whose share of correct answers is `skill` (its own noise from arm, seed and salt)."""
    rng = np.random.default_rng([seed, salt, len(arm)])
    proba = rng.dirichlet(np.ones(K), size=Y.size)
    hit = rng.random(Y.size) < skill
    proba[hit, Y[hit]] += 2.0
    run = folder / "runs" / f"{arm}_seed{seed}"
    run.mkdir(parents=True)
    buffer = io.BytesIO()
    np.savez(buffer, y_true=Y, proba=(proba / proba.sum(1, keepdims=True)).astype(np.float32), image_ids=IDS)
    (run / "predictions.npz").write_bytes(buffer.getvalue())
    write_json(run / "run.json", {"arm": arm, "seed": seed})


def _folders(tmp_path: Path, intra: float, inter: float) -> dict[str, Path]:
    """bench-intra holds b, the copies and share0.25 on the intra set; bench-inter a copy of b only, and
    share0.25 on the inter set."""
    a, b = tmp_path / "bench-intra", tmp_path / "bench-inter"
    for seed in range(3):
        _run(a, "b", seed, 0.5, 1)
        _run(a, "share0.25-copies", seed, 0.5, 2)
        _run(a, "share0.25", seed, intra, 3)
        _run(b, "share0.25", seed, inter, 4)
        shutil.copytree(a / "runs" / f"b_seed{seed}", b / "runs" / f"b_seed{seed}")
    return {"intra": a, "inter": b}


def test_each_set_against_b_its_copies_and_the_earlier_sets(tmp_path: Path) -> None:
    script = load_benchmark("compare_synthetic_sets")
    folders = _folders(tmp_path, intra=0.5, inter=0.8)
    write_json(folders["inter"] / "shortcut.json", {"synthetic": {"auroc": 0.71}})
    result = script.compare(folders, "share0.25", n_boot=200)
    intra, inter = result["sets"]["intra"], result["sets"]["inter"]
    assert intra["vs_sets"] == {} and set(inter["vs_sets"]) == {"intra"}
    better = inter["vs_sets"]["intra"]  # 0.8 against 0.5 correct answers on every seed
    assert better["ci_low"] > 0.1 and better["over_seeds"]["ci_low"] > 0.1 and better["seeds"] == [0, 1, 2]
    assert inter["vs_b"]["ci_low"] > 0.1 and inter["vs_copies"]["ci_low"] > 0.1  # b read from the intra folder too
    assert intra["vs_b"]["ci_low"] < 0 < intra["vs_b"]["ci_high"]  # the same skill as b
    assert (intra["judge_auroc"], inter["judge_auroc"]) == (None, 0.71)
    assert result["references"]["b"]["seeds"] == [0, 1, 2]
    text = script.markdown(result, "cmd")
    assert "| set | seeds | mean recall | vs b | vs its copies | vs intra | judge AUROC |" in text
    inter_row = next(line for line in text.splitlines() if line.startswith("| inter |"))
    assert inter_row.count("**") == 6 and inter_row.endswith("| 0.710 |")  # three bold gains, then the AUROC
    intra_row = next(line for line in text.splitlines() if line.startswith("| intra |"))
    assert "**" not in intra_row


def test_a_folder_whose_b_differs_is_refused(tmp_path: Path) -> None:
    script = load_benchmark("compare_synthetic_sets")
    folders = _folders(tmp_path, intra=0.5, inter=0.5)
    shutil.rmtree(folders["inter"] / "runs" / "b_seed1")
    _run(folders["inter"], "b", 1, 0.5, 99)  # another model under the same name
    with pytest.raises(SkinaugError, match=r"bench-inter/runs/b_seed1: other predictions"):
        script.compare(folders, "share0.25", n_boot=20)


def test_main_writes_the_table_json_and_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_benchmark("compare_synthetic_sets")
    folders = _folders(tmp_path, intra=0.5, inter=0.6)
    out = tmp_path / "results" / "comparison"
    argv = ["x", "--set", f"intra={folders['intra']}", "--set", f"inter={folders['inter']}", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", [*argv, "--bootstrap", "20"])
    script.main()
    assert {p.name for p in out.parent.iterdir()} == {"comparison.md", "comparison.json", "comparison.png"}
    monkeypatch.setattr(sys, "argv", ["x", "--set", f"x={tmp_path / 'missing'}", "--out", str(out)])
    with pytest.raises(SystemExit):
        script.main()
