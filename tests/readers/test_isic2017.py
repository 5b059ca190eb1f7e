"""ISIC 2017 reader on a tiny copy of the official layout (nested the way users unzip it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skinaug.errors import SkinaugError
from skinaug.readers import READERS, RECORD_COLUMNS
from skinaug.readers.isic2017 import read_isic2017

TRAIN_GT = "ISIC-2017_Training_Part3_GroundTruth.csv"
HEADER = "image_id,melanoma,seborrheic_keratosis\n"


@pytest.fixture
def isic2017(tmp_path: Path, write_image, write_mask, write_text) -> Path:
    root = tmp_path / "isic2017"
    train = root / "ISIC-2017_Training_Data"
    for i in range(3):
        write_image(train / f"ISIC_000000{i}.jpg")
        write_image(train / f"ISIC_000000{i}_superpixels.png")
    write_text(
        train / "ISIC-2017_Training_Data_metadata.csv",
        "image_id,age_approximate,sex\nISIC_0000000,55,female\nISIC_0000001,30,male\nISIC_0000002,60,male\n",
    )
    write_mask(root / "ISIC-2017_Training_Part1_GroundTruth" / "ISIC_0000000_segmentation.png")
    write_mask(root / "ISIC-2017_Training_Part1_GroundTruth" / "ISIC_0000001_segmentation.png")
    write_text(root / TRAIN_GT, HEADER + "ISIC_0000000,0.0,0.0\nISIC_0000001,1.0,0.0\nISIC_0000002,0.0,1.0\n")
    # validation unzipped one level deeper, inside its own folder
    val = root / "downloads" / "validation"
    write_image(val / "ISIC-2017_Validation_Data" / "ISIC_0001769.jpg")
    write_mask(val / "ISIC-2017_Validation_Part1_GroundTruth" / "ISIC_0001769_segmentation.png")
    write_text(val / "ISIC-2017_Validation_Part3_GroundTruth.csv", HEADER + "ISIC_0001769,1.0,0.0\n")
    # test: the ground truth lists an image that was never unzipped
    write_image(root / "ISIC-2017_Test_v2_Data" / "ISIC_0012086.jpg")
    write_text(
        root / "ISIC-2017_Test_v2_Part3_GroundTruth.csv", HEADER + "ISIC_0012086,0.0,0.0\nISIC_0012092,0.0,1.0\n"
    )
    return root


def test_registered() -> None:
    assert READERS["isic2017"] is read_isic2017


def test_reads_all_splits(isic2017: Path) -> None:
    result = read_isic2017(isic2017)
    table = result.records.set_index("image_id")
    assert list(result.records.columns) == list(RECORD_COLUMNS)
    assert sorted(table.index) == [
        "ISIC_0000000",
        "ISIC_0000001",
        "ISIC_0000002",
        "ISIC_0001769",
        "ISIC_0012086",
        "ISIC_0012092",
    ]
    assert table["label"].to_dict() == {
        "ISIC_0000000": "nv",
        "ISIC_0000001": "mel",
        "ISIC_0000002": "bkl",
        "ISIC_0001769": "mel",
        "ISIC_0012086": "nv",
        "ISIC_0012092": "bkl",
    }
    assert table.loc["ISIC_0000000", "original_label"] == "nevus"
    assert table.loc["ISIC_0000001", "original_label"] == "melanoma"
    assert table.loc["ISIC_0000002", "original_label"] == "seborrheic_keratosis"
    assert table["original_split"].to_dict() == {
        "ISIC_0000000": "training",
        "ISIC_0000001": "training",
        "ISIC_0000002": "training",
        "ISIC_0001769": "validation",
        "ISIC_0012086": "test",
        "ISIC_0012092": "test",
    }
    assert (table["lesion_id"] == table.index).all()
    assert result.notices == []


def test_paths_and_masks(isic2017: Path) -> None:
    table = read_isic2017(isic2017).records.set_index("image_id")
    assert table.loc["ISIC_0000001", "image_path"] == "ISIC-2017_Training_Data/ISIC_0000001.jpg"
    assert table.loc["ISIC_0000001", "mask_path"] == (
        "ISIC-2017_Training_Part1_GroundTruth/ISIC_0000001_segmentation.png"
    )
    assert table.loc["ISIC_0001769", "image_path"] == "downloads/validation/ISIC-2017_Validation_Data/ISIC_0001769.jpg"
    assert table.loc["ISIC_0001769", "mask_path"] == (
        "downloads/validation/ISIC-2017_Validation_Part1_GroundTruth/ISIC_0001769_segmentation.png"
    )
    assert table.loc["ISIC_0000002", "mask_path"] == ""
    # superpixel maps are never taken for images or masks
    assert not any("superpixels" in p for p in [*table["image_path"], *table["mask_path"]])
    # the image missing on disk keeps its expected path
    assert table.loc["ISIC_0012092", "image_path"] == "ISIC-2017_Test_v2_Data/ISIC_0012092.jpg"
    assert not (isic2017 / "ISIC-2017_Test_v2_Data/ISIC_0012092.jpg").exists()


def test_both_flags_set_names_file_and_line(isic2017: Path, write_text) -> None:
    path = write_text(isic2017 / TRAIN_GT, HEADER + "ISIC_0000000,0.0,0.0\nISIC_0000001,1.0,1.0\n")
    with pytest.raises(SkinaugError, match="both melanoma and seborrheic_keratosis") as err:
        read_isic2017(isic2017)
    assert f"{path} line 3" in str(err.value)
    assert "\n" not in str(err.value)


def test_flag_that_is_not_0_or_1(isic2017: Path, write_text) -> None:
    path = write_text(isic2017 / TRAIN_GT, HEADER + "ISIC_0000000,yes,0.0\n")
    with pytest.raises(SkinaugError, match="expected 0 or 1") as err:
        read_isic2017(isic2017)
    assert f"{path} line 2" in str(err.value)


def test_missing_column(isic2017: Path, write_text) -> None:
    path = write_text(isic2017 / TRAIN_GT, "image_id,melanoma\nISIC_0000000,0.0\n")
    with pytest.raises(SkinaugError, match="missing column.*seborrheic_keratosis") as err:
        read_isic2017(isic2017)
    assert str(path) in str(err.value)


def test_no_ground_truth_csv(tmp_path: Path, write_image) -> None:
    write_image(tmp_path / "ISIC-2017_Training_Data" / "ISIC_0000000.jpg")
    with pytest.raises(SkinaugError, match="no ISIC 2017 ground-truth CSV") as err:
        read_isic2017(tmp_path)
    assert str(tmp_path) in str(err.value) and TRAIN_GT in str(err.value)


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(SkinaugError, match="not found"):
        read_isic2017(tmp_path / "absent")
