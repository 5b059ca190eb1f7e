"""A lesion's description: geometry, colours and structures in its own frame, plus the recipes' building blocks.

Lengths are in units of min(width, height), so the same lesion can be drawn at any image size;
q = (qx, qy) are coordinates in that frame.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from .palette import ERYTHEMA, brown, jitter


def lattice(rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A periodic, smoothed, unit-variance random lattice; sampled bilinearly it is smooth noise."""
    lat = ndi.gaussian_filter(rng.standard_normal((size, size)).astype(np.float32), 1.0, mode="wrap")
    return (lat / (lat.std() + 1e-6)).astype(np.float32)


def elongation(rng: np.random.Generator, sd: float, cap: float) -> float:
    """Ratio of the long to the short axis: 1 plus a half-normal deviation, capped."""
    return 1 + min(abs(rng.normal(0, sd)), cap)


def lognormal(rng: np.random.Generator, median: float, sigma: float, lo: float, hi: float) -> float:
    """A log-normal sample with the given median and log-sd, clipped to [lo, hi] (lesion radii)."""
    return float(np.clip(median * math.exp(sigma * rng.standard_normal()), lo, hi))


def halo(rng: np.random.Generator, width: tuple[float, float], strength: tuple[float, float]) -> dict[str, Any]:
    """Erythema around the lesion."""
    return {
        "colour": jitter(rng, ERYTHEMA),
        "width": float(rng.uniform(*width)),
        "strength": float(rng.uniform(*strength)),
    }


def network(
    rng: np.random.Generator,
    colour: Any,
    period: tuple[float, float],
    contrast: tuple[float, float],
    warp: tuple[float, float],
    patchy: float,
) -> dict[str, Any]:
    """A (pseudo-)network: a warped honeycomb of lines with the given ranges of period, contrast and warp."""
    return {
        "colour": np.asarray(colour, dtype=np.float32),
        "period": float(rng.uniform(*period)),
        "contrast": float(rng.uniform(*contrast)),
        "warp": float(rng.uniform(*warp)),
        "angle": float(rng.uniform(0, math.pi)),
        "lattices": (lattice(rng), lattice(rng), lattice(rng)),
        "patchy": patchy,
        "width": float(rng.uniform(0.8, 1.6)),
        "hole": 0.0,
    }


