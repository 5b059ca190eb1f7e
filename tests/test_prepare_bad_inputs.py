"""`prepare` on inputs a new user gives: the CSV file itself, a symlink loop, one image listed with two labels."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from skinaug.cli import main


def _write_csv(root: Path, extra_rows: str = "") -> Path:
    """data.csv in the tiny HAM10000 copy: every image with its label, paths relative to the CSV's folder."""
    table = pd.read_csv(root / "HAM10000_metadata.csv")
    lines = ["image,label,lesion_id"]
    lines += [f"HAM10000_images_part_1/{r.image_id}.jpg,{r.dx},{r.lesion_id}" for r in table.itertuples()]
    path = root / "data.csv"
    path.write_text("\n".join(lines) + "\n" + extra_rows)
    return path


def _prepare(source: Path, out: Path) -> object:
    return CliRunner().invoke(main, ["prepare", "--format", "csv", str(source), "--out", str(out)])


def test_csv_file_given_itself_reads_its_images(tiny_ham: Path, tmp_path: Path) -> None:
    csv = _write_csv(tiny_ham)
    result = _prepare(csv, tmp_path / "w")
    assert result.exit_code == 0, result.output
    assert "prepared 21 images" in result.stdout
    info = json.loads((tmp_path / "w" / "dataset.json").read_text())
    assert Path(info["root"]) == tiny_ham.resolve()  # the CSV's folder: where its relative paths point


@pytest.mark.parametrize("fmt", ["ham10000", "csv"])
def test_a_symlink_loop_excludes_that_image_only(tiny_ham: Path, tmp_path: Path, fmt: str) -> None:
    looped = tiny_ham / "HAM10000_images_part_1" / "ISIC_0000001.jpg"
    looped.unlink()
    looped.symlink_to(looped.name)  # the link points at itself
    source = _write_csv(tiny_ham) if fmt == "csv" else tiny_ham
    result = CliRunner().invoke(main, ["prepare", "--format", fmt, str(source), "--out", str(tmp_path / "w")])
    assert result.exit_code == 0, result.output
    assert "prepared 20 images" in result.stdout and "1 excluded" in result.stdout
    problems = pd.read_csv(tmp_path / "w" / "problems.csv")
    excluded = problems[problems["action"] == "image excluded"]
    assert excluded["image_id"].tolist() == ["ISIC_0000001"]
    assert "ISIC_0000001.jpg" in excluded["problem"].iloc[0]
    assert "internal error" not in result.output


def test_one_image_with_two_labels_is_a_reported_label_conflict(tiny_ham: Path, tmp_path: Path) -> None:
    # ISIC_0000000 is akiec in the table above; listed again as melanoma. ISIC_1000000 (bcc) repeats identically.
    csv = _write_csv(
        tiny_ham,
        "HAM10000_images_part_1/ISIC_0000000.jpg,mel,HAM_0000000\n"
        "HAM10000_images_part_1/ISIC_1000000.jpg,bcc,HAM_1000000\n",
    )
    result = _prepare(csv, tmp_path / "w")
    assert result.exit_code == 0, result.output
    assert "prepared 20 images" in result.stdout and "1 excluded" in result.stdout
    conflict = [line for line in result.stderr.splitlines() if "label conflict" in line]
    assert len(conflict) == 1 and "ISIC_0000000" in conflict[0]
    assert "akiec" in conflict[0] and "mel" in conflict[0]
    assert "repeated row(s) of the same image and label ignored (first: ISIC_1000000)" in result.stderr
    manifest = pd.read_csv(tmp_path / "w" / "manifest.csv")
    assert "ISIC_0000000" not in set(manifest["image_id"]) and "ISIC_1000000" in set(manifest["image_id"])
    problems = pd.read_csv(tmp_path / "w" / "problems.csv")
    assert problems.loc[problems["image_id"] == "ISIC_0000000", "action"].tolist() == ["image excluded"]


def test_nothing_but_a_label_conflict_is_a_one_line_error(tiny_ham: Path, tmp_path: Path) -> None:
    csv = tiny_ham / "conflict.csv"
    csv.write_text(
        "image,label\nHAM10000_images_part_1/ISIC_0000000.jpg,nv\nHAM10000_images_part_1/ISIC_0000000.jpg,mel\n"
    )
    result = _prepare(csv, tmp_path / "w")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "label conflict" in result.stderr and "labels nv and mel" in result.stderr
    assert not (tmp_path / "w" / "manifest.csv").exists()
