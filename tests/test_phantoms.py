"""The phantom data set: deterministic, HAM10000-shaped, masks that fit the drawn lesions, learnable classes."""

from __future__ import annotations

import filecmp
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skinaug.errors import SkinaugError
from skinaug.labels import CLASSES
from skinaug.phantoms import (
    HAM_COUNTS,
    IMAGES_DIR,
    MASKS_DIR,
    METADATA_COLUMNS,
    METADATA_NAME,
    PhantomConfig,
    _plan,
    _render_planned,
    class_counts,
    make_phantoms,
    phantom_metadata,
    render_phantom,
)
from skinaug.readers.ham10000 import read_ham10000

CONFIG = PhantomConfig(n=70, seed=3)  # HAM10000's 200x150 size; about a second to write


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("phantoms")
    return root, make_phantoms(root, CONFIG, progress=False)


def _all_files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


# -- the plan -------------------------------------------------------------------------------------


def test_class_counts_follow_ham10000_imbalance() -> None:
    assert class_counts(sum(HAM_COUNTS.values())) == HAM_COUNTS
    counts = class_counts(700)
    assert sum(counts.values()) == 700
    assert counts == {"akiec": 23, "bcc": 36, "bkl": 77, "df": 8, "mel": 78, "nv": 468, "vasc": 10}
    small = class_counts(70)
    assert sum(small.values()) == 70 and min(small.values()) >= 5
    assert max(small, key=small.get) == "nv" and small["nv"] > 0.5 * 70
    assert class_counts(7) == {c: 1 for c in CLASSES}
    with pytest.raises(SkinaugError, match="at least 7"):
        class_counts(6)


def test_config_is_validated() -> None:
    with pytest.raises(SkinaugError, match="n must be"):
        PhantomConfig(n=3)
    with pytest.raises(SkinaugError, match="hair_probability"):
        PhantomConfig(hair_probability=1.5)
    with pytest.raises(SkinaugError, match="width and height"):
        PhantomConfig(width=8)


def test_metadata_is_shaped_like_ham10000() -> None:
    meta = phantom_metadata(PhantomConfig(n=700, seed=1))
    assert tuple(meta.columns) == METADATA_COLUMNS
    assert meta["image_id"].tolist() == [f"PH_{i:07d}" for i in range(700)]
    assert meta["lesion_id"].str.fullmatch(r"PHL_\d{7}").all()
    assert meta["dx"].value_counts().to_dict() == class_counts(700)
    assert set(meta["sex"]) <= {"male", "female", "unknown"}
    ages = meta["age"][meta["age"] != ""].astype(float)
    assert ages.between(0, 85).all() and (ages % 5 == 0).all()
    assert set(meta.loc[meta["dx"] == "mel", "dx_type"]) == {"histo"}
    # several photographs of some lesions, and each lesion has one label and one patient
    per_lesion = meta.groupby("lesion_id")
    sizes = per_lesion.size()
    assert (sizes >= 2).sum() >= 0.15 * len(sizes) and sizes.max() <= 3
    assert (per_lesion[["dx", "dx_type", "age", "sex", "localization"]].nunique() == 1).all().all()


# -- the files ------------------------------------------------------------------------------------


def test_same_config_gives_identical_files(phantoms, tmp_path: Path) -> None:
    root, _ = phantoms
    again = tmp_path / "again"
    make_phantoms(again, CONFIG, progress=False)
    files = _all_files(root)
    assert files == _all_files(again) and len(files) == 2 * CONFIG.n + 1
    match, mismatch, errors = filecmp.cmpfiles(root, again, [str(f) for f in files], shallow=False)
    assert not mismatch and not errors


def test_each_image_depends_only_on_seed_and_index(phantoms) -> None:
    """Drawing one planned image on its own (no earlier images drawn) gives the bytes in the data set."""
    root, _ = phantoms
    for item in [_plan(CONFIG)[i] for i in (41, 7)]:
        image, mask = _render_planned(item, CONFIG)
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="JPEG", quality=CONFIG.jpeg_quality)
        assert buf.getvalue() == (root / IMAGES_DIR / f"{item.image_id}.jpg").read_bytes()
        stored = np.asarray(Image.open(root / MASKS_DIR / f"{item.image_id}_segmentation.png")) > 0
        assert np.array_equal(stored, mask)


def test_another_seed_gives_other_images(phantoms, tmp_path: Path) -> None:
    root, _ = phantoms
    other = PhantomConfig(n=7, seed=CONFIG.seed + 1)
    make_phantoms(tmp_path, other, progress=False)
    first = f"{IMAGES_DIR}/PH_0000000.jpg"
    assert (tmp_path / first).read_bytes() != (root / first).read_bytes()


