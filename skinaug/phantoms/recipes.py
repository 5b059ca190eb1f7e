"""The per-class lesion recipes: each samples one lesion of its class (size, shape, colours, structures).

The classes' ranges overlap on purpose, so that the task is learnable but not trivial.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .lesion import Lesion, elongation, halo, lattice, lognormal, network
from .palette import BLACK, BLUE_GREY, BROWN_RAMP, ERYTHEMA, PINK, RED, SCALE, VESSEL_RED, WHITE, brown, jitter, mix


def _lesion_nv(rng: np.random.Generator) -> Lesion:
    """Melanocytic naevus: small, symmetric, even brown; a regular network or globules."""
    les = Lesion(
        "nv",
        rng,
        radius=lognormal(rng, 0.27, 0.32, 0.09, 0.52),
        elong=elongation(rng, 0.2, 0.7),
        asym=rng.uniform(0.01, 0.06),
        irregular=rng.uniform(0.005, 0.03),
        rough=rng.uniform(0.0, 0.04),
        soft=rng.uniform(0.08, 0.22),
        opacity=rng.uniform(0.75, 0.97),
    )
    t = float(rng.beta(2.2, 2.2) * 0.8 + 0.08)
    if rng.random() < 0.12:  # dermal / papillomatous naevus: pinkish light brown, little structure
        les.base = jitter(rng, mix(brown(0.1), PINK, rng.uniform(0.3, 0.6)))
        les.opacity *= 0.8
    else:
        les.base = jitter(rng, brown(t), 0.04)
    les.centre_colour = jitter(rng, brown(t + rng.uniform(0.1, 0.25)), 0.03)
    les.centre_weight = float(rng.uniform(0.1, 0.6))
    les.set_mottle(float(rng.uniform(0.02, 0.06)))
    pattern = rng.random()
    if pattern < 0.45:  # regular network, thinning out towards the periphery
        les.network = network(rng, brown(t + 0.3), (0.04, 0.06), (0.25, 0.5), (0.1, 0.3), patchy=0.2)
    elif pattern < 0.75:  # globules: regular, similar sizes, in the centre or as a peripheral rim
        n = int(rng.integers(12, 40))
        if rng.random() < 0.3:
            qx, qy = les.random_points(n, 0.75, 0.95)
        else:
            qx, qy = les.random_points(n, 0.0, 0.8)
        r = rng.uniform(0.012, 0.02) * rng.uniform(0.85, 1.15, len(qx))
        les.add_spots(qx, qy, r, jitter(rng, brown(t + 0.3)), float(rng.uniform(0.5, 0.8)), blur=0.7)
    if rng.random() < 0.15:  # some naevi have two shades (overlap with melanoma)
        les.add_zone(
            jitter(rng, brown(t + 0.25)), rng.uniform(0.0, 0.6), 1.4, rng.uniform(0.4, 0.8), rng.uniform(0.1, 0.16)
        )
    return les


def _lesion_mel(rng: np.random.Generator) -> Lesion:
    """Melanoma: large, asymmetric, several colours; atypical network, irregular dots, streaks."""
    featureless = rng.random() < 0.15  # early / featureless melanoma, looks like a naevus
    les = Lesion(
        "mel",
        rng,
        radius=lognormal(rng, 0.34, 0.3, 0.12, 0.56),
        elong=elongation(rng, 0.3, 1.0),
        asym=rng.uniform(0.03, 0.08) if featureless else rng.uniform(0.08, 0.22),
        irregular=rng.uniform(0.02, 0.04) if featureless else rng.uniform(0.03, 0.07),
        rough=rng.uniform(0.03, 0.09),
        soft=rng.uniform(0.03, 0.18),
        opacity=rng.uniform(0.85, 1.0),
    )
    t = float(rng.uniform(0.2, 0.6))
    les.base = jitter(rng, brown(t), 0.05)
    les.centre_colour = jitter(rng, brown(t + 0.2))
    les.centre_weight = float(rng.uniform(0.0, 0.4))
    les.set_mottle(float(rng.uniform(0.05, 0.1)))
    les.granular = float(rng.uniform(0.06, 0.12))
    candidates = [
        ("dark", brown(rng.uniform(0.65, 0.85)), 0.9),
        ("black", BLACK, 0.5),
        ("blue", BLUE_GREY, 0.55),
        ("light", brown(rng.uniform(0.0, 0.15)), 0.6),
        ("red", mix((0.78, 0.40, 0.40), PINK, rng.uniform(0, 0.5)), 0.3),
        ("regression", (0.80, 0.78, 0.84), 0.3),
    ]
    k = 1 if featureless else int(rng.integers(2, 5))
    p = np.array([c[2] for c in candidates])
    chosen = rng.choice(len(candidates), size=k, replace=False, p=p / p.sum())
    for idx in sorted(chosen):
        name, colour, _ = candidates[idx]
        lo = float(rng.uniform(-0.3, 0.6)) + (0.4 if name in ("black", "regression") else 0.0)
        where = "centre" if name == "blue" and rng.random() < 0.6 else "all"
        strength = rng.uniform(0.4, 0.7) if name == "regression" else rng.uniform(0.6, 0.95)
        les.add_zone(jitter(rng, colour), lo, lo + rng.uniform(0.3, 0.8), strength, rng.uniform(0.07, 0.15), where)
    if not featureless and rng.random() < 0.5:  # atypical network: irregular, thick, patchy
        les.network = network(rng, brown(t + 0.4), (0.045, 0.08), (0.25, 0.5), (0.25, 0.5), patchy=0.7)
    if not featureless and rng.random() < 0.6:  # irregular dots and globules, clustered, uneven sizes
        qx, qy = les.clustered_points(int(rng.integers(10, 50)), int(rng.integers(1, 4)), 0.25)
        r = rng.uniform(0.005, 0.025, len(qx))
        les.add_spots(
            qx,
            qy,
            r,
            jitter(rng, brown(0.85)),
            float(rng.uniform(0.6, 0.9)),
            blur=0.6,
            shades=rng.uniform(0.6, 1.0, len(qx)),
        )
    if not featureless and rng.random() < 0.35:  # streaks / pseudopods on part of the periphery
        start = rng.uniform(-math.pi, math.pi)
        span = rng.uniform(0.8, 3.5)
        n = int(rng.integers(8, 25))
        polylines = []
        for theta in rng.uniform(start, start + span, n):
            theta = (theta + math.pi) % (2 * math.pi) - math.pi
            rho = np.linspace(rng.uniform(0.75, 0.9), rng.uniform(1.0, 1.1), 5)
            th = theta + np.cumsum(rng.normal(0, 0.03, 5))
            qx, qy = les.point(th, rho)
            polylines.append((qx, qy, float(rng.uniform(0.008, 0.014))))
        les.add_lines(polylines, jitter(rng, brown(0.7)), float(rng.uniform(0.5, 0.8)), blur=0.8)
    return les


def _lesion_bkl(rng: np.random.Generator) -> Lesion:
    """Benign keratosis (seborrhoeic keratosis, solar lentigo): waxy, fissures, milia, comedo openings."""
    les = Lesion(
        "bkl",
        rng,
        radius=lognormal(rng, 0.3, 0.38, 0.08, 0.56),
        elong=elongation(rng, 0.28, 1.0),
        asym=rng.uniform(0.03, 0.12),
        irregular=rng.uniform(0.03, 0.07),
        rough=rng.uniform(0.04, 0.12),
        soft=rng.uniform(0.02, 0.09),
        opacity=rng.uniform(0.7, 0.95),
    )
    les.rough_fine = float(rng.uniform(0.5, 0.9))  # "moth-eaten" border
    lentigo = rng.random() < 0.25  # solar lentigo: flat, uniform light brown (overlaps naevi)
    if lentigo:
        t = float(rng.uniform(0.0, 0.35))
    else:  # mostly light to mid brown, sometimes dark
        t = float(rng.uniform(0.55, 0.8) if rng.random() < 0.2 else rng.uniform(0.1, 0.55))
    les.base = jitter(rng, mix(brown(t), (0.80, 0.66, 0.46), rng.uniform(0.05, 0.35)), 0.04)
    les.centre_colour = jitter(rng, brown(t + 0.15))
    les.centre_weight = float(rng.uniform(0.0, 0.3))
    les.set_mottle(float(rng.uniform(0.06, 0.14)), float(rng.uniform(0.02, 0.035)))  # waxy texture
    les.granular = float(rng.uniform(0.06, 0.12))
    if lentigo:
        les.fissures = {
            "lattice": lattice(rng),
            "spacing": float(rng.uniform(0.12, 0.2)),
            "freq": float(rng.uniform(5, 8)),
            "width": 0.22,
            "contrast": float(rng.uniform(0.1, 0.2)),
            "colour": brown(t + 0.25),
        }
        return les
    if rng.random() < 0.65:  # cerebriform fissures and ridges
        les.fissures = {
            "lattice": lattice(rng),
            "spacing": float(rng.uniform(0.06, 0.1)),
            "freq": float(rng.uniform(4.0, 7.0)),
            "width": float(rng.uniform(0.2, 0.35)),
            "contrast": float(rng.uniform(0.3, 0.55)),
            "colour": brown(t + 0.4),
        }
    if rng.random() < 0.55:  # milia-like cysts
        qx, qy = les.random_points(int(rng.integers(3, 15)), 0.0, 0.85)
        les.add_spots(
            qx, qy, rng.uniform(0.008, 0.02, len(qx)), jitter(rng, SCALE, 0.02), float(rng.uniform(0.6, 0.85)), blur=0.8
        )
    if rng.random() < 0.45:  # comedo-like openings
        qx, qy = les.random_points(int(rng.integers(3, 15)), 0.0, 0.85)
        les.add_spots(
            qx, qy, rng.uniform(0.008, 0.018, len(qx)), jitter(rng, brown(0.85)), float(rng.uniform(0.6, 0.9)), blur=0.6
        )
    if rng.random() < 0.4:  # lighter waxy / keratin areas
        les.add_zone(
            jitter(rng, (0.85, 0.75, 0.6)), rng.uniform(0.2, 0.8), 1.6, rng.uniform(0.3, 0.6), rng.uniform(0.05, 0.1)
        )
    return les


def _vessel_tree(les: Lesion, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Arborising vessels: a trunk entering from the rim, branching into thinner and thinner vessels."""
    theta = rng.uniform(-math.pi, math.pi)
    x0, y0 = les.point(np.array([theta]), np.array([rng.uniform(0.55, 0.9)]))
    direction = math.atan2(-float(y0[0]), -float(x0[0])) + rng.normal(0, 0.6)
    out: list[tuple[np.ndarray, np.ndarray, float]] = []
    stack = [(float(x0[0]), float(y0[0]), direction, les.radius * rng.uniform(0.3, 0.5), 0.014, 0)]
    while stack:
        x, y, d, length, width, depth = stack.pop()
        steps = 6
        angles = d + np.cumsum(rng.normal(0, 0.18, steps))
        xs = x + np.concatenate([[0], np.cumsum(np.cos(angles) * length / steps)])
        ys = y + np.concatenate([[0], np.cumsum(np.sin(angles) * length / steps)])
        inside = les.relative_radius(xs, ys) < 0.95
        if not inside[0]:
            continue
        cut = int(np.argmin(inside)) if not inside.all() else len(xs)
        xs, ys = xs[:cut], ys[:cut]
        if len(xs) < 2:
            continue
        out.append((xs, ys, width))
        if depth < 3:
            for turn in (-1, 1):
                if rng.random() < 0.85:
                    heading = float(angles[len(xs) - 2]) + turn * rng.uniform(0.3, 0.9)
                    stack.append(
                        (
                            float(xs[-1]),
                            float(ys[-1]),
                            heading,
                            length * rng.uniform(0.5, 0.75),
                            max(width * 0.65, 0.005),
                            depth + 1,
                        )
                    )
    return out


