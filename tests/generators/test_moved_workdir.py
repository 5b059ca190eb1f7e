"""A work directory moved with `mv` keeps serving its generator and synthetic sets; re-splitting under them is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from skinaug.cli import main
from skinaug.errors import SkinaugError
from skinaug.generators.augment import AugmentConfig, augment
from skinaug.generators.training import TrainOptions, train_generator
from skinaug.prepare import prepare_dataset
from skinaug.splits import SplitConfig

from .conftest import micro_config


def _cli(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def _one_error_line(err: str) -> bool:
    """Progress bars aside, stderr holds exactly one line, the error."""
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("skinaug:")]
    return len(lines) == 1 and lines[0].startswith("skinaug: error: ")


@pytest.fixture(scope="module")
def moved(measured_phantoms: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the measured work directory with a generator and a synthetic set inside, then moved."""
    before = tmp_path_factory.mktemp("before") / "work"
    shutil.copytree(measured_phantoms, before)
    train_generator(before, before / "generator", micro_config(steps=3), TrainOptions(progress=False))
    augment(before, before / "generator", before / "syn", AugmentConfig(per_class=1, batch_size=7), False)
    after = tmp_path_factory.mktemp("after") / "moved"
    shutil.move(before, after)
    assert not before.exists()
    return after


def test_a_moved_work_directory_still_serves_augment_bench_classifier_and_evaluate(moved: Path) -> None:
    code, out, err = _cli(
        "augment",
        moved,
        "--generator",
        moved / "generator",
        "--per-class",
        "2",
        "--out",
        moved / "syn",
        "--batch-size",
        "7",
    )
    assert code == 0, err
    assert "7 generated now, 7 kept" in out  # the set made before the move is topped up, not refused
    code, out, err = _cli(
        "bench-classifier",
        moved,
        "--synthetic",
        moved / "syn",
        "--arch",
        "resnet18",
        "--image-size",
        "32",
        "--epochs",
        "1",
        "--seeds",
        "1",
        "--arms",
        "ac",
        "--batch-size",
        "16",
        "--workers",
        "0",
        "--out",
        moved / "bench",
    )
    assert code == 0, err
    assert out.startswith("mean recall on real test: a ") and " c " in out
    code, out, err = _cli(
        "evaluate",
        moved,
        "--synthetic",
        moved / "syn",
        "--judge-epochs",
        "1",
        "--judge-min-steps",
        "0",
        "--judge-size",
        "32",
        "--bootstrap",
        "20",
        "--no-cas",
    )
    assert code == 0, err
    assert out.startswith("evaluate: FID")


def test_re_preparing_with_another_split_over_derived_outputs_is_refused(moved: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(moved, work)
    root = json.loads((work / "dataset.json").read_text())["root"]
    manifest = (work / "manifest.csv").read_bytes()
    code, _, err = _cli("prepare", "--format", "ham10000", root, "--out", work, "--seed", "1")
    assert code == 1 and _one_error_line(err)
    assert "would change the split" in err and "measurements/" in err
    assert "generator generator/" in err and "synthetic set syn/" in err
    assert (work / "manifest.csv").read_bytes() == manifest  # nothing rewritten
    same = prepare_dataset("ham10000", root, work, SplitConfig(seed=0), progress=False)  # the same split is fine
    assert len(same.manifest) == len(pd.read_csv(work / "manifest.csv"))


def test_a_generator_or_set_is_refused_by_a_re_split_copy_of_its_work_directory(moved: Path, tmp_path: Path) -> None:
    work = tmp_path / "copy"
    shutil.copytree(moved, work)
    manifest = pd.read_csv(work / "manifest.csv", dtype=str, keep_default_na=False)
    manifest.loc[manifest["split"] == "test", "split"] = "train"  # a re-split by hand: test images now train
    manifest.to_csv(work / "manifest.csv", index=False)
    with pytest.raises(SkinaugError, match="made from another split"):
        augment(work, work / "generator", tmp_path / "syn", AugmentConfig(per_class=1), False)
    code, _, err = _cli("evaluate", work, "--synthetic", work / "syn", "--no-cas")
    assert code == 1 and "made from another split" in err


def test_a_set_of_an_older_version_recorded_by_path_only_gives_one_clear_line(moved: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(moved, work)
    info = json.loads((work / "syn" / "synthetic.json").read_text())
    info.pop("made_from")
    (work / "syn" / "synthetic.json").write_text(json.dumps({**info, "workdir": str(tmp_path / "elsewhere")}))
    code, _, err = _cli("evaluate", work, "--synthetic", work / "syn", "--no-cas")
    assert code == 1 and "recorded by path only" in err and _one_error_line(err)
    (work / "syn" / "synthetic.json").write_text(json.dumps({**info, "workdir": str(work.resolve())}))
    from skinaug.manifest import load_prepared
    from skinaug.synthetic import check_sources, load_synthetic

    check_sources(load_synthetic(work / "syn"), load_prepared(work))  # the path matches: accepted
