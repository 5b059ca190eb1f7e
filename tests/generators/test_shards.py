"""augment --shard i/n: shards merge (automatically or with merge-shards) into the set one run makes; --device auto."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from skinaug.cli import main
from skinaug.errors import SkinaugError
from skinaug.generators.augment import AugmentConfig, augment
from skinaug.generators.generator import Generator
from skinaug.generators.shards import Shard
from skinaug.generators.training import TrainOptions, train_generator

from .conftest import micro_config


@pytest.fixture(scope="module")
def generator_dir(measured_phantoms: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shards") / "g"
    train_generator(measured_phantoms, out, micro_config(steps=3), TrainOptions(progress=False))
    return out


@pytest.fixture(scope="module")
def one_run(measured_phantoms: Path, generator_dir: Path) -> Path:
    out = generator_dir.parent / "one_run"
    augment(measured_phantoms, generator_dir, out, AugmentConfig(per_class=3, batch_size=2), False)
    return out


def _cli(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def _shard(work: Path, generator_dir: Path, out: Path, shard: str) -> tuple[int, str, str]:
    return _cli(
        "augment",
        work,
        "--generator",
        generator_dir,
        "--per-class",
        "3",
        "--batch-size",
        "2",
        "--out",
        out,
        "--shard",
        shard,
    )  # --device left at its default, auto


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.png")) if p.name != "grid.png"
    }


def _assert_same_set(merged: Path, one_run: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_csv(merged / "manifest.csv"), pd.read_csv(one_run / "manifest.csv"))
    assert (merged / "images" / "metadata.csv").read_bytes() == (one_run / "images" / "metadata.csv").read_bytes()
    mine, theirs = _files(merged), _files(one_run)
    assert len(theirs) == 42 and mine.keys() == theirs.keys()  # 21 images + 21 masks
    assert all(mine[name] == theirs[name] for name in theirs), "an image differs from the one run's"
    assert not (merged / "shards").exists() and (merged / "grid.png").exists()


def test_two_shards_merge_automatically_into_the_one_run_set(
    measured_phantoms: Path, generator_dir: Path, one_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "syn"
    code, stdout, err = _shard(measured_phantoms, generator_dir, out, "1/2")
    assert code == 0, err
    assert "shard 1/2:" in stdout and "once every shard is finished" in stdout
    assert not (out / "manifest.csv").exists()  # not a set until every shard is in
    code, stdout, err = _shard(measured_phantoms, generator_dir, out, "0/2")
    assert code == 0, err
    assert stdout.startswith("augment: 21 images")
    _assert_same_set(out, one_run)


def test_shards_from_two_machines_merge_with_merge_shards(
    measured_phantoms: Path, generator_dir: Path, one_run: Path, tmp_path: Path
) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    for out, shard in ((here, "0/3"), (there, "1/3"), (there, "2/3")):
        code, _, err = _shard(measured_phantoms, generator_dir, out, shard)
        assert code == 0, err
    code, _, err = _cli("merge-shards", here)
    assert code == 1 and "shard(s) 1-of-3, 2-of-3 missing" in err
    for name in ("1-of-3", "2-of-3"):
        shutil.move(there / "shards" / name, here / "shards" / name)  # copied over from the other machine
    code, stdout, err = _cli("merge-shards", here)
    assert code == 0, err
    assert stdout.startswith("merge-shards: 21 images")
    _assert_same_set(here, one_run)
    code, stdout, _ = _cli("merge-shards", here)  # merged already: says so, changes nothing
    assert code == 0 and stdout.startswith("merge-shards: 21 images")
    _assert_same_set(here, one_run)


def test_shard_arguments_and_device_auto(generator_dir: Path) -> None:
    assert Shard.parse("2/4") == Shard(2, 4)
    for bad in ("4/4", "1", "a/b", "0/0"):
        with pytest.raises(SkinaugError, match="--shard"):
            Shard.parse(bad)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert Generator.load(generator_dir).device.type == expected  # the default is auto
    assert Generator.load(generator_dir, "auto").device.type == expected
    if not torch.cuda.is_available():
        with pytest.raises(SkinaugError, match="no CUDA GPU is available"):
            Generator.load(generator_dir, "cuda")


def test_sampling_uses_bf16_autocast_on_cuda_only(generator_dir: Path) -> None:
    import contextlib
    import warnings

    gen = Generator.load(generator_dir, "cpu")
    assert isinstance(gen._autocast(), contextlib.nullcontext)  # CPU sampling stays float32
    gen.device = torch.device("cuda")  # what a GPU run chooses (nothing runs here)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "CUDA is not available" where there is none
        context = gen._autocast()
    assert isinstance(context, torch.autocast) and context.fast_dtype == torch.bfloat16
