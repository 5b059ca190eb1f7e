"""Drawing a `Lesion` into one photograph: its extent, halo, colours and dermoscopic structures."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from PIL import ImageDraw

from .lesion import Lesion
from .raster import Frame, draw_layer, lerp_into, noise_image, smoothstep


def draw_lesion(img: np.ndarray, les: Lesion, frame: Frame, rng: np.random.Generator) -> np.ndarray:
    """Paint `les` onto the skin image `img` (HxWx3 float, in place); return the lesion mask (bool HxW).

    The mask is the set where the boundary function (with border roughness) is below 1.
    """
    d = les.relative_radius(frame.qx, frame.qy)
    if les.rough > 0:
        noise = frame.field(les.rough_lattices[0], les.rough_spacing[0])
        noise += les.rough_fine * frame.field(les.rough_lattices[1], les.rough_spacing[1])
        d += les.rough * noise
    mask = d < 1.0
    edge = smoothstep(d, 1 + les.soft, 1 - les.soft)  # 0.5 on the border
    if les.halo is not None:
        halo = les.halo
        lerp_into(img, halo["colour"], halo["strength"] * np.exp(-np.square(np.maximum(d - 1, 0) / halo["width"])))
    alpha = les.opacity * edge
    if les.alpha_centre != 1.0:
        alpha *= les.alpha_centre + (1 - les.alpha_centre) * smoothstep(d, 0.2, 0.8)
    lerp_into(img, _lesion_colour(les, frame, d, rng), alpha)

    if les.network is not None:
        _draw_network(img, les.network, frame, d)
    if les.fissures is not None:
        fis = les.fissures
        g = frame.field(fis["lattice"], fis["spacing"])
        lines = smoothstep(np.abs(np.sin(fis["freq"] * g)), fis["width"], 0.0)
        lerp_into(img, fis["colour"], fis["contrast"] * lines * smoothstep(d, 1.0, 0.7))
    for group in les.spots:
        _draw_group(img, frame, group, _spot_painter(group, frame))
    for group in les.lines:
        _draw_group(img, frame, group, _line_painter(group, frame))
    return mask


def _lesion_colour(les: Lesion, frame: Frame, d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The lesion's colour at every pixel: base, centre colour, colour zones, mottling and fine grain."""
    colour = np.empty((frame.height, frame.width, 3), dtype=np.float32)
    colour[:] = les.base
    inner = np.clip(1 - d, 0, 1)
    if les.centre_colour is not None and les.centre_weight > 0:
        if les.centre_radius is None:
            lerp_into(colour, les.centre_colour, les.centre_weight * inner**les.centre_power)
        else:
            wobble = 0.12 * frame.field(les.mottle[1], 0.08)
            lerp_into(
                colour,
                les.centre_colour,
                les.centre_weight * smoothstep(d + wobble, les.centre_radius + 0.12, les.centre_radius - 0.08),
            )
    for zone in les.zones:
        w = smoothstep(frame.field(zone["lattice"], zone["spacing"]), zone["lo"], zone["hi"]) * zone["strength"]
        if zone["where"] == "centre":
            w *= smoothstep(d, 0.9, 0.3)
        lerp_into(colour, zone["colour"], w)
    strength, lattice, spacing = les.mottle
    fine = noise_image(rng, frame.width, frame.height, 2)
    colour *= (1 + strength * frame.field(lattice, spacing) + les.granular * fine)[..., None]
    return colour


def _draw_network(img: np.ndarray, net: dict[str, Any], frame: Frame, d: np.ndarray) -> None:
    """A warped honeycomb of partly broken lines, patchy, fading out at the border (and in a central hole)."""
    k = 2 * math.pi / net["period"]
    wx = frame.qx + net["warp"] * net["period"] * frame.field(net["lattices"][0], 0.06)
    wy = frame.qy + net["warp"] * net["period"] * frame.field(net["lattices"][1], 0.06)
    h = np.zeros_like(wx)
    for j in range(3):  # three plane waves at 60 degrees: a honeycomb
        ang = net["angle"] + j * math.pi / 3
        h += np.cos(k * (math.cos(ang) * wx + math.sin(ang) * wy))
    line_width = net["width"] + 0.6 * frame.field(net["lattices"][0], 0.1)  # uneven, partly broken lines
    lines = smoothstep(h, 0.2 + line_width, -0.6 + line_width * 0.5)
    cover = smoothstep(frame.field(net["lattices"][2], 0.1), -1.5 + 2 * net["patchy"], -0.5 + 2 * net["patchy"])
    fade = smoothstep(d, 1.05, 0.6)
    if net["hole"] > 0:
        fade *= smoothstep(d, net["hole"] + 0.05, net["hole"] + 0.25)
    lerp_into(img, net["colour"], net["contrast"] * lines * cover * fade)


def _draw_group(
    img: np.ndarray, frame: Frame, group: dict[str, Any], painter: Callable[[ImageDraw.ImageDraw], None]
) -> None:
    """Blend a group of spots or lines, drawn by `painter`, into `img` in the group's colour and opacity."""
    layer = draw_layer(frame.width, frame.height, painter, group["blur"])
    lerp_into(img, group["colour"], group["opacity"] * layer)


def _spot_painter(group: dict[str, Any], frame: Frame) -> Callable[[ImageDraw.ImageDraw], None]:
    xs, ys = frame.to_image(group["qx"], group["qy"])
    rs = np.maximum(group["r"] * frame.unit, 0.6)

    def paint(dr: ImageDraw.ImageDraw) -> None:
        for x, y, r, s in zip(xs, ys, rs, group["shade"]):
            dr.ellipse((x - r, y - r, x + r, y + r), fill=int(255 * s))

    return paint


def _line_painter(group: dict[str, Any], frame: Frame) -> Callable[[ImageDraw.ImageDraw], None]:
    def paint(dr: ImageDraw.ImageDraw) -> None:
        for qx, qy, w in group["polylines"]:
            xs, ys = frame.to_image(qx, qy)
            dr.line(
                list(zip(xs.tolist(), ys.tolist())), fill=255, width=max(1, int(round(w * frame.unit))), joint="curve"
            )

    return paint
