"""Real and synthetic datasets: items, masks, transforms, combining, and the guards against leakage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader, Subset, TensorDataset
from torchvision.transforms import v2

from skinaug.data import (
    ManifestDataset,
    combine,
    eval_transform,
    real_dataset,
    require_real,
    synthetic_dataset,
    train_transform,
    weighted_sampler,
)
from skinaug.errors import SkinaugError
from skinaug.labels import CLASSES
from skinaug.manifest import load_prepared
from skinaug.prepare import prepare_dataset
from skinaug.synthetic import write_copy_set


@pytest.fixture
def workdir(tiny_ham: Path, tmp_path: Path) -> Path:
    """tiny_ham prepared with the default split: 9 train and 12 val images, no test images."""
    prepare_dataset("ham10000", tiny_ham, tmp_path / "work", progress=False)
    return tmp_path / "work"


def lesion_pixels(image: torch.Tensor) -> torch.Tensor:
    """Where tiny_ham's lesions are: their blue channel is 60, the skin's 160 (uint8 images)."""
    return image[2] < 110


def test_real_items_have_the_right_shape_dtype_and_label(workdir: Path) -> None:
    manifest = load_prepared(workdir).manifest
    train = real_dataset(workdir, "train", image_size=32)
    expected = manifest[manifest["split"] == "train"]
    assert len(train) == len(expected) == 9 and train.kind == "real"
    assert train.labels.dtype == np.int64 and list(train.labels) == [CLASSES.index(x) for x in expected["label"]]
    assert list(train.frame["image_id"]) == list(expected["image_id"])
    for index in range(len(train)):
        image, label = train[index]
        assert image.dtype == torch.uint8 and image.shape == (3, 32, 32) and label == train.labels[index]
    native, _ = real_dataset(workdir, "val")[0]
    assert native.shape == (3, 48, 64)
    assert len(real_dataset(workdir, ["train", "val"])) == 21


def test_masks_align_with_their_images(workdir: Path) -> None:
    prepared = load_prepared(workdir)
    for size in (None, 40):
        dataset = real_dataset(workdir, "train", image_size=size, with_mask=True)
        assert dataset.has_mask.all()
        for index in range(len(dataset)):
            image, label, mask = dataset[index]
            assert mask.dtype == torch.bool and mask.shape == image.shape[1:]
            assert (mask == lesion_pixels(image)).float().mean() > 0.97
            fraction = prepared.manifest.set_index("image_id").loc[dataset.frame.at[index, "image_id"], "mask_fraction"]
            assert mask.float().mean().item() == pytest.approx(fraction, abs=0.02)
    geometric = v2.Compose([v2.RandomHorizontalFlip(1.0), v2.RandomRotation((90, 90)), v2.CenterCrop(30)])
    for image, _, mask in real_dataset(workdir, "val", image_size=40, transform=geometric, with_mask=True):
        assert image.shape == (3, 30, 30) and mask.shape == (30, 30) and mask.dtype == torch.bool
        assert (mask == lesion_pixels(image)).float().mean() > 0.95  # the mask moved with the image


def test_transforms_give_normalised_float_images(workdir: Path) -> None:
    torch.manual_seed(0)
    train = real_dataset(workdir, "train", image_size=48, transform=train_transform(40), with_mask=True)
    image, label, mask = train[0]
    assert image.dtype == torch.float32 and image.shape == (3, 40, 40) and mask.shape == (40, 40)
    assert mask.dtype == torch.bool and -2.5 < image.min() and image.max() < 2.8
    plain = real_dataset(workdir, "val", image_size=32, transform=eval_transform())
    image, _ = plain[0]
    raw, _ = real_dataset(workdir, "val", image_size=32)[0]
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    torch.testing.assert_close(image, (raw.float() / 255 - mean) / std)


def test_bad_arguments_are_one_line_errors(workdir: Path) -> None:
    with pytest.raises(SkinaugError, match="unknown split 'training'"):
        real_dataset(workdir, "training")
    with pytest.raises(SkinaugError, match="no images in split test"):
        real_dataset(workdir, "test")
    with pytest.raises(SkinaugError, match="needs an image_size"):
        real_dataset(workdir, "train", cache=workdir / "cache")
    frame = pd.DataFrame({"image_file": ["x.png"], "mask_file": [""], "label": ["cat"]})
    with pytest.raises(SkinaugError, match="unknown label"):
        ManifestDataset(frame, "real")
    with pytest.raises(SkinaugError, match="kind must be"):
        ManifestDataset(frame.assign(label="nv"), "fake")


def test_synthetic_dataset_and_combine(workdir: Path, tmp_path: Path) -> None:
    write_copy_set(workdir, tmp_path / "syn", per_class=2, progress=False)
    syn = synthetic_dataset(tmp_path / "syn", workdir, image_size=32)
    real = real_dataset(workdir, "train", image_size=32)
    assert syn.kind == "synthetic" and len(syn) == 14 and sorted(syn.labels) == sorted(list(range(7)) * 2)
    image, label = syn[3]
    assert (
        image.shape == (3, 32, 32) and image.dtype == torch.uint8 and label == CLASSES.index(syn.frame.at[3, "label"])
    )
    both = combine(real, syn)
    assert len(both) == 23 and both.kind == "mixed"
    assert list(both.labels) == list(real.labels) + list(syn.labels)
    assert list(both.frame["kind"]) == ["real"] * 9 + ["synthetic"] * 14
    torch.testing.assert_close(both[9][0], syn[0][0])
    assert combine(real, real_dataset(workdir, "val")).kind == "real"
    assert combine(syn).kind == "synthetic" and combine(both, real).kind == "mixed"
    loader = DataLoader(both, batch_size=8, sampler=weighted_sampler(both.labels, seed=0))
    images, labels = next(iter(loader))
    assert images.shape == (8, 3, 32, 32) and labels.dtype == torch.int64
    with pytest.raises(SkinaugError, match="agree on with_mask"):
        combine(real, real_dataset(workdir, "val", with_mask=True))


def test_synthetic_images_made_from_val_images_are_refused(workdir: Path, tmp_path: Path) -> None:
    write_copy_set(workdir, tmp_path / "syn", per_class=1, progress=False)
    manifest = pd.read_csv(tmp_path / "syn" / "manifest.csv", dtype=str, keep_default_na=False)
    prepared = load_prepared(workdir).manifest
    val_image = prepared.loc[prepared["split"] == "val", "image_id"].iloc[0]
    manifest.loc[2, "source_image_id"] = val_image
    manifest.to_csv(tmp_path / "syn" / "manifest.csv", index=False)
    with pytest.raises(
        SkinaugError,
        match=f"was made from {val_image} which is in the val split; synthetic sources must come from train only",
    ):
        synthetic_dataset(tmp_path / "syn", workdir)


def test_missing_synthetic_files_are_reported(workdir: Path, tmp_path: Path) -> None:
    syn = write_copy_set(workdir, tmp_path / "syn", per_class=1, progress=False)
    (tmp_path / "syn" / syn.manifest["image_path"].iloc[0]).unlink()
    with pytest.raises(SkinaugError, match="1 image file"):
        synthetic_dataset(tmp_path / "syn", workdir)


def test_require_real_refuses_synthetic_and_mixed_sets(workdir: Path, tmp_path: Path) -> None:
    write_copy_set(workdir, tmp_path / "syn", per_class=1, progress=False)
    real = real_dataset(workdir, "val")
    syn = synthetic_dataset(tmp_path / "syn", workdir)
    require_real(real, "validation")
    require_real(Subset(real, [0, 1]), "test")
    require_real(combine(real, real_dataset(workdir, "train")), "test")
    for role in ("validation", "test"):
        for dataset in (syn, combine(real, syn), Subset(syn, [0])):
            with pytest.raises(SkinaugError, match=f"a synthetic set cannot be used as {role} data"):
                require_real(dataset, role)
    with pytest.raises(SkinaugError, match="cannot tell whether this TensorDataset is real"):
        require_real(TensorDataset(torch.zeros(2)), "test")


def test_synthetic_set_json_is_respected(workdir: Path, tmp_path: Path) -> None:
    write_copy_set(workdir, tmp_path / "syn", per_class=1, progress=False)
    info = json.loads((tmp_path / "syn" / "synthetic.json").read_text())
    info["format_version"] = 9
    (tmp_path / "syn" / "synthetic.json").write_text(json.dumps(info))
    with pytest.raises(SkinaugError, match="synthetic format version 9"):
        synthetic_dataset(tmp_path / "syn", workdir)


def test_datasets_expose_classes_class_to_idx_and_targets_like_torchvision(workdir: Path, tmp_path: Path) -> None:
    from torchvision.datasets import ImageFolder

    real = real_dataset(workdir, "train")
    syn_dir = tmp_path / "syn"
    write_copy_set(workdir, syn_dir, per_class=2, progress=False)
    synthetic = synthetic_dataset(syn_dir, workdir)
    both = combine(real, synthetic)
    for dataset in (real, synthetic, both):
        assert dataset.classes == list(CLASSES) and dataset.class_to_idx == {c: i for i, c in enumerate(CLASSES)}
        assert dataset.targets == [int(dataset[i][1]) for i in range(len(dataset))]
    assert both.targets == real.targets + synthetic.targets
    folder = ImageFolder(str(syn_dir / "images"))  # the set's images/ is an ImageFolder root
    assert folder.class_to_idx == synthetic.class_to_idx and len(folder) == len(synthetic) == 14
    assert sorted(folder.targets) == sorted(synthetic.targets)


def test_synthetic_sets_write_a_hugging_face_imagefolder_metadata_csv(workdir: Path, tmp_path: Path) -> None:
    syn_dir = tmp_path / "syn"
    syn = write_copy_set(workdir, syn_dir, per_class=2, progress=False)
    metadata = pd.read_csv(syn_dir / "images" / "metadata.csv", dtype=str, keep_default_na=False)
    assert list(metadata.columns[:2]) == ["file_name", "label"] and len(metadata) == 14
    for row, item in zip(metadata.to_dict("records"), syn.manifest.to_dict("records")):
        assert (syn_dir / "images" / row["file_name"]).resolve() == syn.image_file(item)  # relative to images/
        assert row["label"] == item["label"] and row["file_name"].split("/")[0] == item["label"]
    assert not [
        p
        for p in (syn_dir / "images").rglob("*.png")
        if p.relative_to(syn_dir / "images").as_posix() not in set(metadata["file_name"])
    ]  # every image below images/ is listed, nothing else
