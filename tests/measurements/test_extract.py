"""Measurements of one lesion: values that mean what they say, and per-image failure statuses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skinaug.measurements import LesionMeasurer, MeasureSettings
from skinaug.measurements.colour import rgb_to_lab

from ..conftest import draw_lesion


@pytest.fixture(scope="module")
def measurer() -> LesionMeasurer:
    return LesionMeasurer()


def test_lab_conversion_matches_published_reference_values() -> None:
    # CIE L*a*b* (D65) of sRGB primaries as tabulated by Bruce Lindbloom's calculator
    colours = np.array([[[255, 255, 255], [255, 0, 0], [0, 0, 255], [0, 0, 0]]], dtype=np.uint8)
    lab = rgb_to_lab(colours)[0]
    np.testing.assert_allclose(lab[0], [100.0, 0.0, 0.0], atol=0.05)
    np.testing.assert_allclose(lab[1], [53.24, 80.09, 67.20], atol=0.1)
    np.testing.assert_allclose(lab[2], [32.30, 79.19, -107.86], atol=0.1)
    np.testing.assert_allclose(lab[3], [0.0, 0.0, 0.0], atol=1e-6)


def test_features_cover_all_classes_and_track_the_lesion(measurer: LesionMeasurer) -> None:
    rgb, mask = draw_lesion(120, 90, 20, (90, 50, 40), seed=1)
    features = measurer.measure_arrays(rgb, mask)
    prefixes = {
        "shape2D",
        "grey_firstorder",
        "grey_glcm",
        "grey_glrlm",
        "grey_glszm",
        "grey_gldm",
        "grey_ngtdm",
        "L_firstorder",
        "a_firstorder",
        "b_firstorder",
        "colour",
    }
    assert prefixes == {name.rsplit("_", 1)[0] for name in features}
    assert features["shape2D_PixelSurface"] == mask.sum()
    lab_inside = rgb_to_lab(rgb)[mask]
    assert features["L_firstorder_Mean"] == pytest.approx(lab_inside[:, 0].mean(), rel=1e-6)
    assert features["a_firstorder_Mean"] == pytest.approx(lab_inside[:, 1].mean(), rel=1e-6)
    assert features["colour_LesionSkinDeltaL"] < -20  # a dark lesion on light skin
    bigger = measurer.measure_arrays(*draw_lesion(120, 90, 30, (90, 50, 40), seed=1))
    assert bigger["shape2D_PixelSurface"] > 2 * features["shape2D_PixelSurface"]
    paler = measurer.measure_arrays(*draw_lesion(120, 90, 20, (200, 160, 140), seed=1))
    assert paler["colour_LesionSkinDeltaE"] < features["colour_LesionSkinDeltaE"]


def test_large_images_are_downscaled_to_max_side() -> None:
    rgb, mask = draw_lesion(400, 300, 60, (90, 50, 40), seed=2)
    small = LesionMeasurer(MeasureSettings(max_side=200)).measure_arrays(rgb, mask)
    assert small["shape2D_PixelSurface"] == pytest.approx(mask.sum() / 4, rel=0.03)


def _save(tmp_path: Path, rgb: np.ndarray, mask: np.ndarray) -> tuple[Path, Path]:
    Image.fromarray(rgb).save(tmp_path / "img.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "img_mask.png")
    return tmp_path / "img.png", tmp_path / "img_mask.png"


def test_bad_inputs_give_a_failed_status_with_the_reason(measurer: LesionMeasurer, tmp_path: Path) -> None:
    rgb, mask = draw_lesion(64, 48, 10, (90, 50, 40))
    image, mask_file = _save(tmp_path, rgb, mask)
    assert measurer.measure_files(image, mask_file).status == "ok"
    no_mask = measurer.measure_files(image, None)
    assert no_mask.status == "failed" and "img.png: no mask" in no_mask.reason
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(tmp_path / "empty.png")
    empty = measurer.measure_files(image, tmp_path / "empty.png")
    assert empty.status == "failed" and "empty.png" in empty.reason and "no lesion" in empty.reason
    Image.fromarray(np.full((48, 64), 255, np.uint8)).save(tmp_path / "full.png")
    assert "covers" in measurer.measure_files(image, tmp_path / "full.png").reason
    tiny = np.zeros((48, 64), bool)
    tiny[20:22, 20:22] = True
    Image.fromarray(tiny.astype(np.uint8) * 255).save(tmp_path / "tiny.png")
    assert "too small" in measurer.measure_files(image, tmp_path / "tiny.png").reason
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"garbage" * 50)
    broken = measurer.measure_files(tmp_path / "broken.jpg", mask_file)
    assert broken.status == "failed" and "broken.jpg" in broken.reason and broken.features == {}


def test_undefined_values_are_nan_never_inf(measurer: LesionMeasurer) -> None:
    rgb = np.full((48, 64, 3), 200, np.uint8)  # a lesion with no texture and no colour difference
    mask = np.zeros((48, 64), bool)
    mask[10:30, 10:40] = True
    features = measurer.measure_arrays(rgb, mask)
    values = np.array(list(features.values()))
    assert not np.isinf(values).any()
    assert features["colour_LesionSkinDeltaE"] == pytest.approx(0.0, abs=1e-9)
    assert math.isfinite(features["shape2D_PixelSurface"])
