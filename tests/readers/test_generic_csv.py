"""Generic one-CSV reader: case-insensitive headers, label synonyms, paths confined to the CSV's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from skinaug.errors import SkinaugError
from skinaug.readers import READERS, RECORD_COLUMNS
from skinaug.readers.generic_csv import read_generic_csv


@pytest.fixture
def dataset(tmp_path: Path, write_image, write_mask, write_text) -> Path:
    root = tmp_path / "mydata"
    write_image(root / "img" / "a.jpg")
    write_image(root / "img" / "b.png")
    write_image(root / "img" / "sub" / "c.jpg")
    write_mask(root / "masks" / "a_mask.png")
    absolute_c = root / "img" / "sub" / "c.jpg"
    write_text(
        root / "labels.csv",
        "Image,LABEL,Mask,Lesion_ID,Split\n"
        "img/a.jpg,Melanoma,masks/a_mask.png,L1,train\n"
        "img/b.png,NV,,L1,test\n"
        f"{absolute_c},seborrheic keratosis,,,\n",
    )
    return root


def test_registered() -> None:
    assert READERS["csv"] is read_generic_csv


def test_reads_folder_with_one_csv(dataset: Path) -> None:
    result = read_generic_csv(dataset)
    table = result.records.set_index("image_id")
    assert list(result.records.columns) == list(RECORD_COLUMNS)
    assert table["image_path"].to_dict() == {"a": "img/a.jpg", "b": "img/b.png", "c": "img/sub/c.jpg"}
    assert table["label"].to_dict() == {"a": "mel", "b": "nv", "c": "bkl"}
    assert table["original_label"].to_dict() == {"a": "Melanoma", "b": "NV", "c": "seborrheic keratosis"}
    assert table["mask_path"].to_dict() == {"a": "masks/a_mask.png", "b": "", "c": ""}
    assert table["lesion_id"].to_dict() == {"a": "L1", "b": "L1", "c": "c"}
    assert table["original_split"].to_dict() == {"a": "train", "b": "test", "c": ""}
    assert result.notices == []


def test_root_may_be_the_csv_itself(dataset: Path, write_text) -> None:
    write_text(dataset / "other.csv", "image,label\nimg/a.jpg,bcc\n")
    table = read_generic_csv(dataset / "other.csv").records
    assert table[["image_path", "label", "lesion_id"]].values.tolist() == [["img/a.jpg", "bcc", "a"]]


def test_only_required_columns(tmp_path: Path, write_text) -> None:
    write_text(tmp_path / "list.csv", "image,label\nx/1.jpg,DF\nx/2.jpg,vascular lesion\n")
    table = read_generic_csv(tmp_path).records
    assert table["label"].tolist() == ["df", "vasc"]
    assert table["mask_path"].tolist() == ["", ""]
    assert table["original_split"].tolist() == ["", ""]


def test_excel_byte_order_mark(tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_bytes("\ufeffImage,Label\r\nx/1.jpg,BCC\r\n".encode("utf-8"))
    table = read_generic_csv(tmp_path).records
    assert table[["image_path", "label"]].values.tolist() == [["x/1.jpg", "bcc"]]


def test_folder_with_two_csvs(dataset: Path, write_text) -> None:
    write_text(dataset / "extra.csv", "image,label\n")
    with pytest.raises(SkinaugError, match="expected exactly one .csv file.*found 2") as err:
        read_generic_csv(dataset)
    assert "extra.csv" in str(err.value) and "labels.csv" in str(err.value)


def test_folder_without_csv(tmp_path: Path) -> None:
    with pytest.raises(SkinaugError, match=r"found 0 \(none\)") as err:
        read_generic_csv(tmp_path)
    assert str(tmp_path) in str(err.value)


@pytest.mark.parametrize("bad", ["../secret.jpg", "img/../../secret.jpg", "/etc/passwd"])
def test_path_escaping_the_root(dataset: Path, write_text, bad: str) -> None:
    path = write_text(dataset / "labels.csv", f"image,label\nimg/a.jpg,mel\n{bad},nv\n")
    with pytest.raises(SkinaugError, match="escapes the dataset root") as err:
        read_generic_csv(dataset)
    assert f"{path} line 3" in str(err.value) and bad in str(err.value)


def test_mask_escaping_the_root(dataset: Path, write_text) -> None:
    path = write_text(dataset / "labels.csv", "image,label,mask\nimg/a.jpg,mel,../m.png\n")
    with pytest.raises(SkinaugError, match="escapes the dataset root") as err:
        read_generic_csv(dataset)
    assert f"{path} line 2" in str(err.value)


def test_unknown_label(dataset: Path, write_text) -> None:
    path = write_text(dataset / "labels.csv", "image,label\nimg/a.jpg,mel\nimg/b.png,wart\n")
    with pytest.raises(SkinaugError, match="unknown label 'wart'") as err:
        read_generic_csv(dataset)
    assert f"{path} line 3" in str(err.value)


def test_empty_image_cell(dataset: Path, write_text) -> None:
    path = write_text(dataset / "labels.csv", "image,label\nimg/a.jpg,mel\n ,nv\n")
    with pytest.raises(SkinaugError, match="empty image cell") as err:
        read_generic_csv(dataset)
    assert f"{path} line 3" in str(err.value)


def test_missing_label_column(dataset: Path, write_text) -> None:
    path = write_text(dataset / "labels.csv", "image,diagnosis\nimg/a.jpg,mel\n")
    with pytest.raises(SkinaugError, match="missing column.*label") as err:
        read_generic_csv(dataset)
    assert str(path) in str(err.value)


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(SkinaugError, match="not found"):
        read_generic_csv(tmp_path / "nope.csv")
