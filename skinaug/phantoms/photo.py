"""One dermoscopy-like photograph: skin, the lesion, hair, lighting, vignetting, field of view, blur and noise."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..labels import CLASSES
from .lesion import Lesion
from .lesion_drawing import draw_lesion
from .palette import BLACK, BROWN_RAMP, ERYTHEMA, jitter, mix, sample_skin
from .raster import Frame, draw_layer, lerp_into, noise_image, smoothstep, upsample
from .recipes import RECIPES

View = tuple[float, float, float, float]  # shift x, shift y (units of min side), extra rotation, zoom


@dataclass
class Subject:
    """A lesion with its surroundings: skin tone, hair and dermoscope (shared by its photographs)."""

    lesion: Lesion
    skin: np.ndarray
    hairs: int
    hair_colour: np.ndarray
    circle: bool


def sample_subject(label: str, rng: np.random.Generator, hair_probability: float, circle_probability: float) -> Subject:
    """A new lesion of class `label` with its skin, hair and dermoscope."""
    if label not in RECIPES:
        raise ValueError(f"unknown label {label!r}; expected one of {', '.join(CLASSES)}")
    lesion = RECIPES[label](rng)
    skin = sample_skin(rng)
    hairs = int(rng.integers(1, 16)) if rng.random() < hair_probability else 0
    hair_colour = jitter(rng, mix(BLACK, BROWN_RAMP[2], rng.uniform(0, 0.8)), 0.05)
    return Subject(lesion, skin, hairs, hair_colour, bool(rng.random() < circle_probability))


def sample_view(rng: np.random.Generator, first: bool) -> View:
    """A photograph's shift (x, y; units of min side), extra rotation and zoom relative to the lesion."""
    if first:
        return 0.0, 0.0, 0.0, 1.0
    return (
        float(rng.normal(0, 0.05)),
        float(rng.normal(0, 0.04)),
        float(rng.normal(0, 0.3)),
        float(rng.uniform(0.9, 1.1)),
    )


def draw_photo(
    subject: Subject, rng: np.random.Generator, width: int, height: int, view: View
) -> tuple[np.ndarray, np.ndarray]:
    """Photograph `subject` from `view`: (uint8 HxWx3 RGB image, bool HxW lesion mask)."""
    les = subject.lesion
    unit = min(width, height) * view[3]
    centre = (
        width / 2 + (les.centre[0] + view[0]) * min(width, height),
        height / 2 + (les.centre[1] + view[1]) * min(width, height),
    )
    frame = Frame(width, height, centre, les.angle + view[2], unit)
    img = _skin(subject.skin, rng, width, height)
    mask = draw_lesion(img, les, frame, rng)
    if subject.hairs:
        _draw_hair(img, subject, rng)
    img *= _lighting(rng, width, height, subject.circle)[..., None]
    img *= jitter(rng, (1.0, 1.0, 1.0), 0.025)
    img += float(rng.uniform(0.006, 0.02)) * rng.standard_normal((height, width), dtype=np.float32)[..., None]
    out = Image.fromarray(np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8))
    out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.25, 0.8))))
    return np.asarray(out, dtype=np.uint8).copy(), mask


def render_phantom(
    label: str,
    rng: np.random.Generator,
    width: int = 200,
    height: int = 150,
    *,
    hair_probability: float = 0.3,
    circle_probability: float = 0.15,
) -> tuple[np.ndarray, np.ndarray]:
    """One phantom photograph of a new lesion of class `label`: (uint8 HxWx3 RGB image, bool HxW mask)."""
    subject = sample_subject(label, rng, hair_probability, circle_probability)
    return draw_photo(subject, rng, width, height, sample_view(rng, first=True))


def _skin(tone: np.ndarray, rng: np.random.Generator, W: int, H: int) -> np.ndarray:
    """Skin of the given tone with reddish blotches and grain (HxWx3 float)."""
    img = np.empty((H, W, 3), dtype=np.float32)
    img[:] = tone
    blotch = upsample(rng.standard_normal((4, 5)).astype(np.float32), W, H, Image.Resampling.BICUBIC)
    lerp_into(img, ERYTHEMA, np.clip(blotch, 0, None) * float(rng.uniform(0.05, 0.25)))
    grain = float(rng.uniform(0.01, 0.025)) * noise_image(rng, W, H, 4)
    grain += float(rng.uniform(0.01, 0.03)) * noise_image(rng, W, H, 2)
    img *= (1 + grain)[..., None]
    return img


def _draw_hair(img: np.ndarray, subject: Subject, rng: np.random.Generator) -> None:
    """Blend about `subject.hairs` curved hairs, mostly in one direction, into `img`."""
    H, W = img.shape[:2]
    n = max(1, int(round(subject.hairs * rng.uniform(0.7, 1.3))))
    base_dir = rng.uniform(0, math.pi)
    diag = math.hypot(W, H)
    thick = 2 if min(W, H) >= 120 and rng.random() < 0.2 else 1

    def paint(dr: ImageDraw.ImageDraw) -> None:
        t = np.linspace(0, 1, 24)[:, None]
        for _ in range(n):
            ang = base_dir + rng.normal(0, 0.6)
            length = rng.uniform(0.15, 0.6) * diag
            mid = np.array([rng.uniform(0, W), rng.uniform(0, H)])
            u = np.array([math.cos(ang), math.sin(ang)])
            p0, p2 = mid - u * length / 2, mid + u * length / 2
            p1 = mid + np.array([-u[1], u[0]]) * rng.normal(0, 0.3) * length
            pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
            dr.line([tuple(p) for p in pts.tolist()], fill=int(rng.uniform(110, 255)), width=thick, joint="curve")

    layer = draw_layer(W, H, paint, 0.45)
    lerp_into(img, subject.hair_colour, float(rng.uniform(0.8, 0.95)) * layer)


def _lighting(rng: np.random.Generator, W: int, H: int, circle: bool) -> np.ndarray:
    """Brightness per pixel: exposure, a gradient, vignetting and, if `circle`, the round field of view."""
    ys = (np.arange(H, dtype=np.float32) - H / 2)[:, None] / (min(W, H) / 2)
    xs = (np.arange(W, dtype=np.float32) - W / 2)[None, :] / (min(W, H) / 2)
    ox, oy = rng.normal(0, 0.1, 2)
    r2 = (xs - ox) ** 2 + (ys - oy) ** 2
    gx, gy = rng.normal(0, 0.04, 2)
    vignette = 1 - float(rng.uniform(0.05, 0.3)) * (r2 / 2.8) ** 1.3
    light = float(rng.uniform(0.93, 1.07)) * (1 + gx * xs + gy * ys) * vignette
    if circle:
        radius = float(rng.uniform(1.2, 1.45))
        light *= 0.06 + 0.94 * smoothstep(np.sqrt(r2), radius + 0.04, radius - 0.04)
    return light