def _lesion_bcc(rng: np.random.Generator) -> Lesion:
    """Basal cell carcinoma: pink, translucent; arborising vessels, sometimes blue-grey nests or a crust."""
    les = Lesion(
        "bcc",
        rng,
        radius=lognormal(rng, 0.28, 0.35, 0.08, 0.54),
        elong=elongation(rng, 0.25, 0.9),
        asym=rng.uniform(0.04, 0.15),
        irregular=rng.uniform(0.03, 0.08),
        rough=rng.uniform(0.02, 0.06),
        soft=rng.uniform(0.15, 0.35),
        opacity=rng.uniform(0.4, 0.7),
    )
    les.base = jitter(rng, mix(PINK, (0.95, 0.82, 0.82), rng.uniform(0.0, 0.5)), 0.04)
    les.set_mottle(float(rng.uniform(0.02, 0.05)))
    if rng.random() < 0.5:  # shiny white-pink structureless areas
        les.add_zone(
            jitter(rng, WHITE, 0.02), rng.uniform(0.0, 0.7), 1.5, rng.uniform(0.5, 0.8), rng.uniform(0.06, 0.1)
        )
    if rng.random() < 0.85:  # arborising vessels
        polylines = []
        for _ in range(int(rng.integers(2, 6))):
            polylines += _vessel_tree(les, rng)
        les.add_lines(polylines, jitter(rng, VESSEL_RED, 0.06), float(rng.uniform(0.7, 0.95)), blur=0.4)
    if rng.random() < 0.35:  # pigmented BCC: blue-grey ovoid nests and globules (overlap with melanoma)
        qx, qy = les.clustered_points(int(rng.integers(3, 12)), int(rng.integers(1, 3)), 0.3)
        les.add_spots(
            qx,
            qy,
            rng.uniform(0.015, 0.05, len(qx)),
            jitter(rng, (0.33, 0.33, 0.43)),
            float(rng.uniform(0.5, 0.8)),
            blur=2.0,
            shades=rng.uniform(0.6, 1.0, len(qx)),
        )
    if rng.random() < 0.2:  # ulceration: a dark red-brown crust
        qx, qy = les.random_points(1, 0.0, 0.5)
        les.add_spots(
            qx,
            qy,
            np.array([rng.uniform(0.03, 0.07)]),
            jitter(rng, (0.45, 0.15, 0.13)),
            float(rng.uniform(0.7, 0.9)),
            blur=1.5,
        )
    les.halo = halo(rng, (0.2, 0.5), (0.1, 0.3))
    return les


