"""HAM10000 reader: a tiny fixture in the official layout, and the real reduced copy in ../shared."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from skinaug.errors import SkinaugError
from skinaug.labels import CLASSES
from skinaug.readers import READERS, RECORD_COLUMNS
from skinaug.readers.ham10000 import read_ham10000

REAL_HAM = Path(__file__).resolve().parents[2].parent / "shared/data/HAM10000"
META_HEADER = "lesion_id,image_id,dx,dx_type,age,sex,localization\n"


@pytest.fixture
def ham(tmp_path: Path, write_image, write_mask, write_text) -> Path:
    write_image(tmp_path / "HAM10000_images_part_1" / "ISIC_0027419.jpg")
    write_image(tmp_path / "HAM10000_images_part_1" / "ISIC_0025030.jpg")
    write_image(tmp_path / "HAM10000_images_part_2" / "ISIC_0031633.jpg")
    write_mask(tmp_path / "HAM10000_segmentations_lesion_tschandl" / "ISIC_0027419_segmentation.png")
    write_mask(tmp_path / "HAM10000_segmentations_lesion_tschandl" / "ISIC_0031633_segmentation.png")
    write_text(
        tmp_path / "HAM10000_metadata.csv",
        META_HEADER
        + "HAM_0000118,ISIC_0027419,bkl,histo,80.0,male,scalp\n"
        + "HAM_0000118,ISIC_0025030,bkl,histo,80.0,male,scalp\n"
        + "HAM_0001466,ISIC_0031633,mel,histo,75.0,male,ear\n"
        + "HAM_0002730,ISIC_0026769,nv,follow_up,80.0,male,back\n",
    )
    return tmp_path


def test_registered() -> None:
    assert READERS["ham10000"] is read_ham10000


def test_tiny_fixture(ham: Path) -> None:
    result = read_ham10000(ham)
    table = result.records.set_index("image_id")
    assert list(result.records.columns) == list(RECORD_COLUMNS)
    assert table["label"].to_dict() == {
        "ISIC_0027419": "bkl",
        "ISIC_0025030": "bkl",
        "ISIC_0031633": "mel",
        "ISIC_0026769": "nv",
    }
    assert table["lesion_id"].to_dict() == {
        "ISIC_0027419": "HAM_0000118",
        "ISIC_0025030": "HAM_0000118",
        "ISIC_0031633": "HAM_0001466",
        "ISIC_0026769": "HAM_0002730",
    }
    assert table.loc["ISIC_0031633", "image_path"] == "HAM10000_images_part_2/ISIC_0031633.jpg"
    assert table.loc["ISIC_0031633", "mask_path"] == (
        "HAM10000_segmentations_lesion_tschandl/ISIC_0031633_segmentation.png"
    )
    assert table.loc["ISIC_0025030", "mask_path"] == ""
    # listed but not on disk: keeps its expected path
    assert table.loc["ISIC_0026769", "image_path"] == "HAM10000_images/ISIC_0026769.jpg"


def test_unknown_dx_names_file_and_line(ham: Path, write_text) -> None:
    path = write_text(
        ham / "HAM10000_metadata.csv",
        META_HEADER
        + "HAM_0000118,ISIC_0027419,bkl,histo,80.0,male,scalp\n"
        + "HAM_0000119,ISIC_0025030,wart,histo,80.0,male,scalp\n",
    )
    with pytest.raises(SkinaugError, match="unknown label 'wart'") as err:
        read_ham10000(ham)
    assert f"{path} line 3" in str(err.value)


def test_missing_dx_column(ham: Path, write_text) -> None:
    path = write_text(ham / "HAM10000_metadata.csv", "lesion_id,image_id\nHAM_0000118,ISIC_0027419\n")
    with pytest.raises(SkinaugError, match="missing column.*dx") as err:
        read_ham10000(ham)
    assert str(path) in str(err.value)


def test_missing_metadata(tmp_path: Path, write_image) -> None:
    write_image(tmp_path / "HAM10000_images" / "ISIC_0027419.jpg")
    with pytest.raises(SkinaugError, match="HAM10000_metadata.csv: metadata file not found"):
        read_ham10000(tmp_path)


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_HAM.is_dir(), reason=f"real HAM10000 copy not found at {REAL_HAM}")
def test_real_ham10000() -> None:
    with open(REAL_HAM / "HAM10000_metadata.csv", newline="") as f:
        meta = list(csv.DictReader(f))
    table = read_ham10000(REAL_HAM).records
    assert len(table) == 7993 == len(meta)
    assert set(table["label"]) == set(CLASSES)
    assert Counter(table["label"]) == Counter(row["dx"] for row in meta)
    # the counts the copy's README states
    assert Counter(table["label"]) == {
        "nv": 5386,
        "bkl": 864,
        "mel": 845,
        "bcc": 426,
        "akiec": 269,
        "vasc": 112,
        "df": 91,
    }
    assert table["lesion_id"].nunique() == 5984
    assert dict(zip(table["image_id"], table["lesion_id"])) == {row["image_id"]: row["lesion_id"] for row in meta}
    assert table["image_id"].is_unique
    assert all((REAL_HAM / p).is_file() for p in table["image_path"])
    assert (table["mask_path"] != "").all()
    assert all((REAL_HAM / p).is_file() for p in table["mask_path"])
    assert all(Path(m).name == f"{i}_segmentation.png" for i, m in zip(table["image_id"], table["mask_path"]))
