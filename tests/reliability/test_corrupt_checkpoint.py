"""A damaged generator folder: `augment` and `train-generator --resume` each stop with one line naming the file.

Every case damages a copy of a trained micro generator in one way (flipped or cut bytes, a missing file,
a wrong format version, a LATEST pointing nowhere) and expects exit status 1, no traceback, and the damaged
file's path in the error line. Nothing in the folder may be changed by the refused command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from .conftest import assert_one_line_error, copy_tree, run_cli, snapshot

Damage = Callable[[Path], tuple[Path, str]]  # damages a generator folder; returns (file to name, words to show)


def checkpoint_file(gen: Path, stage: str, name: str) -> Path:
    """A file of the newest checkpoint of `stage`."""
    return gen / stage / (gen / stage / "LATEST").read_text().strip() / name


def flip_bytes(path: Path, count: int = 16) -> None:
    """Invert `count` bytes in the middle of a file (same size, different content)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + count] = bytes(b ^ 0xFF for b in data[middle : middle + count])
    path.write_bytes(bytes(data))


def flipped(stage: str, name: str) -> Damage:
    """Flip bytes inside one checkpoint file."""

    def damage(gen: Path) -> tuple[Path, str]:
        path = checkpoint_file(gen, stage, name)
        flip_bytes(path)
        return path, "checksum mismatch"

    return damage


def truncated(stage: str, name: str) -> Damage:
    """Cut one checkpoint file to half its length."""

    def damage(gen: Path) -> tuple[Path, str]:
        path = checkpoint_file(gen, stage, name)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return path, "checksum mismatch"

    return damage


def missing_checkpoint_file(stage: str, name: str, words: str) -> Damage:
    """Delete one checkpoint file."""

    def damage(gen: Path) -> tuple[Path, str]:
        path = checkpoint_file(gen, stage, name)
        path.unlink()
        return path, words

    return damage


def missing(name: str) -> Damage:
    """Delete one top-level file of the generator folder."""

    def damage(gen: Path) -> tuple[Path, str]:
        (gen / name).unlink()
        return gen / name, ""

    return damage


def wrong_version(stage: str | None) -> Damage:
    """Set format_version 2 in a checkpoint's checkpoint.json (stage) or in config.json (None)."""

    def damage(gen: Path) -> tuple[Path, str]:
        path = checkpoint_file(gen, stage, "checkpoint.json") if stage else gen / "config.json"
        data = json.loads(path.read_text())
        data["format_version"] = 2
        path.write_text(json.dumps(data))
        return path, "version 2"

    return damage


def cut_json(name: str) -> Damage:
    """Cut a JSON file of the generator folder in the middle (invalid JSON)."""

    def damage(gen: Path) -> tuple[Path, str]:
        text = (gen / name).read_text()
        (gen / name).write_text(text[: len(text) // 2])
        return gen / name, ""

    return damage


def dangling_latest(stage: str) -> Damage:
    """Point a stage's LATEST at a checkpoint folder that does not exist."""

    def damage(gen: Path) -> tuple[Path, str]:
        (gen / stage / "LATEST").write_text("step0000099\n")
        return gen / stage / "step0000099", "not found"

    return damage


DAMAGES: dict[str, Damage] = {
    "flipped-tokenizer-weights": flipped("tokenizer", "weights.safetensors"),
    "truncated-transformer-weights": truncated("transformer", "weights.safetensors"),
    "missing-transformer-weights": missing_checkpoint_file("transformer", "weights.safetensors", "missing"),
    "missing-config": missing("config.json"),
    "missing-class-means": missing("class_means.json"),
    "missing-scaler": missing("scaler.json"),
    "checkpoint-version-2": wrong_version("tokenizer"),
    "config-version-2": wrong_version(None),
    "cut-config-json": cut_json("config.json"),
    "dangling-latest": dangling_latest("transformer"),
}
# Both commands for the three kinds of damage the issue names (flipped bytes, a missing file, a wrong
# version); one command each for the rest, which exercise the same readers (read_checkpoint, config.json).
CASES: list[tuple[str, str]] = [
    *[
        (damage, command)
        for damage in (
            "flipped-tokenizer-weights",
            "missing-transformer-weights",
            "missing-config",
            "checkpoint-version-2",
        )
        for command in ("augment", "resume")
    ],
    ("truncated-transformer-weights", "augment"),
    ("dangling-latest", "augment"),
    ("missing-class-means", "augment"),
    ("missing-scaler", "resume"),
    ("config-version-2", "resume"),
    ("cut-config-json", "resume"),
]


@pytest.mark.parametrize(("case", "command"), CASES, ids=[f"{case}-{command}" for case, command in CASES])
def test_damaged_generator_is_refused_with_one_line_naming_the_file(
    case: str,
    command: str,
    measured_work: Path,
    trained_generator: Path,
    micro2_config: Path,
    tmp_path: Path,
    expected: Callable[[str, str], None],
) -> None:
    what = "augment" if command == "augment" else "train-generator --resume"
    expected(
        "corrupt checkpoint",
        f"{what} on a generator with {case.replace('-', ' ')}: exit 1, one line naming the file; the folder unchanged",
    )
    gen = copy_tree(trained_generator, tmp_path / "gen")
    named, words = DAMAGES[case](gen)
    before = snapshot(gen)
    if command == "augment":
        result = run_cli("augment", measured_work, "--generator", gen, "--per-class", "1", "--out", tmp_path / "syn")
    else:
        result = run_cli(
            "train-generator", measured_work, "--config", micro2_config, "--out", gen, "--resume", "--device", "cpu"
        )
    assert_one_line_error(result, str(named), words)
    assert snapshot(gen) == before, "a refused command changed the generator folder"
    assert not (tmp_path / "syn").exists()