def _lesion_akiec(rng: np.random.Generator) -> Lesion:
    """Actinic keratosis / Bowen's disease: red, scaly; strawberry pattern, dotted vessels."""
    les = Lesion(
        "akiec",
        rng,
        radius=lognormal(rng, 0.37, 0.3, 0.12, 0.56),
        elong=elongation(rng, 0.3, 1.0),
        asym=rng.uniform(0.05, 0.15),
        irregular=rng.uniform(0.05, 0.1),
        rough=rng.uniform(0.04, 0.1),
        soft=rng.uniform(0.15, 0.3),
        opacity=rng.uniform(0.4, 0.75),
    )
    les.base = jitter(rng, mix(ERYTHEMA, RED, rng.uniform(0.0, 0.35)), 0.05)
    les.set_mottle(float(rng.uniform(0.05, 0.1)), float(rng.uniform(0.02, 0.03)))
    if rng.random() < 0.3:  # pigmented actinic keratosis / Bowen's disease (overlap with bkl / mel)
        les.add_zone(
            jitter(rng, brown(rng.uniform(0.2, 0.5))),
            rng.uniform(-0.3, 0.4),
            1.2,
            rng.uniform(0.5, 0.85),
            rng.uniform(0.08, 0.14),
        )
    if rng.random() < 0.6:  # strawberry pattern: red pseudo-network around white follicular openings
        les.network = network(rng, mix(RED, BROWN_RAMP[2], 0.3), (0.05, 0.08), (0.2, 0.4), (0.15, 0.35), patchy=0.5)
        qx, qy = les.random_points(int(rng.integers(15, 40)), 0.0, 0.85)
        les.add_spots(
            qx, qy, rng.uniform(0.008, 0.016, len(qx)), jitter(rng, SCALE, 0.02), float(rng.uniform(0.5, 0.8)), blur=0.7
        )
    if rng.random() < 0.75:  # white-yellow surface scale
        lo = rng.uniform(0.2, 0.8)
        les.add_zone(
            jitter(rng, SCALE, 0.02), lo, lo + rng.uniform(0.6, 1.2), rng.uniform(0.45, 0.8), rng.uniform(0.03, 0.05)
        )
    if rng.random() < 0.4:  # dotted / glomerular vessels
        qx, qy = les.random_points(int(rng.integers(20, 60)), 0.0, 0.9)
        les.add_spots(
            qx, qy, rng.uniform(0.005, 0.009, len(qx)), jitter(rng, VESSEL_RED), float(rng.uniform(0.6, 0.9)), blur=0.5
        )
    les.halo = halo(rng, (0.3, 0.7), (0.15, 0.4))
    return les


