"""The synthetic-set format: loading with one-line errors, the train-only source guard, and the copy set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skinaug.errors import SkinaugError
from skinaug.images import load_rgb
from skinaug.labels import CLASSES
from skinaug.manifest import load_prepared
from skinaug.masks import load_mask
from skinaug.prepare import prepare_dataset
from skinaug.splits import SplitConfig
from skinaug.synthetic import SYNTHETIC_COLUMNS, SYNTHETIC_KIND, check_sources, load_synthetic, write_copy_set


@pytest.fixture
def workdir(tiny_ham: Path, tmp_path: Path) -> Path:
    """tiny_ham prepared with the default split (train and val only: 9 train images, >= 1 per class)."""
    prepare_dataset("ham10000", tiny_ham, tmp_path / "work", progress=False)
    return tmp_path / "work"


def write_set(folder: Path, workdir: Path, rows: list[dict], **info: object) -> Path:
    """A hand-written synthetic set whose rows all point at one real image copied into the set."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    prepared = load_prepared(workdir)
    shutil.copy(prepared.image_file(prepared.manifest.iloc[0]), folder / "images" / "a.jpg")
    defaults = {
        "image_path": "images/a.jpg",
        "mask_path": "",
        "label": "nv",
        "mode": "intra",
        "source_image_id": "",
        "source_split": "train",
        "seed": 1,
        "guidance": 2.5,
        "generator_checksum": "abc",
        "measurements": "[0.5, 1.0]",
    }
    frame = pd.DataFrame([{**defaults, "image_id": f"syn_{i}", **row} for i, row in enumerate(rows)])
    frame[list(SYNTHETIC_COLUMNS)].to_csv(folder / "manifest.csv", index=False)
    meta = {
        "kind": SYNTHETIC_KIND,
        "format_version": 1,
        "workdir": str(workdir.resolve()),
        "generator": {"name": "test"},
        "per_class": 1,
        **info,
    }
    (folder / "synthetic.json").write_text(json.dumps(meta))
    return folder


def first_image(workdir: Path, split: str) -> str:
    manifest = load_prepared(workdir).manifest
    return str(manifest.loc[manifest["split"] == split, "image_id"].iloc[0])


