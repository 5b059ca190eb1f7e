"""benchmarks/tokenizer_losses.py: each variant differs from the base config only in its own term and its steps,
and the judge can never be the perceptual network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from skinaug.labels import CLASSES

from ..conftest import BENCHMARKS, load_benchmark


def test_a_variant_config_changes_only_its_term_and_the_steps(tmp_path: Path) -> None:
    bench = load_benchmark("tokenizer_losses")
    base = BENCHMARKS / "configs" / "tiny_l16.json"
    original = json.loads(base.read_text())
    for name, (section, field, value) in {
        "frequency": ("tokenizer", "frequency_weight", 1.0),
        "balanced": ("tokenizer_optim", "class_balance", 1.0),
    }.items():
        changes = bench.VARIANTS[name][0]
        written = bench.variant_config(base, changes, 123, tmp_path / "c" / f"{name}.json")
        changed = json.loads(written.read_text())
        assert changed[section][field] == value and changed["tokenizer_optim"]["steps"] == 123
        changed[section].pop(field)
        changed["tokenizer_optim"]["steps"] = original["tokenizer_optim"]["steps"]
        reference = json.loads(base.read_text())
        reference[section].pop(field, None)
        assert changed == reference, name


def test_the_judge_is_refused_as_the_perceptual_network(tmp_path: Path) -> None:
    judge = tmp_path / "judge"
    judge.mkdir()
    run = subprocess.run(
        [sys.executable, str(BENCHMARKS / "tokenizer_losses.py"), "--work", str(tmp_path), "--judge", str(judge)]
        + ["--perceptual-classifier", str(judge), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and "is the judge" in run.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was trained


def test_the_table_shows_retention_plain_and_after_the_median_filter(tmp_path: Path) -> None:
    import argparse

    bench = load_benchmark("tokenizer_losses")
    per_class = {c: {"real": 0.5, "reconstructed": 0.4, "retention": 0.8} for c in CLASSES}

    def result(retention: float, median: float) -> dict:
        return {
            "images": 10,
            "path": "p",
            "steps": 5,
            "psnr_db": 30.0,
            "real_mean_recall": 0.5,
            "reconstructed_mean_recall": 0.5 * retention,
            "retention": retention,
            "per_class": per_class,
            "median_filtered": {"retention": median},
        }

    results = {"base": result(0.77, 0.76), "classifier": result(0.91, 0.92)}
    results["classifier"]["vs_first"] = {"gain": 0.07, "ci_low": 0.03, "ci_high": 0.11}
    args = argparse.Namespace(
        config=Path("tiny_l16.json"), steps=5, judge=tmp_path / "j", perceptual_classifier=tmp_path / "p", parallel=1
    )
    text = bench.report(args, ["base", "classifier"], results, {"base": 2.0})
    assert "trained 1 at a time" in text  # --parallel 1: one after the other, not "at the same time"
    assert "| **77%** | — | 76% | 2.0 |" in text
    assert "| **91%** | +0.070 [+0.030, +0.110] | 92% | — |" in text
