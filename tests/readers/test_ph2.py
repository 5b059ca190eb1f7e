"""PH2 reader on a tiny copy of the official layout and of the real PH2_dataset.txt format.

The real file is a '||'-separated table (the dermoscopic criteria inside one '||' cell are '|'-separated),
cells right-aligned to the header's width, 200 rows, then a blank line and a legend section.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from skinaug.errors import SkinaugError
from skinaug.readers import READERS, RECORD_COLUMNS
from skinaug.readers.ph2 import read_ph2

HEADER = (
    "||   Name || Histological Diagnosis || Clinical Diagnosis || Asymmetry | Pigment Network | Dots/Globules"
    " | Streaks | Regression Areas | Blue-Whitish Veil ||           Colors ||"
)
LEGEND = """
Legends for Clinical Diagnosis: 
   0 - Common Nevus;
   1 - Atypical Nevus;
   2 - Melanoma.

Legends for Asymmetry: 
   0 - Fully Symmetric;
   1 - Symetric in 1 axe;
   2 - Fully Asymmetric;

Legends for Pigment Network, Dots/Globules, Streaks, Regression Areas, and Blue-Whitish Veil: 
   A  - Absent;
   AT - Atypical;
   P  - Present;
   T  - Typical.

Legends for Colors: 
   1 - White;
   2 - Red;
   3 - Light-Brown;
   4 - Dark-Brown;
   5 - Blue-Gray;
   6 - Black.
"""


def row(
    name: str,
    clinical: str,
    histological: str = "",
    criteria: tuple[str, ...] = ("0", "T", "A", "A", "A", "A"),
    colors: str = "3  4",
) -> str:
    """One data line, each cell right-aligned to its header cell like the real file."""
    widths = [len(cell) - 2 for cell in HEADER.split("||")[1:-1]]
    criteria_widths = [len(cell) - 2 for cell in HEADER.split("||")[4].split("|")]
    criteria_cell = " |".join(" " + c.rjust(w) for c, w in zip(criteria, criteria_widths))
    return (
        f"|| {name.rjust(widths[0])} || {histological.rjust(widths[1])} || {clinical.rjust(widths[2])} ||"
        f"{criteria_cell} || {colors.rjust(widths[4])} ||"
    )


TABLE = [
    row("IMD002", "0"),
    row("IMD004", "1", criteria=("1", "AT", "P", "A", "A", "A")),
    row("IMD058", "2", "Melanoma", ("2", "AT", "AT", "P", "P", "P"), "1  4  5  6"),
    row("IMD010", "0"),
    row("IMD020", "1"),
]


def write_ph2_txt(path: Path, lines: list[str], write_text, newline: str = "\n") -> Path:
    return write_text(path, "\n".join([HEADER, *lines]) + "\n" + LEGEND, newline)


@pytest.fixture
def ph2(tmp_path: Path, write_image, write_mask, write_text) -> Path:
    root = tmp_path / "PH2"
    images = root / "PH2Dataset" / "PH2 Dataset images"
    for name in ("IMD002", "IMD004", "IMD058", "IMD020"):
        write_image(images / name / f"{name}_Dermoscopic_Image" / f"{name}.bmp")
    for name in ("IMD002", "IMD004", "IMD058"):
        write_mask(images / name / f"{name}_lesion" / f"{name}_lesion.bmp")
        write_mask(images / name / f"{name}_roi" / f"{name}_R1_Label4.bmp")
    write_ph2_txt(root / "PH2Dataset" / "PH2_dataset.txt", TABLE, write_text)
    (root / "PH2Dataset" / "PH2_dataset.xlsx").write_bytes(b"PK\x03\x04 not read")
    return root


def test_fixture_reproduces_the_real_row_format() -> None:
    assert TABLE[0] == (
        "|| IMD002 ||                        ||                  0 ||         0 |               T |"
        "             A |       A |                A |                 A ||             3  4 ||"
    )


def test_registered() -> None:
    assert READERS["ph2"] is read_ph2


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_labels_and_masks(ph2: Path, write_text, newline: str) -> None:
    write_ph2_txt(ph2 / "PH2Dataset" / "PH2_dataset.txt", TABLE, write_text, newline)
    result = read_ph2(ph2)
    table = result.records.set_index("image_id")
    assert list(result.records.columns) == list(RECORD_COLUMNS)
    assert list(table.index) == ["IMD002", "IMD004", "IMD058", "IMD010", "IMD020"]  # legend lines ignored
    assert table["label"].to_dict() == {"IMD002": "nv", "IMD004": "nv", "IMD058": "mel", "IMD010": "nv", "IMD020": "nv"}
    assert table["original_label"].to_dict() == {
        "IMD002": "common_nevus",
        "IMD004": "atypical_nevus",
        "IMD058": "melanoma",
        "IMD010": "common_nevus",
        "IMD020": "atypical_nevus",
    }
    base = "PH2Dataset/PH2 Dataset images"
    assert table.loc["IMD058", "image_path"] == f"{base}/IMD058/IMD058_Dermoscopic_Image/IMD058.bmp"
    assert table.loc["IMD058", "mask_path"] == f"{base}/IMD058/IMD058_lesion/IMD058_lesion.bmp"
    assert table.loc["IMD020", "mask_path"] == ""
    # missing on disk: keeps its expected path
    assert table.loc["IMD010", "image_path"] == f"{base}/IMD010/IMD010_Dermoscopic_Image/IMD010.bmp"
    assert not any("_roi" in p for p in table["mask_path"])
    assert (table["lesion_id"] == table.index).all()
    assert set(table["original_split"]) == {""}
    assert result.notices == []


def test_only_xlsx_present(ph2: Path) -> None:
    (ph2 / "PH2Dataset" / "PH2_dataset.txt").unlink()
    with pytest.raises(SkinaugError, match="only PH2_dataset.txt is supported") as err:
        read_ph2(ph2)
    assert str(ph2 / "PH2Dataset" / "PH2_dataset.xlsx") in str(err.value)


def test_no_metadata(ph2: Path) -> None:
    (ph2 / "PH2Dataset" / "PH2_dataset.txt").unlink()
    (ph2 / "PH2Dataset" / "PH2_dataset.xlsx").unlink()
    with pytest.raises(SkinaugError, match="PH2_dataset.txt: metadata file not found"):
        read_ph2(ph2)


def test_unknown_diagnosis_code(ph2: Path, write_text) -> None:
    path = write_ph2_txt(ph2 / "PH2Dataset" / "PH2_dataset.txt", [TABLE[0], row("IMD004", "3")], write_text)
    with pytest.raises(SkinaugError, match="unknown Clinical Diagnosis '3'") as err:
        read_ph2(ph2)
    assert f"{path} line 3" in str(err.value)


def test_missing_clinical_diagnosis_column(ph2: Path, write_text) -> None:
    path = write_text(
        ph2 / "PH2Dataset" / "PH2_dataset.txt",
        HEADER.replace("Clinical Diagnosis", "Diagnosis") + "\n" + TABLE[0] + "\n",
    )
    with pytest.raises(SkinaugError, match="missing column.*Clinical Diagnosis") as err:
        read_ph2(ph2)
    assert str(path) in str(err.value)


def test_malformed_row(ph2: Path, write_text) -> None:
    path = write_ph2_txt(ph2 / "PH2Dataset" / "PH2_dataset.txt", [TABLE[0], "|| IMD004 ||   ||   1 ||"], write_text)
    with pytest.raises(SkinaugError, match="malformed row") as err:
        read_ph2(ph2)
    assert f"{path} line 3" in str(err.value)
