"""Dermofit reader on a tiny copy of the library's layout: <class>/<lesion>/<lesion>.png + <lesion>mask.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from skinaug.errors import SkinaugError
from skinaug.readers import READERS, RECORD_COLUMNS
from skinaug.readers.dermofit import read_dermofit

# class folder -> lesion folders in it
LESIONS = {
    "AK": ["A10", "A11"],
    "BCC": ["B101"],
    "DF": ["F12"],
    "IEC": ["D301"],
    "MEL": ["M55"],
    "ML": ["N7"],
    "PYO": ["G1", "G2", "G3"],
    "SCC": ["C4", "C9"],
    "SK": ["S20"],
    "VASC": ["V3"],
}
EXPECTED = {
    "A10": "akiec",
    "A11": "akiec",
    "B101": "bcc",
    "F12": "df",
    "D301": "akiec",
    "M55": "mel",
    "N7": "nv",
    "S20": "bkl",
    "V3": "vasc",
}


def build(top: Path, write_image, write_mask, lower: bool = False) -> None:
    for code, lesions in LESIONS.items():
        for lesion in lesions:
            folder = top / (code.lower() if lower else code) / lesion
            write_image(folder / f"{lesion}.png")
            if lesion != "A11":
                write_mask(folder / f"{lesion}mask.png")


@pytest.fixture
def dermofit(tmp_path: Path, write_image, write_mask, write_text) -> Path:
    top = tmp_path / "Dermofit Image Library"
    build(top, write_image, write_mask)
    write_text(top / "lesionlist.txt", "1   A10   AK\n2   A11   AK\n3   B101   BCC\n")
    (top / "extras" / "notes").mkdir(parents=True)
    return tmp_path


def test_registered() -> None:
    assert READERS["dermofit"] is read_dermofit


def test_labels_masks_and_lesions(dermofit: Path) -> None:
    result = read_dermofit(dermofit)
    table = result.records.set_index("image_id")
    assert list(result.records.columns) == list(RECORD_COLUMNS)
    assert table["label"].to_dict() == EXPECTED
    assert table.loc["D301", "original_label"] == "IEC"
    assert table.loc["S20", "original_label"] == "SK"
    assert (table["lesion_id"] == table.index).all()
    assert table.loc["B101", "image_path"] == "Dermofit Image Library/BCC/B101/B101.png"
    assert table.loc["B101", "mask_path"] == "Dermofit Image Library/BCC/B101/B101mask.png"
    assert table.loc["A11", "mask_path"] == ""
    assert set(table["original_split"]) == {""}


def test_notices_for_dropped_and_unknown_folders(dermofit: Path) -> None:
    notices = read_dermofit(dermofit).notices
    assert len(notices) == 3
    pyo = [n for n in notices if "PYO" in n]
    scc = [n for n in notices if "SCC" in n]
    assert len(pyo) == 1 and "dropped 3" in pyo[0] and "no skinaug class" in pyo[0]
    assert len(scc) == 1 and "dropped 2" in scc[0] and "no skinaug class" in scc[0]
    assert any("extras" in n and "skipped" in n for n in notices)
    assert all("\n" not in n for n in notices)


def test_lower_case_class_folders_at_root(tmp_path: Path, write_image, write_mask) -> None:
    build(tmp_path, write_image, write_mask, lower=True)
    table = read_dermofit(tmp_path).records.set_index("image_id")
    assert table["label"].to_dict() == EXPECTED
    assert table.loc["M55", "image_path"] == "mel/M55/M55.png"
    assert table.loc["M55", "original_label"] == "MEL"


def test_missing_image_keeps_expected_path(dermofit: Path) -> None:
    (dermofit / "Dermofit Image Library/DF/F12/F12.png").unlink()
    table = read_dermofit(dermofit).records.set_index("image_id")
    assert table.loc["F12", "image_path"] == "Dermofit Image Library/DF/F12/F12.png"
    assert table.loc["F12", "label"] == "df"


def test_no_class_folder(tmp_path: Path, write_image) -> None:
    write_image(tmp_path / "photos" / "x.png")
    with pytest.raises(SkinaugError, match="no Dermofit class folder") as err:
        read_dermofit(tmp_path)
    assert str(tmp_path) in str(err.value)
