"""Reading images: every bad input is one SkinaugError naming the file and the problem; good inputs of any
mode come back as uint8 HxWx3 with the right values."""

from __future__ import annotations

import io
import re
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from skinaug.errors import SkinaugError
from skinaug.images import MAX_IMAGE_PIXELS, MIN_IMAGE_SIDE, image_size, load_rgb, open_image

RNG_IMAGE = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)


def random_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(RNG_IMAGE).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(RNG_IMAGE).save(buf, format="PNG")
    return buf.getvalue()


def png_header_only(width: int, height: int, colour_type: int = 2) -> bytes:
    """A syntactically valid PNG whose IHDR claims width x height but whose IDAT holds only a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def assert_error(path: Path, pattern: str, func=open_image) -> str:
    with pytest.raises(SkinaugError) as info:
        func(path)
    message = str(info.value)
    assert str(path) in message, f"message does not name the file: {message!r}"
    assert re.search(pattern, message), f"message does not name the problem ({pattern}): {message!r}"
    assert "\n" not in message, "the CLI reports the error as a single line"
    return message


# --- bad inputs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("func", [open_image, load_rgb])
def test_jpeg_with_random_bytes_after_the_jfif_header(tmp_path, func):
    data = jpeg_bytes()
    app0_end = 4 + int.from_bytes(data[4:6], "big")  # SOI + APP0 (JFIF) segment
    path = tmp_path / "corrupt.jpg"
    path.write_bytes(data[:app0_end] + random_bytes(len(data) - app0_end, seed=1))
    assert_error(path, r"corrupt|not a readable image", func)


def test_jpeg_cut_in_half(tmp_path):
    data = jpeg_bytes()
    path = tmp_path / "half.jpg"
    path.write_bytes(data[: len(data) // 2])
    assert_error(path, r"truncated")
    assert_error(path, r"truncated", load_rgb)


def test_truncated_png(tmp_path):
    data = png_bytes()
    path = tmp_path / "half.png"
    path.write_bytes(data[: len(data) // 2])
    assert_error(path, r"truncated")


def test_truncated_image_is_an_error_not_grey_pixels():
    """LOAD_TRUNCATED_IMAGES must stay off even if another module switched it on at import time."""
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert_error(path, r"empty file \(0 bytes\)")


def test_missing_file(tmp_path):
    path = tmp_path / "no" / "such.jpg"
    assert_error(path, r"file not found")
    assert_error(path, r"file not found", load_rgb)


def test_directory(tmp_path):
    path = tmp_path / "folder.jpg"
    path.mkdir()
    assert_error(path, r"is a directory")


def test_text_file_renamed_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("lesion notes, not a photograph\n" * 20)
    assert_error(path, r"not a readable image")


def test_random_bytes_named_png(tmp_path):
    path = tmp_path / "noise.png"
    path.write_bytes(random_bytes(4096, seed=3))
    assert_error(path, r"not a readable image")


@pytest.mark.parametrize("size", [(1, 1), (MIN_IMAGE_SIDE - 1, 100), (100, MIN_IMAGE_SIDE - 1)])
def test_too_small(tmp_path, size):
    path = tmp_path / "tiny.png"
    Image.new("RGB", size, (200, 100, 50)).save(path)
    message = assert_error(path, r"too small")
    assert f"{size[0]}x{size[1]}" in message


def test_smallest_allowed_size_is_fine(tmp_path):
    path = tmp_path / "eight.png"
    Image.new("RGB", (MIN_IMAGE_SIDE, MIN_IMAGE_SIDE), (1, 2, 3)).save(path)
    assert load_rgb(path).shape == (MIN_IMAGE_SIDE, MIN_IMAGE_SIDE, 3)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if anything tries to decode pixel data (which would allocate the full image)."""

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"pixel data of a {self.size} image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.parametrize("size", [(20000, 20000), (12000, 12000), (100_000, 1001)])
def test_huge_image_header_is_refused_quickly_without_decoding(tmp_path, no_decoding, size):
    assert size[0] * size[1] > MAX_IMAGE_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(*size))
    assert path.stat().st_size < 200
    start = time.perf_counter()
    assert_error(path, r"too large")
    assert_error(path, r"too large", load_rgb)
    assert time.perf_counter() - start < 1.0


