"""Shared picture helpers: labelled image grids (PIL) and atomic PNG saving of matplotlib figures."""

from __future__ import annotations

import io
import os
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw

from .atomic import atomic_open

FIGURE_DPI = 110


def labelled_grid(
    rows: Sequence[tuple[str, Sequence[np.ndarray | Image.Image]]],
    tile: int = 64,
    label_width: int = 70,
    header: Sequence[str] | None = None,
) -> Image.Image:
    """One row per (label, images): the label on the left, then the images resized to tile x tile.

    `header`: optional column titles drawn above the first row (one per image column)."""
    columns = max((len(images) for _, images in rows), default=1)
    top = 14 if header else 0
    canvas = Image.new("RGB", (label_width + max(1, columns) * tile, top + max(1, len(rows)) * tile), "white")
    draw = ImageDraw.Draw(canvas)
    for c, title in enumerate(header or []):
        draw.text((label_width + c * tile + 2, 1), str(title)[: max(1, tile // 6)], fill="black")
    for r, (label, images) in enumerate(rows):
        draw.text((4, top + r * tile + tile // 2 - 6), label, fill="black")
        for c, image in enumerate(images):
            picture = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
            canvas.paste(picture.convert("RGB").resize((tile, tile)), (label_width + c * tile, top + r * tile))
    return canvas


def save_figure(fig: Any, path: str | os.PathLike[str]) -> None:
    """Write a matplotlib Figure as PNG atomically."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI)
    with atomic_open(path, "wb") as handle:
        handle.write(buffer.getvalue())