class Lesion:
    """A lesion's recipe. Built once per lesion and drawn for each of its photographs."""

    def __init__(
        self,
        label: str,
        rng: np.random.Generator,
        *,
        radius: float,
        elong: float,
        asym: float,
        irregular: float,
        rough: float,
        soft: float,
        opacity: float,
    ) -> None:
        self.label = label
        self.radius = radius
        self.elong = elong
        self.angle = float(rng.uniform(0, 2 * math.pi))
        self.centre = (
            float(np.clip(rng.normal(0, 0.07), -0.15, 0.15)),
            float(np.clip(rng.normal(0, 0.05), -0.10, 0.10)),
        )
        # boundary radius as a function of angle: low harmonics = asymmetry, higher = irregular border
        theta = np.linspace(-math.pi, math.pi, 721, dtype=np.float64)
        r = np.ones_like(theta)
        for k in range(1, 13):
            amp = asym * rng.uniform(0.4, 1.0) if k <= 2 else irregular * rng.standard_normal() * (3.0 / k) ** 1.4
            if k == 3:
                amp += asym * 0.5 * rng.standard_normal()
            r += amp * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
        self.theta_table = theta.astype(np.float32)
        self.r_table = np.clip(r, 0.35, None).astype(np.float32)
        self.rough = rough
        self.rough_lattices = (lattice(rng), lattice(rng))
        self.rough_spacing = (float(rng.uniform(0.05, 0.09)), float(rng.uniform(0.018, 0.028)))
        self.rough_fine = float(rng.uniform(0.2, 0.6))
        self.soft = soft
        self.opacity = opacity
        self.base = np.array(brown(0.4))
        self.centre_colour: np.ndarray | None = None
        self.centre_weight = 0.0
        self.centre_power = 1.5
        self.centre_radius: float | None = None  # for a sharp central patch (dermatofibroma's white scar)
        self.alpha_centre = 1.0  # opacity at the centre relative to the rim (<1: ring-like lesion)
        self.zones: list[dict[str, Any]] = []
        self.mottle = (0.04, lattice(rng), float(rng.uniform(0.025, 0.04)))  # strength, lattice, spacing
        self.granular = 0.06  # fine, photograph-level granularity of the pigment
        self.network: dict[str, Any] | None = None
        self.fissures: dict[str, Any] | None = None
        self.spots: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []
        self.halo: dict[str, Any] | None = None
        self._rng = rng

    # -- geometry helpers in the lesion frame
    @property
    def axes(self) -> tuple[float, float]:
        """Semi-axes (a, b) of the ellipse that the boundary function modulates."""
        s = math.sqrt(self.elong)
        return self.radius * s, self.radius / s

    def boundary(self, theta: np.ndarray) -> np.ndarray:
        """The boundary's relative radius at normalised angle theta."""
        return np.interp(theta, self.theta_table, self.r_table).astype(np.float32)

    def point(self, theta: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lesion-frame point at normalised angle theta and normalised radius rho (1 = the border)."""
        a, b = self.axes
        rr = rho * self.boundary(theta)
        return a * rr * np.cos(theta), b * rr * np.sin(theta)

    def relative_radius(self, qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
        """The boundary function: below 1 inside the lesion (before border roughness), 1 on the border."""
        a, b = self.axes
        xe, ye = qx / a, qy / b
        return np.sqrt(xe * xe + ye * ye) / self.boundary(np.arctan2(ye, xe))

    def random_points(
        self, n: int, rho_lo: float = 0.0, rho_hi: float = 0.85, theta_lo: float = -math.pi, theta_hi: float = math.pi
    ) -> tuple[np.ndarray, np.ndarray]:
        """n points spread evenly over the given ring sector of the lesion."""
        rng = self._rng
        theta = rng.uniform(theta_lo, theta_hi, n)
        theta = (theta + math.pi) % (2 * math.pi) - math.pi
        rho = np.sqrt(rng.uniform(rho_lo**2, rho_hi**2, n))
        return self.point(theta, rho)

    def clustered_points(
        self, n: int, clusters: int, spread: float, rho_hi: float = 0.85
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to n points in `clusters` Gaussian clusters; those beyond rho_hi are dropped."""
        cx, cy = self.random_points(clusters, 0.2, 0.8)
        pick = self._rng.integers(0, clusters, n)
        qx = cx[pick] + self._rng.normal(0, spread * self.radius, n)
        qy = cy[pick] + self._rng.normal(0, spread * self.radius, n)
        keep = self.relative_radius(qx, qy) < rho_hi
        return qx[keep], qy[keep]

    # -- building blocks for the class recipes
    def set_mottle(self, strength: float, spacing: float | None = None) -> None:
        """Change the strength (and optionally the spacing) of the pigment's mottling; keep its lattice."""
        self.mottle = (strength, self.mottle[1], self.mottle[2] if spacing is None else spacing)

    def add_zone(self, colour: Any, lo: float, hi: float, strength: float, spacing: float, where: str = "all") -> None:
        """An area of another colour where smooth noise exceeds lo (fully from hi); "centre": inner part only."""
        self.zones.append(
            {
                "colour": np.asarray(colour, dtype=np.float32),
                "lo": lo,
                "hi": hi,
                "strength": strength,
                "lattice": lattice(self._rng),
                "spacing": spacing,
                "where": where,
            }
        )

    def add_spots(
        self,
        qx: np.ndarray,
        qy: np.ndarray,
        radii: np.ndarray,
        colour: Any,
        opacity: float,
        blur: float = 0.6,
        shades: np.ndarray | None = None,
    ) -> None:
        """Round dots/globules/cysts at lesion-frame points (shades: per-spot opacity in [0, 1])."""
        if len(qx) == 0:
            return
        shades = np.ones(len(qx)) if shades is None else shades
        self.spots.append(
            {
                "qx": np.asarray(qx),
                "qy": np.asarray(qy),
                "r": np.asarray(radii),
                "shade": np.asarray(shades),
                "colour": np.asarray(colour, dtype=np.float32),
                "opacity": opacity,
                "blur": blur,
            }
        )

    def add_lines(
        self, polylines: list[tuple[np.ndarray, np.ndarray, float]], colour: Any, opacity: float, blur: float = 0.5
    ) -> None:
        """Streaks or vessels: lesion-frame polylines (qx, qy, width)."""
        if polylines:
            self.lines.append(
                {
                    "polylines": polylines,
                    "colour": np.asarray(colour, dtype=np.float32),
                    "opacity": opacity,
                    "blur": blur,
                }
            )
