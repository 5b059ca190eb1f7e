"""PH2 (Mendonca et al. 2013): `PH2_dataset.txt` plus one folder per image with its lesion mask."""

from __future__ import annotations

from pathlib import Path

from ..errors import SkinaugError
from .base import ReadResult, find_path, index_files, make_records, relpath, require_dir

METADATA_NAME = "PH2_dataset.txt"
IMAGES_DIR = "PH2 Dataset images"
# Clinical Diagnosis code -> (skinaug label, original label), as in the file's own legend
DIAGNOSES: dict[str, tuple[str, str]] = {
    "0": ("nv", "common_nevus"),
    "1": ("nv", "atypical_nevus"),
    "2": ("mel", "melanoma"),
}


def _find_metadata(root: Path) -> Path:
    txt = find_path(root, METADATA_NAME)
    if txt is not None:
        return txt
    xlsx = find_path(root, "PH2_dataset.xlsx")
    if xlsx is not None:
        raise SkinaugError(
            f"{xlsx}: only {METADATA_NAME} is supported, not the .xlsx copy; "
            f"put the {METADATA_NAME} from the PH2 download below {root}"
        )
    raise SkinaugError(f"{root / METADATA_NAME}: metadata file not found (searched below {root})")


def parse_ph2_table(path: Path) -> list[tuple[int, str, str]]:
    """(line number, Name, Clinical Diagnosis) per row of the '||' table; the legend after it is ignored."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    start = next((i for i, text in enumerate(lines) if text.strip().startswith("||")), None)
    if start is None:
        raise SkinaugError(f"{path}: no '||'-separated table found")
    header = [cell.strip() for cell in lines[start].split("||")]
    missing = [c for c in ("Name", "Clinical Diagnosis") if c not in header]
    if missing:
        raise SkinaugError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(filter(None, header))}")
    name_at, diagnosis_at = header.index("Name"), header.index("Clinical Diagnosis")
    rows = []
    for number, text in enumerate(lines[start + 1 :], start=start + 2):
        if not text.strip():
            continue
        if not text.strip().startswith("||"):
            break  # the legend ("Legends for Clinical Diagnosis: ...") follows the table
        cells = [cell.strip() for cell in text.split("||")]
        if len(cells) != len(header) or not cells[name_at]:
            raise SkinaugError(
                f"{path} line {number}: malformed row ({len(cells) - 2} cells, header has "
                f"{len(header) - 2}) or empty Name"
            )
        rows.append((number, cells[name_at], cells[diagnosis_at]))
    return rows


def read_ph2(root: str | Path) -> ReadResult:
    """Read PH2 below `root`; common and atypical naevi become nv, melanomas mel."""
    root = require_dir(root, "PH2")
    meta_path = _find_metadata(root)
    table = parse_ph2_table(meta_path)
    images_dir = meta_path.parent / IMAGES_DIR
    if not images_dir.is_dir():
        images_dir = find_path(root, IMAGES_DIR, is_dir=True) or images_dir
    files = index_files(root)
    rows = []
    for number, name, code in table:
        if code not in DIAGNOSES:
            raise SkinaugError(
                f"{meta_path} line {number}: unknown Clinical Diagnosis {code!r} "
                "(expected 0 = common nevus, 1 = atypical nevus, 2 = melanoma)"
            )
        label, original = DIAGNOSES[code]
        image, mask = files.get(name), files.get(f"{name}_lesion")
        expected = images_dir / name / f"{name}_Dermoscopic_Image" / f"{name}.bmp"
        rows.append(
            {
                "image_id": name,
                # a missing image keeps its expected path so that `prepare` reports it by name
                "image_path": relpath(root, image if image else expected),
                "mask_path": relpath(root, mask) if mask else "",
                "label": label,
                "original_label": original,
                "lesion_id": name,
                "original_split": "",
            }
        )
    return ReadResult(make_records(rows))