def test_layout_reads_as_ham10000(phantoms) -> None:
    root, table = phantoms
    assert table.equals(pd.read_csv(root / METADATA_NAME, dtype=str, keep_default_na=False))
    records = read_ham10000(root).records
    assert len(records) == CONFIG.n
    assert records["label"].value_counts().to_dict() == class_counts(CONFIG.n)
    assert (records["mask_path"] != "").all()
    assert records["image_path"].str.startswith(f"{IMAGES_DIR}/").all()
    assert records["mask_path"].str.startswith(f"{MASKS_DIR}/").all()
    assert records["lesion_id"].nunique() < CONFIG.n  # some lesions have several images
    assert records.set_index("image_id")["lesion_id"].to_dict() == table.set_index("image_id")["lesion_id"].to_dict()


def test_masks_fit_the_drawn_lesions(phantoms) -> None:
    root, table = phantoms
    differences = []
    for image_id in table["image_id"]:
        with Image.open(root / IMAGES_DIR / f"{image_id}.jpg") as img:
            assert img.format == "JPEG" and img.mode == "RGB" and img.size == (CONFIG.width, CONFIG.height)
            rgb = np.asarray(img, dtype=np.float64)
        with Image.open(root / MASKS_DIR / f"{image_id}_segmentation.png") as m:
            assert m.mode == "L" and m.size == (CONFIG.width, CONFIG.height)
            values = np.asarray(m)
        assert set(np.unique(values)) <= {0, 255}
        mask = values == 255
        assert 0.005 < mask.mean() < 0.95, image_id
        differences.append(np.linalg.norm(rgb[mask].mean(axis=0) - rgb[~mask].mean(axis=0)))
    # measured on this config: every image >= 11 (faint lesions such as basal cell carcinomas), median about 100
    assert min(differences) > 3 and np.median(differences) > 25


def test_progress_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_phantoms(tmp_path, PhantomConfig(n=7, width=48, height=36), progress=True)
    captured = capsys.readouterr()
    assert "phantoms" in captured.err and captured.out == ""


# -- single images and what they look like ------------------------------------------------------


def test_render_phantom_is_deterministic_and_well_formed() -> None:
    for label in CLASSES:
        image, mask = render_phantom(label, np.random.default_rng(5), 96, 72)
        assert image.shape == (72, 96, 3) and image.dtype == np.uint8
        assert mask.shape == (72, 96) and mask.dtype == bool and 0 < mask.sum() < mask.size
        again, mask_again = render_phantom(label, np.random.default_rng(5), 96, 72)
        assert np.array_equal(image, again) and np.array_equal(mask, mask_again)
    with pytest.raises(ValueError, match="unknown label"):
        render_phantom("cat", np.random.default_rng(0))


def test_images_look_like_dermoscopy() -> None:
    """Skin-coloured surroundings (red > green, blue), lesions darker or redder than the skin."""
    for i, label in enumerate(CLASSES):
        image, mask = render_phantom(label, np.random.default_rng([11, i]), 200, 150)
        rgb = image.astype(np.float64)
        centre = rgb[40:110, 50:150][~mask[40:110, 50:150]] if (~mask[40:110, 50:150]).any() else rgb[~mask]
        skin = centre.mean(axis=0)
        assert skin[0] > skin[1] and skin[0] > skin[2] and 120 < skin[0] < 250, (label, skin)
        lesion = rgb[mask].mean(axis=0)
        assert lesion[1] < skin[1], (label, lesion, skin)  # pigment and blood absorb green


def _colour_features(image: np.ndarray) -> np.ndarray:
    x = image.reshape(-1, 3).astype(np.float32) / 255
    hists = [np.histogram(x[:, c], bins=8, range=(0, 1))[0] for c in range(3)]
    s = x.sum(axis=1) + 1e-3
    chroma = np.histogram2d(x[:, 0] / s, x[:, 1] / s, bins=6, range=[[0.3, 0.6], [0.15, 0.4]])[0].ravel()
    return np.concatenate(hists + [chroma]) / len(x)


def test_classes_are_learnable_but_not_trivial() -> None:
    """A random forest on colour histograms of 315 tiny phantoms (45 per class, 64x48 px).

    Measured: balanced accuracy 0.65 (chance is 1/7 = 0.14): every class has its own look, but
    naevi and melanomas, for instance, overlap.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import balanced_accuracy_score

    features, labels = [], []
    for c, label in enumerate(CLASSES):
        for j in range(45):
            image, _ = render_phantom(label, np.random.default_rng([7, c, j]), 64, 48)
            features.append(_colour_features(image))
            labels.append(c)
    x, y = np.asarray(features), np.asarray(labels)
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[: 2 * len(y) // 3], order[2 * len(y) // 3 :]
    model = RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=1).fit(x[train], y[train])
    score = balanced_accuracy_score(y[test], model.predict(x[test]))
    assert 0.45 < score < 0.97, score
