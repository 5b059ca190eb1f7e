"""augment: class-balanced, sources from train only, resumable and idempotent, manifest matches files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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
def test_each_mode_makes_exactly_n_per_class_from_train_sources(
    measured_phantoms: Path, generator_dir: Path, tmp_path: Path, mode: str
) -> None:
    syn, made = augment(
        measured_phantoms, generator_dir, tmp_path / "syn", AugmentConfig(per_class=2, mode=mode, batch_size=3), False
    )
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


def test_interrupted_run_tops_up_to_exactly_n_without_duplicates(
    measured_phantoms: Path, generator_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    smaller, _ = augment(
        measured_phantoms, generator_dir, out, AugmentConfig(per_class=1, mode="intra", batch_size=2), False
    )
    assert len(smaller.manifest) == 7 and len(_files(out)) == 14


def test_cli_summary_and_refusal_of_other_settings(
    measured_phantoms: Path, generator_dir: Path, tmp_path: Path
) -> None:
    args = [
        "augment",
        str(measured_phantoms),
        "--generator",
        str(generator_dir),
        "--per-class",
        "1",
        "--out",
        str(tmp_path / "syn"),
        "--batch-size",
        "7",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("augment: 7 images (akiec=1") and "7 generated now" in result.stdout
    other = CliRunner().invoke(main, args + ["--seed", "9"])
    assert other.exit_code == 1 and "made differently" in other.stderr
    assert len(load_synthetic(tmp_path / "syn").manifest) == 7
    assert pd.read_csv(tmp_path / "syn" / "manifest.csv")["generator_checksum"].nunique() == 1


def test_a_generator_is_used_only_with_the_work_directory_it_was_trained_on(
    measured_phantoms: Path, generator_dir: Path, tmp_path: Path
) -> None:
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


def _pixels(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.png") if p.name != "grid.png"}


@pytest.mark.parametrize("mode", ["inter", "free"])
def test_a_set_made_in_several_runs_equals_one_made_at_once_image_for_image(
    measured_phantoms: Path, generator_dir: Path, tmp_path: Path, mode: str
) -> None:
    """Each item is generated from its own recorded seed in its planned batch (same --batch-size), so a resumed
    set equals an uninterrupted one bit for bit, whichever items an interruption left missing."""
    config = AugmentConfig(per_class=3, mode=mode, batch_size=2)
    straight, _ = augment(measured_phantoms, generator_dir, tmp_path / "straight", config, False)
    out = tmp_path / "pieces"
    augment(measured_phantoms, generator_dir, out, config, False)
    (out / "images" / "nv" / f"{mode}_nv_00000.png").unlink()  # as if killed before these images were published
    (out / "images" / "df" / f"{mode}_df_00002.png").unlink()
    for image in (out / "images" / "mel").glob("*.png"):
        image.unlink()
    pieces, made = augment(measured_phantoms, generator_dir, out, config, False)
    assert made == 5
    assert _pixels(out) == _pixels(tmp_path / "straight")
    assert straight.manifest.equals(pieces.manifest)
    seeds = straight.manifest["seed"]
    assert seeds.is_unique  # one seed per item, the one that made it


def _planned(measured_phantoms: Path, generator_dir: Path, mode: str, source: str, per_class: int = 4):
    """The free/inter plan with its vectors (no image generated), and the scaled train vectors by image id."""
    from skinaug.generators.data import conditioned_split
    from skinaug.generators.folder import measurement_space
    from skinaug.generators.generator import Generator
    from skinaug.item_plan import plan_items

    gen = Generator.load(generator_dir)
    space = measurement_space(measured_phantoms, gen.scaler, gen.class_means)
    sources = conditioned_split(measured_phantoms, "train", gen.image_size, space)
    position = {image_id: i for i, image_id in enumerate(sources.base.frame["image_id"])}
    plan = plan_items(sources.base.frame, mode, per_class, 0, guidance=1.0, checksum="x", no_source=str)
    plan = augment_module.item_vectors(
        plan, gen, sources, position, augment_module.class_train_vectors(measured_phantoms, space), source
    )
    manifest = load_prepared(measured_phantoms).manifest
    ids = manifest["image_id"].astype(str).tolist()
    vectors, ok = space.vectors_for(ids)
    return gen, plan, manifest.set_index("image_id"), {i: v for i, v, good in zip(ids, vectors, ok) if good}


@pytest.mark.parametrize("mode", ["free", "inter"])
def test_free_and_inter_items_draw_their_measurements_from_train_images_of_their_class(
    measured_phantoms: Path, generator_dir: Path, mode: str
) -> None:
    _, plan, real, measured = _planned(measured_phantoms, generator_dir, mode, "train")
    table = plan.table
    assert table["measurements_from"].str.startswith("train:").all()
    drawn = table["measurements_from"].str.removeprefix("train:")
    assert (real.loc[drawn, "label"].to_numpy() == table["label"].to_numpy()).all()  # of the item's own class
    assert (real.loc[drawn, "split"] == "train").all()  # never a val or test image
    assert {"val", "test"} <= set(real.loc[list(measured), "split"])  # although those were measured too
    for vector, image_id in zip(plan.vectors, drawn):
        np.testing.assert_array_equal(vector, measured[image_id])
    nv = plan.vectors[(table["label"] == "nv").to_numpy()]
    assert len({v.tobytes() for v in nv}) > 1  # items of one class get different vectors
    manifest = plan.manifest()
    assert np.allclose([json.loads(v) for v in manifest["measurements"]], plan.vectors, atol=1e-4)


def test_the_class_mean_option_gives_every_item_its_class_mean(measured_phantoms: Path, generator_dir: Path) -> None:
    gen, plan, _, _ = _planned(measured_phantoms, generator_dir, "free", "class-mean", per_class=2)
    assert (plan.table["measurements_from"] == "class-mean").all()
    for vector, label in zip(plan.vectors, plan.table["label"]):
        np.testing.assert_array_equal(vector, gen.class_means[label])


def test_intra_items_keep_their_sources_own_measurements(measured_phantoms: Path, generator_dir: Path) -> None:
    _, plan, _, measured = _planned(measured_phantoms, generator_dir, "intra", "train", per_class=1)
    assert (plan.table["measurements_from"] == "own").all()
    for vector, source in zip(plan.vectors, plan.table["source_image_id"]):
        np.testing.assert_array_equal(vector, measured[source])


def test_a_reconstruct_set_is_the_intra_sets_twin_with_the_tokenizers_own_lesion(
    measured_phantoms: Path, generator_dir: Path, tmp_path: Path
) -> None:
    """The control that isolates the tokenizer: same sources and masks as the intra set; the lesion is the
    tokenizer's reconstruction of the source's own lesion, the background the source's pixels."""
    import torch

    from skinaug.generators.composite import blend_weights, dilate
    from skinaug.generators.generator import Generator, from_uint8, to_uint8

    config = {"per_class": 2, "batch_size": 3}
    intra, _ = augment(
        measured_phantoms, generator_dir, tmp_path / "intra", AugmentConfig(mode="intra", **config), False
    )
    twin, made = augment(
        measured_phantoms, generator_dir, tmp_path / "rec", AugmentConfig(mode="reconstruct", **config), False
    )
    assert made == 14 and set(twin.manifest["mode"]) == {"reconstruct"}
    assert list(twin.manifest["source_image_id"]) == list(intra.manifest["source_image_id"])
    check_sources(twin, load_prepared(measured_phantoms))

    gen = Generator.from_pretrained(generator_dir, "cpu")
    rng = np.random.default_rng(0)
    sources = rng.integers(0, 256, (2, gen.image_size, gen.image_size, 3), dtype=np.uint8)
    masks = np.zeros((2, gen.image_size, gen.image_size), dtype=bool)
    masks[:, 8:20, 10:22] = True
    out = gen.reconstruct_lesions(sources, masks, dilation=2, feather=3)
    weight = blend_weights(torch.from_numpy(masks), 2, 3).numpy()
    assert np.array_equal(out[weight == 0], sources[weight == 0])  # background: the source, bit for bit
    with torch.no_grad():
        own = to_uint8(gen.tokenizer.reconstruct(from_uint8(sources)))
    core = dilate(torch.from_numpy(masks), 2).numpy()
    assert np.abs(out[core].astype(int) - own[core].astype(int)).max() <= 1  # the lesion: its reconstruction
    assert not np.array_equal(out[core], sources[core])