def _lesion_df(rng: np.random.Generator) -> Lesion:
    """Dermatofibroma: small, light brown-pink with a central white patch and a faint peripheral network."""
    les = Lesion(
        "df",
        rng,
        radius=lognormal(rng, 0.22, 0.28, 0.1, 0.42),
        elong=elongation(rng, 0.15, 0.6),
        asym=rng.uniform(0.01, 0.06),
        irregular=rng.uniform(0.01, 0.04),
        rough=rng.uniform(0.01, 0.04),
        soft=rng.uniform(0.15, 0.3),
        opacity=rng.uniform(0.7, 0.95),
    )
    t = float(rng.uniform(0.05, 0.5))
    les.base = jitter(rng, mix(brown(t), PINK, rng.uniform(0.1, 0.45)), 0.04)
    les.alpha_centre = float(rng.uniform(0.4, 0.9))
    clear = rng.random() > 0.3
    les.centre_colour = jitter(rng, (0.94, 0.84, 0.82), 0.02)
    les.centre_weight = float(rng.uniform(0.7, 0.95) if clear else rng.uniform(0.2, 0.45))
    les.centre_radius = float(rng.uniform(0.25, 0.65))
    if rng.random() < 0.7:  # delicate peripheral network
        les.network = network(rng, brown(t + 0.3), (0.04, 0.055), (0.15, 0.3), (0.2, 0.4), patchy=0.3)
        les.network["hole"] = les.centre_radius
    les.halo = halo(rng, (0.2, 0.4), (0.05, 0.2))
    return les


