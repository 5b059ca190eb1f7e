"""ISIC 2018 Task 3 reader on a tiny copy of the official layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from skinaug.errors import SkinaugError
from skinaug.readers import READERS, RECORD_COLUMNS
from skinaug.readers.isic2018 import read_isic2018

HEADER = "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\n"
TRAIN_GT = "ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv"
# image -> one-hot row as the challenge CSVs write it, and the class it encodes
TRAIN = {
    "ISIC_0024306": ("0.0,1.0,0.0,0.0,0.0,0.0,0.0", "nv"),
    "ISIC_0024307": ("0.0,1.0,0.0,0.0,0.0,0.0,0.0", "nv"),
    "ISIC_0024310": ("1.0,0.0,0.0,0.0,0.0,0.0,0.0", "mel"),
    "ISIC_0024331": ("0.0,0.0,1.0,0.0,0.0,0.0,0.0", "bcc"),
    "ISIC_0024329": ("0.0,0.0,0.0,1.0,0.0,0.0,0.0", "akiec"),
    "ISIC_0024312": ("0.0,0.0,0.0,0.0,1.0,0.0,0.0", "bkl"),
    "ISIC_0024318": ("0.0,0.0,0.0,0.0,0.0,1.0,0.0", "df"),
    "ISIC_0024370": ("0.0,0.0,0.0,0.0,0.0,0.0,1.0", "vasc"),
}


@pytest.fixture
def isic2018(tmp_path: Path, write_image, write_mask, write_text) -> Path:
    root = tmp_path / "ISIC2018"
    for image_id in TRAIN:
        write_image(root / "ISIC2018_Task3_Training_Input" / f"{image_id}.jpg")
    write_text(root / "ISIC2018_Task3_Training_Input" / "ATTRIBUTION.txt", "HAM10000\n")
    write_text(root / TRAIN_GT, HEADER + "".join(f"{i},{row}\n" for i, (row, _) in TRAIN.items()))
    write_text(
        root / "ISIC2018_Task3_Training_LesionGroupings.csv",
        "image,lesion_id,diagnosis_confirm_type\n"
        "ISIC_0024306,HAM_0000550,follow_up\nISIC_0024307,HAM_0000550,follow_up\n"
        "ISIC_0024310,HAM_0003521,histopathology\n",
    )
    write_mask(root / "HAM10000_segmentations_lesion_tschandl" / "ISIC_0024306_segmentation.png")
    write_mask(root / "HAM10000_segmentations_lesion_tschandl" / "ISIC_0024310_segmentation.png")
    write_image(root / "ISIC2018_Task3_Validation_Input" / "ISIC_0034321.jpg")
    write_text(
        root / "ISIC2018_Task3_Validation_GroundTruth" / "ISIC2018_Task3_Validation_GroundTruth.csv",
        HEADER + "ISIC_0034321,0.0,0.0,0.0,0.0,1.0,0.0,0.0\n",
    )
    # test images not unzipped: both keep their expected path
    write_text(
        root / "ISIC2018_Task3_Test_GroundTruth.csv",
        HEADER + "ISIC_0034524,0.0,1.0,0.0,0.0,0.0,0.0,0.0\nISIC_0034525,1.0,0.0,0.0,0.0,0.0,0.0,0.0\n",
    )
    return root


def test_registered() -> None:
    assert READERS["isic2018"] is read_isic2018


def test_labels_splits_and_lesions(isic2018: Path) -> None:
    result = read_isic2018(isic2018)
    table = result.records.set_index("image_id")
    assert list(result.records.columns) == list(RECORD_COLUMNS)
    assert len(table) == len(TRAIN) + 3
    for image_id, (_, label) in TRAIN.items():
        assert table.loc[image_id, "label"] == label
        assert table.loc[image_id, "original_label"] == label.upper()
        assert table.loc[image_id, "original_split"] == "training"
    assert table.loc["ISIC_0034321", ["label", "original_split"]].tolist() == ["bkl", "validation"]
    assert table.loc["ISIC_0034524", ["label", "original_split"]].tolist() == ["nv", "test"]
    assert table.loc["ISIC_0034525", ["label", "original_split"]].tolist() == ["mel", "test"]
    # lesion ids from the groupings file; images it does not list are their own lesion
    assert table.loc["ISIC_0024306", "lesion_id"] == "HAM_0000550"
    assert table.loc["ISIC_0024307", "lesion_id"] == "HAM_0000550"
    assert table.loc["ISIC_0024310", "lesion_id"] == "HAM_0003521"
    assert table.loc["ISIC_0024318", "lesion_id"] == "ISIC_0024318"
    assert result.notices == []


def test_paths_and_masks(isic2018: Path) -> None:
    table = read_isic2018(isic2018).records.set_index("image_id")
    assert table.loc["ISIC_0024310", "image_path"] == "ISIC2018_Task3_Training_Input/ISIC_0024310.jpg"
    assert table.loc["ISIC_0024310", "mask_path"] == (
        "HAM10000_segmentations_lesion_tschandl/ISIC_0024310_segmentation.png"
    )
    assert table.loc["ISIC_0024307", "mask_path"] == ""
    assert table.loc["ISIC_0034321", "image_path"] == "ISIC2018_Task3_Validation_Input/ISIC_0034321.jpg"
    assert table.loc["ISIC_0034524", "image_path"] == "ISIC2018_Task3_Test_Input/ISIC_0034524.jpg"
    assert sum(table["mask_path"] != "") == 2


def test_without_groupings_every_image_is_its_own_lesion(isic2018: Path) -> None:
    (isic2018 / "ISIC2018_Task3_Training_LesionGroupings.csv").unlink()
    result = read_isic2018(isic2018)
    assert (result.records["lesion_id"] == result.records["image_id"]).all()
    assert len(result.notices) == 1
    assert "ISIC2018_Task3_Training_LesionGroupings.csv not found" in result.notices[0]


def test_dataverse_style_test_csv(tmp_path: Path, write_text) -> None:
    """The Harvard Dataverse ships the test ground truth with HAM10000 columns instead of one-hot."""
    write_text(
        tmp_path / "ISIC2018_Task3_Test_GroundTruth.csv",
        "lesion_id,image_id,dx,dx_type,age,sex,localization,dataset\n"
        "HAMTEST_0000000,ISIC_0034524,nv,follow_up,40.0,female,back,vidir_molemax\n"
        "HAMTEST_0000001,ISIC_0034525,bcc,histo,70.0,male,face,rosendahl\n",
    )
    table = read_isic2018(tmp_path).records.set_index("image_id")
    assert table["label"].to_dict() == {"ISIC_0034524": "nv", "ISIC_0034525": "bcc"}
    assert table["lesion_id"].to_dict() == {"ISIC_0034524": "HAMTEST_0000000", "ISIC_0034525": "HAMTEST_0000001"}
    assert set(table["original_split"]) == {"test"}


@pytest.mark.parametrize(
    "row, found",
    [("ISIC_0024306,1.0,1.0,0.0,0.0,0.0,0.0,0.0", "found 2"), ("ISIC_0024306,0.0,0.0,0.0,0.0,0.0,0.0,0.0", "found 0")],
)
def test_malformed_one_hot_names_file_and_line(isic2018: Path, write_text, row: str, found: str) -> None:
    path = write_text(isic2018 / TRAIN_GT, HEADER + "ISIC_0024307,0.0,1.0,0.0,0.0,0.0,0.0,0.0\n" + row + "\n")
    with pytest.raises(SkinaugError, match="expected exactly one 1") as err:
        read_isic2018(isic2018)
    assert f"{path} line 3" in str(err.value) and found in str(err.value)


def test_missing_class_column(isic2018: Path, write_text) -> None:
    path = write_text(isic2018 / TRAIN_GT, "image,MEL,NV,BCC,AKIEC,BKL,DF\nISIC_0024306,0.0,1.0,0.0,0.0,0.0,0.0\n")
    with pytest.raises(SkinaugError, match="missing column.*VASC") as err:
        read_isic2018(isic2018)
    assert str(path) in str(err.value)


def test_unknown_dx_in_dataverse_csv(tmp_path: Path, write_text) -> None:
    path = write_text(
        tmp_path / "ISIC2018_Task3_Test_GroundTruth.csv", "lesion_id,image_id,dx\nHAMTEST_0000000,ISIC_0034524,scc\n"
    )
    with pytest.raises(SkinaugError, match="unknown label 'scc'") as err:
        read_isic2018(tmp_path)
    assert f"{path} line 2" in str(err.value)


def test_no_ground_truth(tmp_path: Path, write_image) -> None:
    write_image(tmp_path / "ISIC2018_Task3_Training_Input" / "ISIC_0024306.jpg")
    with pytest.raises(SkinaugError, match="no ISIC 2018 Task 3 ground-truth CSV") as err:
        read_isic2018(tmp_path)
    assert "ISIC2018_Task3_Training_GroundTruth.csv" in str(err.value)
