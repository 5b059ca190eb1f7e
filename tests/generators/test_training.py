"""train-generator: outputs, exact resume after an interruption, guards, and DDP (gloo) = one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from skinaug.errors import SkinaugError
from skinaug.generators import training
from skinaug.generators.training import TrainOptions, train_generator

from .conftest import micro_config

QUIET = TrainOptions(progress=False)


def _weights(out: Path, stage: str) -> dict[str, torch.Tensor]:
    tag = (out / stage / "LATEST").read_text().strip()
    return load_file(str(out / stage / tag / "weights.safetensors"))


def test_a_run_writes_weights_config_scaler_codebook_card_and_logs(measured_phantoms: Path, tmp_path: Path) -> None:
    out = tmp_path / "gen"
    summary = train_generator(measured_phantoms, out, micro_config(), QUIET)
    for name in (
        "config.json",
        "scaler.json",
        "class_means.json",
        "model_card.md",
        "tokenizer_log.csv",
        "transformer_log.csv",
    ):
        assert (out / name).exists(), name
    assert json.loads((out / "config.json").read_text())["model"]["tokenizer"]["image_size"] == 32
    log = pd.read_csv(out / "transformer_log.csv")
    assert list(log["step"]) == list(range(1, 7)) and log["val_loss"].notna().sum() == 2
    assert "train split only" in (out / "model_card.md").read_text()
    assert summary.train_images > 20 and set(_weights(out, "transformer"))
    assert not list(out.rglob("*.pickle")) and not list(out.rglob("*.pt"))


def test_resume_after_an_interruption_reproduces_the_uninterrupted_weights(
    measured_phantoms: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train_generator(measured_phantoms, tmp_path / "straight", micro_config(), QUIET)
    original = training.run_stage

    def interrupted(stage, out, ctx, resume, progress):  # noqa: ANN001, ANN202
        real_step = stage.train_step

        def step(batch, index):  # noqa: ANN001, ANN202
            if index == 4 and stage.name == "transformer":
                raise KeyboardInterrupt  # killed after the step-3 checkpoint
            return real_step(batch, index)

        stage.train_step = step
        return original(stage, out, ctx, resume, progress)

    monkeypatch.setattr(training, "run_stage", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_generator(measured_phantoms, tmp_path / "resumed", micro_config(), QUIET)
    monkeypatch.setattr(training, "run_stage", original)
    train_generator(measured_phantoms, tmp_path / "resumed", micro_config(), TrainOptions(resume=True, progress=False))
    for stage in ("tokenizer", "transformer"):
        a, b = _weights(tmp_path / "straight", stage), _weights(tmp_path / "resumed", stage)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), stage
    log_a = pd.read_csv(tmp_path / "straight" / "transformer_log.csv")
    log_b = pd.read_csv(tmp_path / "resumed" / "transformer_log.csv")
    pd.testing.assert_frame_equal(log_a.drop(columns=["lr"]), log_b.drop(columns=["lr"]))


def test_guards_against_overwriting_and_mismatched_resume(measured_phantoms: Path, tmp_path: Path) -> None:
    out = tmp_path / "gen"
    config = micro_config(steps=3)
    train_generator(measured_phantoms, out, config, TrainOptions(stage="tokenizer", progress=False))
    with pytest.raises(SkinaugError, match="already holds a generator; use --resume"):
        train_generator(measured_phantoms, out, micro_config(steps=3), TrainOptions(stage="tokenizer", progress=False))
    other = micro_config(steps=3)
    other.tokenizer.vocab_size = 32
    with pytest.raises(SkinaugError, match="started with another config"):
        train_generator(measured_phantoms, out, other, TrainOptions(resume=True, progress=False))
    train_generator(measured_phantoms, out, micro_config(steps=3), TrainOptions(stage="transformer", progress=False))
    assert (out / "transformer" / "LATEST").exists()
    with pytest.raises(SkinaugError, match="stage 'sample'"):
        train_generator(measured_phantoms, out, micro_config(), TrainOptions(stage="sample", progress=False))


def test_ddp_with_two_gloo_processes_matches_one_process(measured_phantoms: Path, tmp_path: Path) -> None:
    config_file = tmp_path / "micro.json"
    config_file.write_text(json.dumps(micro_config().to_dict()))
    single = subprocess.run(
        [
            sys.executable,
            "-m",
            "skinaug",
            "train-generator",
            str(measured_phantoms),
            "--config",
            str(config_file),
            "--out",
            str(tmp_path / "single"),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert single.returncode == 0, single.stderr[-2000:]
    assert single.stdout.startswith("trained micro on ")
    ddp = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            "-m",
            "skinaug",
            "train-generator",
            str(measured_phantoms),
            "--config",
            str(config_file),
            "--out",
            str(tmp_path / "ddp"),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    assert "2 process(es)" in (tmp_path / "ddp" / "model_card.md").read_text()
    for stage in ("tokenizer", "transformer"):
        one = pd.read_csv(tmp_path / "single" / f"{stage}_log.csv")
        two = pd.read_csv(tmp_path / "ddp" / f"{stage}_log.csv")
        assert list(two["step"]) == list(one["step"])
        torch.testing.assert_close(
            torch.tensor(two["loss"].to_numpy()), torch.tensor(one["loss"].to_numpy()), rtol=1e-3, atol=1e-4
        )
