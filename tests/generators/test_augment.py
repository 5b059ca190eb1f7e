"""augment: class-balanced, sources from train only, resumable and idempotent, manifest matches files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from skinaug.cli import main
from skinaug.generators import augment as augment_module
from skinaug.generators.augment import AugmentConfig, augment
from skinaug.generators.training import TrainOptions, train_generator
from skinaug.synthetic import check_sources, load_synthetic
from skinaug.manifest import load_prepared

from .conftest import micro_config


@pytest.fixture(scope="module")
def generator_dir(measured_phantoms: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("aug") / "g"
    train_generator(measured_phantoms, out, micro_config(), TrainOptions(progress=False))
    return out


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*.png") if p.name != "grid.png"}


@pytest.mark.parametrize("mode", ["intra", "inter", "free"])
def test_each_mode_makes_exactly_n_per_class_from_train_sources(measured_phantoms: Path, generator_dir: Path,
                                                                 tmp_path: Path, mode: str) -> None:
    syn, made = augment(measured_phantoms, generator_dir, tmp_path / "syn", AugmentConfig(per_class=2, mode=mode,
                                                                                          batch_size=3), False)
    counts = syn.manifest["label"].value_counts()
    assert made == 14 and (counts == 2).all() and len(counts) == 7
    assert set(syn.manifest["mode"]) == {mode}
    check_sources(syn, load_prepared(measured_phantoms))  # raises if a source is not a train image
    vectors = [json.loads(v) for v in syn.manifest["measurements"]]
    assert all(len(v) == len(vectors[0]) > 10 for v in vectors)
    if mode == "inter":
        real = load_prepared(measured_phantoms).manifest.set_index("image_id")["label"]
        assert (real[syn.manifest["source_image_id"]].to_numpy() != syn.manifest["label"].to_numpy()).all()
    listed = set(syn.manifest["image_path"]) | set(p for p in syn.manifest["mask_path"] if p)
    assert listed == _files(tmp_path / "syn")
    assert (tmp_path / "syn" / "grid.png").exists()


def test_interrupted_run_tops_up_to_exactly_n_without_duplicates(measured_phantoms: Path, generator_dir: Path,
                                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "syn"
    original = augment_module._generate
    calls = {"n": 0}

    def dies_on_third_batch(*args, **kwargs):  # noqa: ANN002, ANN003
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(augment_module, "_generate", dies_on_third_batch)
    config = AugmentConfig(per_class=3, mode="intra", batch_size=2)
    with pytest.raises(KeyboardInterrupt):
        augment(measured_phantoms, generator_dir, out, config, False)
    assert not (out / "manifest.csv").exists()  # an incomplete set has no manifest
    monkeypatch.setattr(augment_module, "_generate", original)
    syn, made = augment(measured_phantoms, generator_dir, out, config, False)
    assert 0 < made < 21 and len(syn.manifest) == 21 and syn.manifest["image_id"].is_unique
    assert set(syn.manifest["image_path"]) | set(syn.manifest["mask_path"]) == _files(out)
    again, made_again = augment(measured_phantoms, generator_dir, out, config, False)
    assert made_again == 0 and len(again.manifest) == 21
    smaller, _ = augment(measured_phantoms, generator_dir, out, AugmentConfig(per_class=1, mode="intra",
                                                                             batch_size=2), False)
    assert len(smaller.manifest) == 7 and len(_files(out)) == 14


def test_cli_summary_and_refusal_of_other_settings(measured_phantoms: Path, generator_dir: Path, tmp_path: Path) -> None:
    args = ["augment", str(measured_phantoms), "--generator", str(generator_dir), "--per-class", "1",
            "--out", str(tmp_path / "syn"), "--batch-size", "7"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("augment: 7 images (akiec=1") and "7 generated now" in result.stdout
    other = CliRunner().invoke(main, args + ["--seed", "9"])
    assert other.exit_code == 1 and "made differently" in other.stderr
    assert len(load_synthetic(tmp_path / "syn").manifest) == 7
    assert pd.read_csv(tmp_path / "syn" / "manifest.csv")["generator_checksum"].nunique() == 1


def test_a_generator_is_used_only_with_the_work_directory_it_was_trained_on(measured_phantoms: Path,
                                                                             generator_dir: Path, tmp_path: Path) -> None:
    from skinaug.errors import SkinaugError
    import shutil

    other = tmp_path / "other_work"
    shutil.copytree(measured_phantoms, other)  # same images and split: the same work directory, elsewhere
    augment(other, generator_dir, tmp_path / "syn", AugmentConfig(per_class=1), False)
    manifest = pd.read_csv(other / "manifest.csv", dtype=str, keep_default_na=False)
    manifest["split"] = manifest["split"].replace({"test": "train", "train": "test"})  # re-split by hand
    manifest.to_csv(other / "manifest.csv", index=False)
    with pytest.raises(SkinaugError, match="made from another split"):
        augment(other, generator_dir, tmp_path / "syn2", AugmentConfig(per_class=1), False)
