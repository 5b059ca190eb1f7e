"""benchmarks/tokenizer_losses.py: each variant differs from the base config only in its own term and its steps,
and the judge can never be the perceptual network."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ..conftest import BENCHMARKS, load_benchmark


def test_a_variant_config_changes_only_its_term_and_the_steps(tmp_path: Path) -> None:
    bench = load_benchmark("tokenizer_losses")
    base = BENCHMARKS / "configs" / "tiny_l16.json"
    written = bench.variant_config(base, {"frequency_weight": 1.0}, 123, tmp_path / "c" / "frequency.json")
    original, changed = json.loads(base.read_text()), json.loads(written.read_text())
    assert changed["tokenizer"]["frequency_weight"] == 1.0 and changed["tokenizer_optim"]["steps"] == 123
    changed["tokenizer"].pop("frequency_weight")
    changed["tokenizer_optim"]["steps"] = original["tokenizer_optim"]["steps"]
    assert changed == original


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