def _lesion_vasc(rng: np.random.Generator) -> Lesion:
    """Vascular lesion (angioma): red to purple lacunae separated by lighter septa."""
    les = Lesion(
        "vasc",
        rng,
        radius=lognormal(rng, 0.19, 0.32, 0.07, 0.42),
        elong=elongation(rng, 0.2, 0.8),
        asym=rng.uniform(0.01, 0.08),
        irregular=rng.uniform(0.01, 0.04),
        rough=rng.uniform(0.01, 0.04),
        soft=rng.uniform(0.02, 0.08),
        opacity=rng.uniform(0.85, 1.0),
    )
    hues = [(0.80, 0.20, 0.30), (0.76, 0.22, 0.44), (0.50, 0.16, 0.36), (0.27, 0.12, 0.28)]
    hue = np.asarray(hues[int(rng.choice(4, p=[0.4, 0.3, 0.18, 0.12]))], dtype=np.float32)
    les.base = jitter(rng, mix(hue, WHITE, rng.uniform(0.1, 0.35)), 0.05)  # lighter septa between lacunae
    les.set_mottle(0.03)
    n = int(rng.integers(15, 60))
    qx, qy = les.random_points(n, 0.0, 0.92)
    r = les.radius * rng.uniform(0.06, 0.16) * rng.uniform(0.7, 1.3, len(qx))
    les.add_spots(
        qx,
        qy,
        r,
        jitter(rng, hue * rng.uniform(0.7, 1.0)),
        float(rng.uniform(0.6, 0.9)),
        blur=0.7,
        shades=rng.uniform(0.7, 1.0, len(qx)),
    )
    if rng.random() < 0.3:  # whitish veil
        les.add_zone(
            jitter(rng, WHITE, 0.02), rng.uniform(0.3, 0.9), 1.6, rng.uniform(0.3, 0.6), rng.uniform(0.06, 0.1)
        )
    if rng.random() < 0.25:  # thrombosed: dark blue-black areas (overlap with melanoma)
        les.add_zone(
            jitter(rng, (0.18, 0.10, 0.20)), rng.uniform(-0.2, 0.5), 1.2, rng.uniform(0.6, 0.9), rng.uniform(0.08, 0.14)
        )
    les.halo = halo(rng, (0.15, 0.3), (0.05, 0.2))
    return les


RECIPES: dict[str, Callable[[np.random.Generator], Lesion]] = {
    "akiec": _lesion_akiec,
    "bcc": _lesion_bcc,
    "bkl": _lesion_bkl,
    "df": _lesion_df,
    "mel": _lesion_mel,
    "nv": _lesion_nv,
    "vasc": _lesion_vasc,
}
