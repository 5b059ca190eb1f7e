"""The command line: help, progress on stderr, one-line summaries and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from skinaug.cli import main


@pytest.mark.parametrize("command", ["prepare", "measure", "phantom", "demo"])
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Usage: main " + command in result.output.replace("skinaug", "main")


def test_prepare_then_measure_print_one_line_summaries(tiny_ham: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    prepared = runner.invoke(main, ["prepare", "--format", "ham10000", str(tiny_ham), "--out", str(tmp_path / "w")])
    assert prepared.exit_code == 0, prepared.output
    assert prepared.stdout.count("\n") == 1 and "prepared 21 images (akiec=3 bcc=3" in prepared.stdout
    measured = runner.invoke(main, ["measure", str(tmp_path / "w"), "--workers", "1"])
    assert measured.exit_code == 0, measured.output
    assert measured.stdout.startswith("measured 21/21 images") and measured.stdout.count("\n") == 1
    assert "measuring" in measured.stderr  # the progress bar goes to stderr


def test_failures_are_listed_on_stderr_with_reasons(tiny_ham: Path, tmp_path: Path) -> None:
    (tiny_ham / "masks" / "ISIC_6000002_segmentation.png").unlink()
    runner = CliRunner()
    result = runner.invoke(main, ["prepare", "--format", "ham10000", str(tiny_ham), "--out", str(tmp_path / "w")])
    assert result.exit_code == 0 and "1 without a usable mask" in result.stdout
    assert "ISIC_6000002" in result.stderr
    measured = runner.invoke(main, ["measure", str(tmp_path / "w"), "--workers", "1"])
    assert "not measured: " in measured.stderr and "ISIC_6000002.jpg: no mask" in measured.stderr
    assert "1 failed" in measured.stdout


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "skinaug", *args], capture_output=True, text=True, timeout=120)


def test_bad_input_is_one_line_on_stderr_and_exit_1(tiny_ham: Path, tmp_path: Path) -> None:
    meta = tiny_ham / "HAM10000_metadata.csv"
    frame = pd.read_csv(meta, dtype=str)
    frame.loc[0, "dx"] = "banana"
    frame.to_csv(meta, index=False)
    result = _run("prepare", "--format", "ham10000", str(tiny_ham), "--out", str(tmp_path / "w"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith("skinaug: error: ") and "HAM10000_metadata.csv line 2" in result.stderr
    missing = _run("measure", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "dataset.json: not found" in missing.stderr
    bad_split = _run("prepare", "--format", "ham10000", str(tiny_ham), "--out", str(tmp_path / "w"), "--split", "1,2")
    assert bad_split.returncode == 1 and "--split '1,2'" in bad_split.stderr


def test_phantom_command_makes_a_data_set_and_refuses_tiny_images(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(main, ["phantom", str(tmp_path / "ph"), "--n", "21", "--seed", "3"])
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("phantom: 21 images") and (tmp_path / "ph" / "HAM10000_metadata.csv").exists()
    bad = runner.invoke(main, ["phantom", str(tmp_path / "ph2"), "--size", "10x10"])
    assert bad.exit_code == 1 and "each side must be at least 32 px" in bad.stderr


def test_prepare_train_keep_leaves_train_lesions_out_and_keeps_val_and_test(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(main, ["phantom", str(tmp_path / "ph"), "--n", "140", "--seed", "3"])
    assert made.exit_code == 0, made.output
    args = ["prepare", "--format", "ham10000", str(tmp_path / "ph")]
    full = runner.invoke(main, [*args, "--out", str(tmp_path / "full")])
    scarce = runner.invoke(main, [*args, "--out", str(tmp_path / "scarce"), "--train-keep", "0.3"])
    assert full.exit_code == 0 and scarce.exit_code == 0, scarce.output
    full_manifest = pd.read_csv(tmp_path / "full" / "manifest.csv", dtype=str)
    scarce_manifest = pd.read_csv(tmp_path / "scarce" / "manifest.csv", dtype=str)
    left_out = len(full_manifest) - len(scarce_manifest)
    assert left_out > 0 and f"{left_out} train images left out (train_keep)" in scarce.stdout
    assert json.loads((tmp_path / "scarce" / "dataset.json").read_text())["train_left_out"] == left_out
    for split in ("val", "test"):  # the same images to score with and without the reduction
        ids = sorted(full_manifest.loc[full_manifest["split"] == split, "image_id"])
        assert sorted(scarce_manifest.loc[scarce_manifest["split"] == split, "image_id"]) == ids
    assert set(scarce_manifest["split"]) == {"train", "val", "test"}  # no 'unused' row reaches the manifest
    full_train = full_manifest.loc[full_manifest["split"] == "train"]
    scarce_train = scarce_manifest.loc[scarce_manifest["split"] == "train"]
    assert set(scarce_train["image_id"]) < set(full_train["image_id"])
    assert set(scarce_train["label"]) == set(full_train["label"])  # every class keeps a lesion
    bad = runner.invoke(main, [*args, "--out", str(tmp_path / "bad"), "--train-keep", "0"])
    assert bad.exit_code == 2 and "--train-keep" in bad.output
