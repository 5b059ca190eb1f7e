"""`train-generator` killed with SIGKILL at three seeded points mid-training, resumed each time, ends bit-identical.

After every kill the generator folder must be consistent: LATEST of each stage names a checkpoint that loads
with every checksum right, every other checkpoint folder is complete or visibly temporary (`*.partial`,
`*.deleting`), and every other file is a finished output or an atomic-write temporary (`.name.XXXX.tmp`).
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
from safetensors.torch import load_file

from skinaug.generators.checkpoint import LATEST, MANIFEST, latest_checkpoint, read_checkpoint
from skinaug.generators.config import load_config
from skinaug.generators.training import TrainOptions, train_generator

from .conftest import TEMP_FILE, kill_when, run_cli, start_cli, write_micro_config

STEPS, EVERY = 12, 2
STAGES: tuple[str, ...] = ("tokenizer", "transformer")
SEED = 20250611
CHECKPOINT_DIR = re.compile(r"^step\d{7}$")
SCRATCH_DIR = re.compile(r"^step\d{7}\.(partial|deleting)$")
OUTPUTS = {
    "config.json",
    "scaler.json",
    "class_means.json",
    "model_card.md",
    "tokenizer_log.csv",
    "transformer_log.csv",
    "cache",
    *STAGES,
}
CACHE_FILE = re.compile(r"^[\w.-]+\.(npy|safetensors|json)$")


def progress(out: Path) -> tuple[int, int]:
    """(stage index, step) of the newest published checkpoint; (-1, 0) before the first one."""
    for index in reversed(range(len(STAGES))):
        try:
            tag = (out / STAGES[index] / LATEST).read_text().strip()
        except OSError:
            continue
        if tag:  # an atomic replace never shows an empty file, but be safe while polling
            return index, int(tag.removeprefix("step"))
    return -1, 0


def kill_points(seed: int) -> list[tuple[tuple[int, int], float]]:
    """Three distinct (stage, checkpoint step) targets in order, each with a kill delay of 0-60 ms after it."""
    rng = random.Random(seed)
    events = [(0, step) for step in range(EVERY, STEPS, EVERY)] + [(1, step) for step in range(EVERY, STEPS - 2, EVERY)]
    return [(target, rng.uniform(0.0, 0.06)) for target in sorted(rng.sample(events, 3))]


def assert_consistent(out: Path) -> None:
    """No half-written checkpoint is visible: see the module docstring."""
    for name in (p.name for p in out.iterdir()):
        assert name in OUTPUTS or TEMP_FILE.match(name), f"stray file {out / name}"
    for entry in (p for p in out.glob("cache/**/*") if p.is_file()):  # decoded images, token indices
        assert CACHE_FILE.match(entry.name) or TEMP_FILE.match(entry.name), f"stray cache file {entry}"
    for stage in STAGES:
        root = out / stage
        if not root.exists():
            continue
        latest = latest_checkpoint(root)
        if latest is not None:
            files, manifest = read_checkpoint(latest)  # raises on a missing or corrupt file
            assert set(files) == {"weights.safetensors", "train_state.safetensors", "train_state.json"}
            assert manifest["meta"]["stage"] == stage
        for entry in root.iterdir():
            if entry.is_dir() and CHECKPOINT_DIR.match(entry.name):
                assert sorted(p.name for p in entry.iterdir()) == sorted([*files_of_a_checkpoint(), MANIFEST]), entry
                read_checkpoint(entry)
            else:
                assert (
                    (entry.is_dir() and SCRATCH_DIR.match(entry.name))
                    or entry.name == LATEST
                    or TEMP_FILE.match(entry.name)
                ), f"stray {entry}"


def files_of_a_checkpoint() -> list[str]:
    """The files of one training checkpoint besides its manifest."""
    return ["train_state.json", "train_state.safetensors", "weights.safetensors"]


def final_weights(out: Path, stage: str) -> dict[str, torch.Tensor]:
    """The tensors of the newest checkpoint of `stage`."""
    return load_file(str(latest_checkpoint(out / stage) / "weights.safetensors"))


def test_three_sigkills_then_resume_give_the_uninterrupted_weights(
    measured_work: Path, tmp_path: Path, expected: Callable[[str, str], None]
) -> None:
    expected(
        "kill train-generator",
        "after each of 3 SIGKILLs every published checkpoint loads and nothing "
        "half-written is visible; --resume finishes with weights and logs identical "
        "to an uninterrupted run",
    )
    config = write_micro_config(tmp_path / "micro.json", steps=STEPS, checkpoint_every=EVERY)
    common = ("train-generator", measured_work, "--config", config, "--device", "cpu")
    # the uninterrupted run, in process (same code, one thread)
    train_generator(
        measured_work, tmp_path / "straight", load_config(str(config)), TrainOptions(device="cpu", progress=False)
    )

    out = tmp_path / "killed"
    for attempt, (target, delay) in enumerate(kill_points(SEED)):
        log = tmp_path / f"run{attempt}.log"
        start = progress(out)
        process = start_cli(log, *common, "--out", out, *(["--resume"] if attempt else []))
        kill_when(
            process, lambda target=target, start=start: target <= (now := progress(out)) and now > start, delay, log=log
        )
        assert_consistent(out)
        assert progress(out) < (1, STEPS), "killed too late: training had already finished"

    finished = run_cli(*common, "--out", out, "--resume")
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert finished.stdout.startswith("trained micro on ")
    assert_consistent(out)
    for stage in STAGES:
        assert not [p for p in (out / stage).iterdir() if SCRATCH_DIR.match(p.name)], "scratch folders left"
        straight, resumed = final_weights(tmp_path / "straight", stage), final_weights(out, stage)
        assert straight.keys() == resumed.keys()
        for key in straight:
            assert torch.equal(straight[key], resumed[key]), f"{stage} {key} differs after resuming"
        log_a = pd.read_csv(tmp_path / "straight" / f"{stage}_log.csv")
        log_b = pd.read_csv(out / f"{stage}_log.csv")
        pd.testing.assert_frame_equal(log_a, log_b)