def test_load_synthetic_reads_the_format(workdir: Path, tmp_path: Path) -> None:
    folder = write_set(
        tmp_path / "syn", workdir, [{"source_image_id": first_image(workdir, "train")}, {"mode": "free"}]
    )
    syn = load_synthetic(folder)
    assert syn.root == folder.resolve() and syn.workdir == workdir.resolve()
    assert list(syn.manifest["image_id"]) == ["syn_0", "syn_1"]
    assert syn.manifest["seed"].dtype == np.int64 and syn.manifest["guidance"].dtype == np.float64
    assert syn.image_file(syn.manifest.iloc[0]) == (folder / "images" / "a.jpg").resolve()
    assert syn.mask_file(syn.manifest.iloc[0]) is None
    assert json.loads(syn.manifest.loc[0, "measurements"]) == [0.5, 1.0]
    check_sources(syn, load_prepared(workdir))  # a train source and a free-mode row: accepted


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "synthetic set not found"),
        ("no_json", "not a synthetic set (no synthetic.json)"),
        ("kind", "not a synthetic set (kind 'other'"),
        ("version", "synthetic format version 2, this skinaug reads 1"),
        ("no_manifest", "manifest.csv: not found; the synthetic set is incomplete"),
        ("columns", "missing column(s) guidance"),
        ("label", "unknown label 'cat' for image syn_0"),
        ("mode", "unknown mode 'magic'"),
        ("escape", "'../x.png' leaves the synthetic set's folder"),
        ("escape_mask", "'../../m.png' leaves the synthetic set's folder"),
    ],
)
def test_load_synthetic_errors_are_one_line(workdir: Path, tmp_path: Path, damage: str, message: str) -> None:
    folder = write_set(tmp_path / "syn", workdir, [{}])
    manifest = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    if damage == "missing":
        folder = tmp_path / "nowhere"
    elif damage == "no_json":
        (folder / "synthetic.json").unlink()
    elif damage in ("kind", "version"):
        info = json.loads((folder / "synthetic.json").read_text())
        info.update(kind="other") if damage == "kind" else info.update(format_version=2)
        (folder / "synthetic.json").write_text(json.dumps(info))
    elif damage == "no_manifest":
        (folder / "manifest.csv").unlink()
    else:
        if damage == "columns":
            manifest = manifest.drop(columns="guidance")
        else:
            column, value = {
                "label": ("label", "cat"),
                "mode": ("mode", "magic"),
                "escape": ("image_path", "../x.png"),
                "escape_mask": ("mask_path", "../../m.png"),
            }[damage]
            manifest[column] = value
        manifest.to_csv(folder / "manifest.csv", index=False)
    with pytest.raises(SkinaugError) as err:
        load_synthetic(folder)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_sources_from_val_or_test_are_refused(tiny_ham: Path, workdir: Path, tmp_path: Path) -> None:
    prepared = load_prepared(workdir)
    val = first_image(workdir, "val")
    folder = write_set(
        tmp_path / "syn",
        workdir,
        [{"source_image_id": first_image(workdir, "train")}, {"source_image_id": val}, {"source_image_id": val}],
    )
    with pytest.raises(
        SkinaugError,
        match=f"2 of 3 synthetic image.*syn_1 was made from {val} which is in the "
        "val split; synthetic sources must come from train only",
    ):
        check_sources(load_synthetic(folder), prepared)

    prepare_dataset("ham10000", tiny_ham, tmp_path / "work2", split=SplitConfig(0.5, 0.0, 0.5), progress=False)
    test = first_image(tmp_path / "work2", "test")
    folder = write_set(tmp_path / "syn2", tmp_path / "work2", [{"source_image_id": test}])
    with pytest.raises(SkinaugError, match=f"made from {test} which is in the test split"):
        check_sources(load_synthetic(folder), load_prepared(tmp_path / "work2"))

    folder = write_set(tmp_path / "syn3", workdir, [{"source_image_id": "ISIC_unknown"}])
    with pytest.raises(SkinaugError, match="ISIC_unknown which is not in the work directory"):
        check_sources(load_synthetic(folder), prepared)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*.png")}


def test_copy_set_is_made_from_train_images_with_aligned_masks(workdir: Path, tmp_path: Path) -> None:
    syn = write_copy_set(workdir, tmp_path / "syn", per_class=3, progress=False)
    prepared = load_prepared(workdir)
    manifest = syn.manifest
    assert len(manifest) == 21 and (manifest.groupby("label").size() == 3).all()
    assert set(manifest["label"]) == set(CLASSES) and manifest["image_id"].is_unique
    assert (manifest["mode"] == "copy").all() and (manifest["source_split"] == "train").all()
    check_sources(syn, prepared)
    assert syn.info["per_class"] == 3 and syn.info["workdir"] == str(workdir.resolve())
    assert _files(syn.root) == set(manifest["image_path"]) | set(manifest["mask_path"])
    sources = prepared.manifest.set_index("image_id")
    for _, row in manifest.iterrows():
        source = sources.loc[row["source_image_id"]]
        assert source["label"] == row["label"] and row["image_path"] == f"images/{row['label']}/{row['image_id']}.png"
        copy, mask = load_rgb(syn.image_file(row)).astype(float), load_mask(syn.mask_file(row))
        original = load_rgb(prepared.image_file(source)).astype(float)
        source_mask = load_mask(prepared.mask_file(source), (64, 48))
        variants = [np.rot90(a, k) for a in (original, original[:, ::-1], original[::-1]) for k in range(4)]
        masks = [np.rot90(a, k) for a in (source_mask, source_mask[:, ::-1], source_mask[::-1]) for k in range(4)]
        errors = [np.abs(v - copy).mean() if v.shape == copy.shape else np.inf for v in variants]
        best = int(np.argmin(errors))
        assert errors[best] < 15  # a flipped/rotated copy with a small colour shift
        assert np.array_equal(masks[best], mask)  # the mask moved with the image
        # a quarter turn of a 4:3 image would be squashed differently into a square: a mark of copies
        assert copy.shape == original.shape


