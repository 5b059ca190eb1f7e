"""Draw real HAM10000 lesion masks over their images, a few of each PIL mode, to check binarisation by eye.

HAM10000's Tschandl masks come in two encodings: mode 'L' (0 background, 255 lesion, anti-aliased edges)
and mode 'P' with an inverted palette (index i renders as grey 255 - i; the lesion is stored as index 0,
so it renders white). `skinaug.masks.load_mask` reads a mask as it looks, so in both cases the outline
must hug the lesion. The label gives the mode, the file, the lesion fraction as read by `load_mask`
and, for comparison, the fraction a reader of raw index/grey values (> 127) would get.

    python benchmarks/mask_overlays.py [--data ../shared/data/HAM10000] [--out benchmarks/results/mask_overlays.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skinaug.images import load_rgb  # noqa: E402
from skinaug.masks import load_mask  # noqa: E402

MASK_DIR = "HAM10000_segmentations_lesion_tschandl"
IMAGE_DIR = "HAM10000_images"
SUFFIX = "_segmentation.png"
LABEL_H = 30
TINT = np.array([0, 255, 255], dtype=np.float64)  # cyan tint inside the lesion
OUTLINE = np.array([255, 0, 255], dtype=np.uint8)  # magenta outline


def masks_by_mode(mask_dir: Path, per_mode: int) -> dict[str, list[Path]]:
    """The first `per_mode` masks (sorted by name) of each PIL mode found, reading headers only."""
    picked: dict[str, list[Path]] = {}
    for path in sorted(mask_dir.glob(f"*{SUFFIX}")):
        with Image.open(path) as img:
            mode = img.mode
        bucket = picked.setdefault(mode, [])
        if len(bucket) < per_mode:
            bucket.append(path)
    return picked


def outline(mask: np.ndarray) -> np.ndarray:
    """Pixels of the mask whose 4-neighbourhood leaves the mask (1-px inner boundary)."""
    padded = np.pad(mask, 1, mode="constant", constant_values=False)
    interior = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~interior


def tile(image_path: Path, mask_path: Path, mode: str, font: ImageFont.ImageFont) -> Image.Image:
    rgb = load_rgb(image_path)
    height, width = rgb.shape[:2]
    mask = load_mask(mask_path, (width, height))
    with Image.open(mask_path) as raw_img:
        raw = np.asarray(raw_img.resize((width, height), Image.Resampling.NEAREST))
    raw_fraction = float((raw > 127).mean())

    out = rgb.astype(np.float64)
    out[mask] = 0.65 * out[mask] + 0.35 * TINT
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    edge = outline(mask)
    edge = edge | np.roll(edge, 1, axis=1) & mask  # 2 px wide, still inside the lesion
    out[edge] = OUTLINE

    canvas = Image.new("RGB", (width, height + LABEL_H), "white")
    canvas.paste(Image.fromarray(out), (0, 0))
    draw = ImageDraw.Draw(canvas)
    name = mask_path.name.replace(SUFFIX, "")
    draw.text((3, height + 2), f"mode {mode}  {name}", fill="black", font=font)
    draw.text((3, height + 15), f"lesion {mask.mean():.1%} (raw>127: {raw_fraction:.1%})", fill="black", font=font)
    return canvas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared/data/HAM10000",
        help="HAM10000 root (default: ../shared/data/HAM10000)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/mask_overlays.png")
    parser.add_argument("--per-mode", type=int, default=4, help="masks per PIL mode (default 4)")
    args = parser.parse_args(argv)

    mask_dir = args.data / MASK_DIR
    if not mask_dir.is_dir():
        parser.error(f"{mask_dir}: no such folder")
    groups = masks_by_mode(mask_dir, args.per_mode)
    font = ImageFont.load_default()
    rows = []
    for mode in sorted(groups):
        tiles = []
        for mask_path in groups[mode]:
            image_path = args.data / IMAGE_DIR / mask_path.name.replace(SUFFIX, ".jpg")
            tiles.append(tile(image_path, mask_path, mode, font))
            print(f"{mode:2s} {mask_path.name}")
        rows.append(tiles)

    tile_w = max(t.width for row in rows for t in row)
    tile_h = max(t.height for row in rows for t in row)
    gap = 4
    cols = max(len(row) for row in rows)
    grid = Image.new("RGB", (cols * tile_w + (cols - 1) * gap, len(rows) * tile_h + (len(rows) - 1) * gap), "grey")
    for r, row in enumerate(rows):
        for c, t in enumerate(row):
            grid.paste(t, (c * (tile_w + gap), r * (tile_h + gap)))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    # a 256-colour palette keeps the PNG small (< 300 KB) and is plenty to judge outlines by eye
    grid.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB, {grid.width}x{grid.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