def test_image_over_the_limit_is_refused_even_if_pillow_allows_it(tmp_path, no_decoding, monkeypatch):
    """skinaug's own limit holds when Pillow's bomb check is switched off."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(10_001, 10_000))
    message = assert_error(path, r"too large")
    assert "10001x10000" in message


# Regression (images.py, fixed): the documented limit is MAX_IMAGE_PIXELS = 100,000,000, but open_image turns Pillow's
# DecompressionBombWarning into an error, and Pillow warns from its own default of 89,478,485 pixels, so
# images between 89.5 M and 100 M pixels (e.g. 9600x9600) are refused as "too large". Fix: make Pillow's
# limit agree, e.g. `Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS` at import, or drop the warnings filter.
def test_image_under_the_limit_is_not_called_too_large(tmp_path, monkeypatch):
    def stop(self, *args, **kwargs):
        raise OSError("decoding reached")  # stands in for the (expensive) decode of a legal-size image

    monkeypatch.setattr(ImageFile.ImageFile, "load", stop)
    path = tmp_path / "large_but_legal.png"
    path.write_bytes(png_header_only(9600, 9600, colour_type=0))  # 92.16 M pixels < 100 M
    assert 9600 * 9600 < MAX_IMAGE_PIXELS
    message = assert_error(path, r"decoding reached")
    assert "too large" not in message


# Regression (images.py, fixed): image_size() catches only OSError/UnidentifiedImageError, but Pillow raises
# DecompressionBombError (a plain Exception) from Image.open for headers over 2x its limit, so the raw
# Pillow error escapes. Fix: also catch Image.DecompressionBombError (and say "too large").
def test_image_size_of_a_huge_header_is_a_skinaug_error(tmp_path, no_decoding):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(20000, 20000))
    assert_error(path, r"too large", image_size)


def test_image_size_reads_the_header_only(tmp_path, no_decoding):
    path = tmp_path / "header.png"
    path.write_bytes(png_header_only(640, 480))
    assert image_size(path) == (640, 480)
    assert_error(tmp_path / "missing.png", r"not a readable image", image_size)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about some damaged TIFF tags
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP"])
def test_damaged_files_give_only_skinaug_errors(tmp_path, fmt):
    """Byte flips and cuts in files of every format: a SkinaugError naming the file, or a valid image."""
    source = Image.fromarray(RNG_IMAGE[:24, :32])
    buf = io.BytesIO()
    (source.convert("P") if fmt == "GIF" else source).save(buf, format=fmt)
    data = buf.getvalue()
    rng = np.random.default_rng(7)
    path = tmp_path / f"damaged.{fmt.lower()}"
    for trial in range(40):
        damaged = bytearray(data)
        if trial % 2:
            damaged = damaged[: rng.integers(1, len(damaged))]
        else:
            for _ in range(rng.integers(1, 6)):
                damaged[rng.integers(0, len(damaged))] = rng.integers(0, 256)
        path.write_bytes(bytes(damaged))
        try:
            rgb = load_rgb(path)
        except SkinaugError as exc:
            assert str(path) in str(exc)
        else:
            assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


# --- good inputs -------------------------------------------------------------------------------------


def check_rgb(rgb: np.ndarray, shape: tuple[int, int]) -> None:
    assert rgb.dtype == np.uint8
    assert rgb.shape == (*shape, 3)
    assert rgb.flags.writeable and rgb.flags.c_contiguous


def test_rgb_png_round_trips(tmp_path):
    path = tmp_path / "rgb.png"
    Image.fromarray(RNG_IMAGE).save(path)
    rgb = load_rgb(path)
    check_rgb(rgb, RNG_IMAGE.shape[:2])
    np.testing.assert_array_equal(rgb, RNG_IMAGE)


def test_grayscale_L(tmp_path):
    grey = RNG_IMAGE[:, :, 0]
    path = tmp_path / "grey.png"
    Image.fromarray(grey).save(path)
    rgb = load_rgb(path)
    check_rgb(rgb, grey.shape)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[:, :, channel], grey)


def test_rgba_drops_alpha(tmp_path):
    alpha = np.zeros(RNG_IMAGE.shape[:2], dtype=np.uint8)
    alpha[:, ::2] = 255
    path = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([RNG_IMAGE, alpha]), mode="RGBA").save(path)
    rgb = load_rgb(path)
    check_rgb(rgb, RNG_IMAGE.shape[:2])
    np.testing.assert_array_equal(rgb, RNG_IMAGE)  # colour kept even where fully transparent


def test_palette_P(tmp_path):
    indices = (np.arange(48 * 64) % 4).reshape(48, 64).astype(np.uint8)
    colours = [(255, 0, 0), (0, 128, 0), (10, 20, 250), (200, 200, 200)]
    img = Image.frombytes("P", (64, 48), indices.tobytes())
    img.putpalette([c for rgb in colours for c in rgb] + [0] * (256 - len(colours)) * 3)
    path = tmp_path / "pal.png"
    img.save(path)
    with Image.open(path) as check:
        assert check.mode == "P"
    rgb = load_rgb(path)
    check_rgb(rgb, (48, 64))
    np.testing.assert_array_equal(rgb, np.array(colours, dtype=np.uint8)[indices])


def test_cmyk_jpeg(tmp_path):
    cmyk = np.zeros((32, 48, 4), dtype=np.uint8)
    cmyk[:, :24] = (0, 255, 255, 0)  # red
    cmyk[:, 24:] = (255, 0, 255, 0)  # green
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(cmyk, mode="CMYK").save(path, quality=95)
    with Image.open(path) as check:
        assert check.mode == "CMYK"
    rgb = load_rgb(path)
    check_rgb(rgb, (32, 48))
    np.testing.assert_allclose(rgb[8:24, 4:20].reshape(-1, 3).mean(0), (255, 0, 0), atol=4)
    np.testing.assert_allclose(rgb[8:24, 28:44].reshape(-1, 3).mean(0), (0, 255, 0), atol=4)


def test_16_bit_png_is_scaled_to_8_bit(tmp_path):
    values = np.array([0, 257, 32896, 65535, 1000, 65000, 12850, 128], dtype=np.uint16)
    arr = np.tile(values, (10, 2))  # 10 x 16
    path = tmp_path / "sixteen.png"
    Image.fromarray(arr).save(path)
    with Image.open(path) as check:
        assert check.mode.startswith("I")
        assert int(np.asarray(check).max()) == 65535
    rgb = load_rgb(path)
    check_rgb(rgb, arr.shape)
    expected = np.rint(arr / 257.0).astype(np.uint8)  # 0, 1, 128, 255, 4, 253, 50, 0
    np.testing.assert_array_equal(rgb[:, :, 0], expected)
    np.testing.assert_array_equal(rgb[0, :8, 0], [0, 1, 128, 255, 4, 253, 50, 0])
    assert (rgb[:, :, 0] == rgb[:, :, 1]).all() and (rgb[:, :, 1] == rgb[:, :, 2]).all()


def test_float_F_tiff(tmp_path):
    values = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 0.1, 0.8, 0.002], dtype=np.float32)
    arr = np.tile(values, (9, 2))  # 9 x 16, spans exactly [0, 1]
    path = tmp_path / "float.tif"
    Image.fromarray(arr, mode="F").save(path)
    with Image.open(path) as check:
        assert check.mode == "F"
    rgb = load_rgb(path)
    check_rgb(rgb, arr.shape)
    np.testing.assert_array_equal(rgb[0, :8, 0], [0, 64, 128, 191, 255, 26, 204, 1])
    np.testing.assert_array_equal(rgb[:, :, 0], np.rint(arr.astype(np.float64) * 255).astype(np.uint8))
    assert (rgb[:, :, 0] == rgb[:, :, 2]).all()


def test_one_bit_image(tmp_path):
    arr = np.zeros((16, 16), dtype=np.uint8)
    arr[4:12, 4:12] = 255
    path = tmp_path / "one.png"
    Image.fromarray(arr).convert("1").save(path)
    rgb = load_rgb(path)
    check_rgb(rgb, (16, 16))
    np.testing.assert_array_equal(rgb[:, :, 1], arr)


def test_open_image_returns_a_loaded_image_independent_of_the_file(tmp_path):
    path = tmp_path / "gone.png"
    Image.fromarray(RNG_IMAGE).save(path)
    img = open_image(path)
    path.unlink()
    np.testing.assert_array_equal(np.asarray(img), RNG_IMAGE)