def test_copy_set_is_idempotent_and_resumes_after_an_interruption(workdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "syn"
    first = write_copy_set(workdir, out, per_class=3, seed=5, progress=False)
    content = {name: (out / name).read_bytes() for name in _files(out)}
    mtimes = {name: (out / name).stat().st_mtime_ns for name in content}
    again = write_copy_set(workdir, out, per_class=3, seed=5, progress=False)
    pd.testing.assert_frame_equal(first.manifest, again.manifest)
    assert {name: (out / name).stat().st_mtime_ns for name in content} == mtimes  # nothing rewritten

    (out / "manifest.csv").unlink()  # simulated interruption: the manifest is written last
    deleted = sorted(first.manifest["image_path"])[::5] + [first.manifest["mask_path"].iloc[1]]
    for name in deleted:
        (out / name).unlink()
    (out / "images" / "nv" / ".copy_nv_00001.png.x1y2.tmp").write_bytes(b"half")
    with pytest.raises(SkinaugError, match="incomplete"):
        load_synthetic(out)
    resumed = write_copy_set(workdir, out, per_class=3, seed=5, progress=False)
    pd.testing.assert_frame_equal(first.manifest, resumed.manifest)
    assert {name: (out / name).read_bytes() for name in _files(out)} == content  # same images, same bytes
    assert not list(out.rglob("*.tmp"))

    topped = write_copy_set(workdir, out, per_class=5, seed=5, progress=False)
    assert (topped.manifest.groupby("label").size() == 5).all() and topped.manifest["image_id"].is_unique
    assert all((out / name).read_bytes() == data for name, data in content.items())
    assert _files(out) == set(topped.manifest["image_path"]) | set(topped.manifest["mask_path"])
    fewer = write_copy_set(workdir, out, per_class=2, seed=5, progress=False)
    assert len(fewer.manifest) == 14 and _files(out) == set(fewer.manifest["image_path"]) | set(
        fewer.manifest["mask_path"]
    )


def test_copy_set_refuses_foreign_folders_and_another_seed(workdir: Path, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(SkinaugError, match="not a synthetic set.*empty or new folder"):
        write_copy_set(workdir, tmp_path / "busy", per_class=1, progress=False)
    write_copy_set(workdir, tmp_path / "syn", per_class=1, seed=0, progress=False)
    with pytest.raises(SkinaugError, match="'seed': 0.*use the same settings to top it up, or another folder"):
        write_copy_set(workdir, tmp_path / "syn", per_class=1, seed=1, progress=False)


def test_an_interrupted_top_up_leaves_no_stale_manifest(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import skinaug.synthetic as synthetic

    out = tmp_path / "syn"
    write_copy_set(workdir, out, per_class=1, progress=False)
    real_make, calls = synthetic._make_copy, []

    def failing(*args: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_make(*args)

    monkeypatch.setattr(synthetic, "_make_copy", failing)
    with pytest.raises(KeyboardInterrupt):
        write_copy_set(workdir, out, per_class=3, workers=1, progress=False)
    with pytest.raises(SkinaugError, match="incomplete"):
        load_synthetic(out)  # the old manifest (1 per class) is gone, the new one not yet written
    monkeypatch.setattr(synthetic, "_make_copy", real_make)
    done = write_copy_set(workdir, out, per_class=3, progress=False)
    assert (done.manifest.groupby("label").size() == 3).all()
    assert _files(out) == set(done.manifest["image_path"]) | set(done.manifest["mask_path"])


def test_a_set_made_from_another_work_directory_is_refused(workdir: Path, tiny_ham: Path, tmp_path: Path) -> None:
    syn = write_copy_set(workdir, tmp_path / "syn", per_class=1, progress=False)
    prepare_dataset("ham10000", tiny_ham, tmp_path / "other", SplitConfig(seed=5), progress=False)
    with pytest.raises(SkinaugError, match="made from another split .* its train images may be this split's val/test"):
        check_sources(syn, load_prepared(tmp_path / "other"))
    manifest = syn.manifest.copy()
    manifest.loc[0, "source_image_id"] = ""
    with pytest.raises(SkinaugError, match="names no source image"):
        check_sources(type(syn)(syn.root, manifest, syn.info), load_prepared(workdir))
