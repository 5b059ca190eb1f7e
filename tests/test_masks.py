"""Mask binarisation: every encoding a lesion mask arrives in is read as it looks, resized with nearest.

Each synthetic mask is written with PIL into tmp_path with a known lesion (a rectangle, or a disc for the
anti-aliased cases), and `load_mask` must give back exactly that region.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from skinaug.errors import SkinaugError
from skinaug.masks import MASK_EMPTY, MASK_FULL, MASK_MISSING, MASK_OK, MASK_UNREADABLE, binarise, check_mask, load_mask

W, H = 40, 30  # mask size (width, height)
ROWS, COLS = slice(8, 20), slice(10, 30)  # the lesion rectangle


def lesion() -> np.ndarray:
    region = np.zeros((H, W), dtype=bool)
    region[ROWS, COLS] = True
    return region


def grey(inside: int, outside: int = 0, dtype=np.uint8, shape=(H, W)) -> np.ndarray:
    arr = np.full(shape, outside, dtype=dtype)
    arr[ROWS, COLS] = inside
    return arr


def palette_image(
    indices: np.ndarray, colours: dict[int, tuple[int, int, int]] | None = None, ramp=None
) -> Image.Image:
    """A P-mode image with the given indices; palette from `ramp(i)` for all 256 entries, then `colours`."""
    img = Image.frombytes("P", (indices.shape[1], indices.shape[0]), indices.astype(np.uint8).tobytes())
    entries = [ramp(i) if ramp else (0, 0, 0) for i in range(256)]
    for index, colour in (colours or {}).items():
        entries[index] = colour
    img.putpalette([c for rgb in entries for c in rgb])
    return img


def rgb_with(colour: tuple[int, int, int], background=(0, 0, 0)) -> Image.Image:
    arr = np.empty((H, W, 3), dtype=np.uint8)
    arr[:] = background
    arr[ROWS, COLS] = colour
    return Image.fromarray(arr, mode="RGB")


def rgba_alpha_only(rgb=(0, 0, 0)) -> Image.Image:
    arr = np.empty((H, W, 4), dtype=np.uint8)
    arr[:, :, :3] = rgb
    arr[:, :, 3] = grey(255)
    return Image.fromarray(arr, mode="RGBA")


def save(img: Image.Image, path: Path, **kwargs) -> Path:
    img.save(path, **kwargs)
    return path


# name -> (PIL image builder, file suffix, expected mode when re-opened)
EXACT_CASES = {
    "L_0_255": (lambda: Image.fromarray(grey(255)), "png", "L"),
    "L_0_1_looks_black": (lambda: Image.fromarray(grey(1)), "png", "L"),
    "L_0_1_bmp": (lambda: Image.fromarray(grey(1)), "bmp", "L"),
    "L_grey_levels": (lambda: Image.fromarray(grey(200, 30)), "png", "L"),
    "P_normal_palette": (lambda: palette_image(grey(1), {0: (0, 0, 0), 1: (255, 255, 255)}), "png", "P"),
    "P_grey_ramp": (lambda: palette_image(grey(255), ramp=lambda i: (i, i, i)), "png", "P"),
    # HAM10000's Tschandl P masks: index i renders as 255 - i; the lesion is index 0 (white).
    "P_inverted_palette": (lambda: palette_image(grey(0, outside=255), ramp=lambda i: (255 - i,) * 3), "png", "P"),
    "P_coloured_red": (lambda: palette_image(grey(1), {0: (0, 0, 0), 1: (255, 0, 0)}), "png", "P"),
    "P_coloured_dark_red_voc": (lambda: palette_image(grey(1), {0: (0, 0, 0), 1: (128, 0, 0)}), "png", "P"),
    "P_bmp_inverted": (lambda: palette_image(grey(0, outside=255), ramp=lambda i: (255 - i,) * 3), "bmp", "P"),
    "RGB_white": (lambda: rgb_with((255, 255, 255)), "png", "RGB"),
    "RGB_red": (lambda: rgb_with((255, 0, 0)), "png", "RGB"),
    "RGB_green_on_grey": (lambda: rgb_with((0, 220, 0), background=(40, 40, 40)), "png", "RGB"),
    "RGB_red_on_grey": (lambda: rgb_with((255, 0, 0), background=(90, 90, 90)), "png", "RGB"),  # brightest channel
    "RGB_bmp_blue": (lambda: rgb_with((0, 0, 255)), "bmp", "RGB"),
    "RGBA_alpha_only_black": (lambda: rgba_alpha_only((0, 0, 0)), "png", "RGBA"),
    "RGBA_alpha_only_white": (lambda: rgba_alpha_only((255, 255, 255)), "png", "RGBA"),
    "RGBA_opaque_white": (
        lambda: Image.fromarray(np.dstack([grey(255)] * 3 + [np.full((H, W), 255, np.uint8)])),
        "png",
        "RGBA",
    ),
    "1bit_png": (lambda: Image.fromarray(grey(255)).convert("1"), "png", "1"),
    "1bit_bmp": (lambda: Image.fromarray(grey(255)).convert("1"), "bmp", "1"),
    "I16_full_range": (lambda: Image.fromarray(grey(65535, dtype=np.uint16)), "png", "I;16"),
    "I16_0_1": (lambda: Image.fromarray(grey(1, dtype=np.uint16)), "png", "I;16"),
    "I16_0_1000": (lambda: Image.fromarray(grey(1000, dtype=np.uint16)), "png", "I;16"),
    "LA_alpha": (
        lambda: Image.fromarray(np.dstack([grey(255), np.full((H, W), 255, np.uint8)]), mode="LA"),
        "png",
        "LA",
    ),
    "TIFF_L": (lambda: Image.fromarray(grey(255)), "tif", "L"),
}


@pytest.mark.parametrize("name", sorted(EXACT_CASES))
def test_load_mask_recovers_the_lesion_exactly(tmp_path, name):
    build, suffix, mode = EXACT_CASES[name]
    path = save(build(), tmp_path / f"{name}.{suffix}")
    with Image.open(path) as check:
        assert check.mode == mode, "the test did not write the mask mode it means to test"
    mask = load_mask(path)
    assert mask.dtype == bool
    assert mask.shape == (H, W)
    np.testing.assert_array_equal(mask, lesion())


def test_inverted_palette_is_read_as_it_looks_not_by_raw_index(tmp_path):
    """Guard that the inverted-palette case really is a trap: reading raw indices gives the complement."""
    path = save(palette_image(grey(0, outside=255), ramp=lambda i: (255 - i,) * 3), tmp_path / "inv.png")
    with Image.open(path) as img:
        raw = np.asarray(img)
        assert img.mode == "P"
    np.testing.assert_array_equal(raw > 127, ~lesion())
    np.testing.assert_array_equal(load_mask(path), lesion())
    assert check_mask(path, (W, H)).fraction == pytest.approx(lesion().mean())


def antialiased_disc(width: int, height: int, cx: float, cy: float, r: float, scale: int = 8) -> np.ndarray:
    """A disc drawn at `scale`x and box-filtered down: grey levels along the edge."""
    big = Image.new("L", (width * scale, height * scale), 0)
    ImageDraw.Draw(big).ellipse([(cx - r) * scale, (cy - r) * scale, (cx + r) * scale, (cy + r) * scale], fill=255)
    return np.asarray(big.resize((width, height), Image.Resampling.BOX))


def true_disc(width: int, height: int, cx: float, cy: float, r: float) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    return (xs + 0.5 - cx) ** 2 + (ys + 0.5 - cy) ** 2 <= r * r


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize("suffix", ["png", "bmp"])
def test_antialiased_L_mask(tmp_path, suffix):
    width, height, cx, cy, r = 160, 120, 75.0, 62.0, 40.0
    values = antialiased_disc(width, height, cx, cy, r)
    assert len(np.unique(values)) > 10, "the disc should have anti-aliased edges"
    path = save(Image.fromarray(values), tmp_path / f"aa.{suffix}")
    mask = load_mask(path)
    assert mask.dtype == bool and mask.shape == (height, width)
    assert iou(mask, true_disc(width, height, cx, cy, r)) >= 0.99


def test_antialiased_mask_with_soft_peak_uses_half_of_its_own_range(tmp_path):
    """A faint anti-aliased mask (peak 120, not 255) is still split halfway between its extremes."""
    width, height, cx, cy, r = 160, 120, 80.0, 60.0, 35.0
    values = (antialiased_disc(width, height, cx, cy, r).astype(np.float64) * 120 / 255).round().astype(np.uint8)
    path = save(Image.fromarray(values), tmp_path / "faint.png")
    assert iou(load_mask(path), true_disc(width, height, cx, cy, r)) >= 0.99


def test_jpeg_mask_with_compression_noise(tmp_path):
    path = save(Image.fromarray(grey(255)), tmp_path / "lossy.jpg", quality=75)
    with Image.open(path) as img:
        assert len(np.unique(np.asarray(img))) > 2, "JPEG should have added ringing"
    assert iou(load_mask(path), lesion()) >= 0.99


def nearest_reference(src: np.ndarray, width: int, height: int) -> np.ndarray:
    """Nearest-neighbour sampling by pixel centres: what resizing a mask must do."""
    h, w = src.shape
    ys = np.floor((np.arange(height) + 0.5) * h / height).astype(int)
    xs = np.floor((np.arange(width) + 0.5) * w / width).astype(int)
    return src[np.ix_(ys, xs)]


def test_half_size_mask_is_resized_to_the_image_with_nearest(tmp_path):
    half = np.zeros((H // 2, W // 2), dtype=np.uint8)
    half[4:10, 5:15] = 255  # lesion() at half scale
    half[1, 1] = 255  # a single pixel must become a 2x2 block, not a blur
    path = save(Image.fromarray(half), tmp_path / "half.png")
    mask = load_mask(path, (W, H))
    assert mask.shape == (H, W)
    assert mask.dtype == bool
    expected = lesion()
    expected[2:4, 2:4] = True
    np.testing.assert_array_equal(mask, expected)


def test_half_size_antialiased_mask_is_binary_after_resize(tmp_path):
    width, height, cx, cy, r = 80, 60, 40.0, 30.0, 18.0
    path = save(Image.fromarray(antialiased_disc(width, height, cx, cy, r)), tmp_path / "aa_half.png")
    mask = load_mask(path, (2 * width, 2 * height))
    assert mask.shape == (2 * height, 2 * width) and mask.dtype == bool
    assert set(np.unique(mask).tolist()) == {False, True}
    np.testing.assert_array_equal(mask, nearest_reference(load_mask(path), 2 * width, 2 * height))
    assert iou(mask, true_disc(2 * width, 2 * height, 2 * cx, 2 * cy, 2 * r)) >= 0.97


@pytest.mark.parametrize("mask_size", [(50, 10), (13, 11), (37, 23), (200, 150)])
def test_mask_of_another_aspect_is_resized_with_nearest(tmp_path, mask_size):
    mw, mh = mask_size
    src = np.zeros((mh, mw), dtype=bool)
    src[mh // 4 : mh // 2 + 1, mw // 3 : (2 * mw) // 3] = True
    # a P inverted-palette mask, so resizing must happen after rendering through the palette
    indices = np.where(src, 0, 255).astype(np.uint8)
    path = save(palette_image(indices, ramp=lambda i: (255 - i,) * 3), tmp_path / "other.png")
    mask = load_mask(path, (W, H))
    assert mask.shape == (H, W)
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, nearest_reference(src, W, H))


def test_check_mask_resizes_to_the_image_size(tmp_path):
    half = np.zeros((H // 2, W // 2), dtype=np.uint8)
    half[4:10, 5:15] = 1  # 0/1 valued
    path = save(Image.fromarray(half), tmp_path / "half01.png")
    result = check_mask(path, (W, H))
    assert result.status == MASK_OK
    assert result.fraction == pytest.approx(lesion().mean())


# --- status: empty, full, missing, unreadable -------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: Image.new("L", (W, H), 0),
        lambda: Image.new("1", (W, H), 0),
        lambda: Image.new("RGB", (W, H), (0, 0, 0)),
        lambda: palette_image(np.full((H, W), 255, np.uint8), ramp=lambda i: (255 - i,) * 3),
        lambda: Image.fromarray(np.zeros((H, W), np.uint16)),
    ],
    ids=["L", "1", "RGB", "P_inverted_all_background", "I16"],
)
def test_empty_mask(tmp_path, build):
    path = save(build(), tmp_path / "empty.png")
    result = check_mask(path, (W, H))
    assert result.status == MASK_EMPTY
    assert result.fraction == 0.0
    assert not load_mask(path).any()


@pytest.mark.parametrize(
    "build",
    [
        lambda: Image.new("L", (W, H), 255),
        lambda: Image.new("L", (W, H), 1),  # a 0/1 mask that is all lesion
        lambda: palette_image(np.zeros((H, W), np.uint8), ramp=lambda i: (255 - i,) * 3),
        lambda: Image.new("RGB", (W, H), (255, 0, 0)),
    ],
    ids=["L_255", "L_1", "P_inverted_all_lesion", "RGB_red"],
)
def test_whole_image_mask_is_full(tmp_path, build):
    path = save(build(), tmp_path / "full.png")
    result = check_mask(path, (W, H))
    assert result.status == MASK_FULL
    assert result.fraction == pytest.approx(1.0)
    assert "100.0%" in result.reason


def test_nearly_whole_image_mask_is_full_but_a_large_lesion_is_ok(tmp_path):
    arr = np.full((100, 100), 255, np.uint8)
    arr[0, :1] = 0  # 99.99 %
    assert check_mask(save(Image.fromarray(arr), tmp_path / "a.png"), (100, 100)).status == MASK_FULL
    arr = np.zeros((100, 100), np.uint8)
    arr[:90] = 255  # 90 %
    result = check_mask(save(Image.fromarray(arr), tmp_path / "b.png"), (100, 100))
    assert result.status == MASK_OK and result.fraction == pytest.approx(0.9)


def test_missing_mask(tmp_path):
    path = tmp_path / "sub" / "ISIC_0000000_segmentation.png"
    result = check_mask(path, (W, H))
    assert result.status == MASK_MISSING
    assert str(path) in result.reason
    assert "not found" in result.reason
    assert np.isnan(result.fraction)
    assert check_mask(None, (W, H)).status == MASK_MISSING


def test_load_mask_missing_raises_naming_the_file(tmp_path):
    path = tmp_path / "nope.png"
    with pytest.raises(SkinaugError) as info:
        load_mask(path)
    assert str(path) in str(info.value) and "not found" in str(info.value)


def _truncated_png(path: Path) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (60, 80), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    "make, problem",
    [
        (
            lambda p: p.write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8))) and p,
            "not a readable image",
        ),
        (_truncated_png, "truncated"),
        (lambda p: p.write_bytes(b"") and p, "empty"),
        (lambda p: p.write_text("this is not a mask\n") and p, "not a readable image"),
    ],
    ids=["garbage_bytes", "truncated_png", "zero_bytes", "text"],
)
def test_unreadable_mask(tmp_path, make, problem):
    path = tmp_path / "ISIC_0000001_segmentation.png"
    make(path)
    assert path.exists()
    result = check_mask(path, (W, H))
    assert result.status == MASK_UNREADABLE
    assert str(path) in result.reason
    assert "mask" in result.reason
    assert problem in result.reason
    assert np.isnan(result.fraction)
    with pytest.raises(SkinaugError, match="mask"):
        load_mask(path)


def test_a_directory_named_like_a_mask_is_unreadable(tmp_path):
    path = tmp_path / "dir_segmentation.png"
    path.mkdir()
    result = check_mask(path, (W, H))
    assert result.status == MASK_UNREADABLE and str(path) in result.reason


def test_binarise_works_on_in_memory_images():
    assert binarise(Image.fromarray(grey(255))).sum() == lesion().sum()
    assert binarise(Image.new("L", (W, H), 0)).sum() == 0


# --- real HAM10000 masks ---------------------------------------------------------------------------

HAM = Path(__file__).resolve().parents[1].parent / "shared/data/HAM10000"
HAM_MASKS = HAM / "HAM10000_segmentations_lesion_tschandl"
PER_MODE = 50


@pytest.mark.real_data
def test_real_masks_of_every_mode_binarise_to_a_plausible_lesion():
    """~50 real masks of each PIL mode: lesion fraction in [1 %, 97 %] and not covering all four corners.

    A few genuine annotations break these bounds (HAM10000 has tiny lesions of 0.4 % of the frame and
    close-ups whose lesion fills the whole image: 40 of 7,993 masks under 1 %, 9 over 97 %, 3 covering
    all corners; checked by eye), so up to 10 % of a sample may fail. Read by raw index, the
    inverted-palette P masks would fail the corner check almost every time.
    """
    if not HAM_MASKS.is_dir():
        pytest.skip(f"real HAM10000 masks not found at {HAM_MASKS}")
    by_mode: dict[str, list[Path]] = {}
    for path in sorted(HAM_MASKS.glob("*_segmentation.png")):
        with Image.open(path) as img:
            by_mode.setdefault(img.mode, []).append(path)
    assert {"L", "P"} <= set(by_mode), f"expected L and P masks, found {sorted(by_mode)}"

    for mode, paths in sorted(by_mode.items()):
        step = max(1, len(paths) // PER_MODE)
        sample = paths[::step][:PER_MODE]  # spread over the whole sorted list, deterministic
        bad, raw_bad = [], 0
        for path in sample:
            mask = load_mask(path)
            with Image.open(path) as img:
                raw = np.asarray(img) > 127  # what a reader of raw index / grey values would get
            problem = implausible(mask)
            if problem:
                bad.append(f"{path.name}: {problem}")
            raw_bad += bool(implausible(raw))
        assert len(bad) <= 0.1 * len(sample), f"mode {mode}: {len(bad)}/{len(sample)} implausible, e.g. {bad[:5]}"
        if mode == "P":  # guard: the sample really holds the inverted-palette trap
            assert raw_bad >= 0.9 * len(sample)


def implausible(mask: np.ndarray) -> str:
    fraction = float(mask.mean())
    if not 0.01 <= fraction <= 0.97:
        return f"lesion fraction {fraction:.1%}"
    if mask[0, 0] and mask[0, -1] and mask[-1, 0] and mask[-1, -1]:
        return "lesion covers all four corners"
    return ""
