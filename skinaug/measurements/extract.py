"""Radiomics measurements of one lesion: pyradiomics 2-D features inside the mask, plus colour."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy import ndimage

from ..errors import SkinaugError
from ..images import load_rgb
from ..masks import MASK_OK, classify_mask, load_mask
from .colour import luma, rgb_to_lab
from .settings import MeasureSettings

STATUS_OK = "ok"
STATUS_FAILED = "failed"


@dataclass
class Measurement:
    """The features of one image (name -> value, NaN where undefined), or why there are none."""

    status: str
    reason: str = ""
    features: dict[str, float] = field(default_factory=dict)


def _pyradiomics_extractor(bin_width: float, classes: tuple[str, ...]):  # noqa: ANN202 (pyradiomics type)
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    extractor = featureextractor.RadiomicsFeatureExtractor(
        binWidth=bin_width, force2D=True, force2Ddimension=0, label=1, minimumROIDimensions=2, additionalInfo=False
    )
    extractor.disableAllFeatures()
    for name in classes:
        extractor.enableFeatureClassByName(name)
    return extractor


def _clean(raw: dict, prefix: str) -> dict[str, float]:
    """pyradiomics output -> {prefix + class_feature: float}, inf -> NaN, diagnostics dropped."""
    out: dict[str, float] = {}
    for key, value in raw.items():
        if not key.startswith("original_"):
            continue
        number = float(value)
        out[prefix + key[len("original_") :]] = number if math.isfinite(number) else float("nan")
    return out


def _downscale(rgb: np.ndarray, mask: np.ndarray, max_side: int) -> tuple[np.ndarray, np.ndarray]:
    height, width = mask.shape
    scale = max_side / max(height, width)
    if scale >= 1:
        return rgb, mask
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))
    small_mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.NEAREST))
    return small, small_mask > 127


def skin_contrast(lab: np.ndarray, mask: np.ndarray, ring_fraction: float) -> dict[str, float]:
    """Colour difference between the lesion and a ring of surrounding skin (NaN if there is no skin)."""
    diameter = 2.0 * math.sqrt(mask.sum() / math.pi)
    width = max(2, round(ring_fraction * diameter))
    ring = ndimage.binary_dilation(mask, iterations=width) & ~mask
    if ring.sum() < 8:
        nan = float("nan")
        return {"colour_LesionSkinDeltaE": nan, "colour_LesionSkinDeltaL": nan}
    inside, outside = lab[mask].mean(axis=0), lab[ring].mean(axis=0)
    return {
        "colour_LesionSkinDeltaE": float(np.linalg.norm(inside - outside)),
        "colour_LesionSkinDeltaL": float(inside[0] - outside[0]),
    }


class LesionMeasurer:
    """Computes the measurements of image/mask pairs; build once per process (pyradiomics setup)."""

    def __init__(self, settings: MeasureSettings = MeasureSettings()) -> None:
        self.settings = settings
        self._grey = _pyradiomics_extractor(settings.grey_bin_width, settings.grey_feature_classes)
        self._lab = _pyradiomics_extractor(settings.lab_bin_width, ("firstorder",))

    def measure_arrays(self, rgb: np.ndarray, mask: np.ndarray) -> dict[str, float]:
        """Features of an RGB uint8 image and a boolean mask of the same size."""
        import SimpleITK as sitk

        rgb, mask = _downscale(rgb, mask, self.settings.max_side)
        if int(mask.sum()) < self.settings.min_lesion_pixels:
            raise SkinaugError(f"lesion too small ({int(mask.sum())} px < {self.settings.min_lesion_pixels})")
        sitk_mask = sitk.GetImageFromArray(mask.astype(np.uint8))
        features = _clean(self._grey.execute(sitk.GetImageFromArray(luma(rgb)), sitk_mask), "")
        features = {(k if k.startswith("shape2D_") else "grey_" + k): v for k, v in features.items()}
        lab = rgb_to_lab(rgb)
        if self.settings.lab_first_order:
            for index, channel in enumerate("Lab"):
                image = sitk.GetImageFromArray(np.ascontiguousarray(lab[..., index]))
                features.update(_clean(self._lab.execute(image, sitk_mask), f"{channel}_"))
        if self.settings.skin_contrast:
            features.update(skin_contrast(lab, mask, self.settings.skin_ring_fraction))
        return features

    def measure_files(self, image: str | os.PathLike[str], mask: str | os.PathLike[str] | None) -> Measurement:
        """Measure one image file with its mask file; never raises for bad input, returns status instead."""
        if mask is None or str(mask) == "":
            return Measurement(STATUS_FAILED, f"{image}: no mask")
        try:
            rgb = load_rgb(image)
            lesion = load_mask(mask, (rgb.shape[1], rgb.shape[0]))
            check = classify_mask(lesion)
            if check.status != MASK_OK:
                raise SkinaugError(f"{mask}: {check.reason}")
            features = self.measure_arrays(rgb, lesion)
        except SkinaugError as exc:
            text = str(exc)
            return Measurement(STATUS_FAILED, text if str(image) in text or str(mask) in text else f"{image}: {text}")
        except Exception as exc:  # pyradiomics/SimpleITK raise many types; one image must not stop a run
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return Measurement(STATUS_FAILED, f"{image}: feature extraction failed ({detail})")
        if all(math.isnan(v) for v in features.values()):
            return Measurement(STATUS_FAILED, f"{image}: every feature is undefined")
        return Measurement(STATUS_OK, "", features)
