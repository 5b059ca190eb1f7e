"""A robust scaler of measurement vectors (median / IQR), fitted on the train split only, as JSON."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from ..atomic import read_json, write_json
from ..errors import SkinaugError

MIN_FINITE_SHARE = 0.9  # a feature defined on fewer training images than this is not used


@dataclass
class RobustScaler:
    """z = clip((x - median) / IQR, -clip, clip); undefined values (NaN) become 0, the median.

    Features that are constant or mostly undefined on the training images are listed in `dropped`
    with the reason and left out of the vectors.
    """

    features: list[str]
    center: list[float]
    scale: list[float]
    clip: float = 10.0
    fitted_on: str = "train"
    n_fit: int = 0
    dropped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def fit(cls, frame: pd.DataFrame, clip: float = 10.0, fitted_on: str = "train") -> "RobustScaler":
        """Fit on the rows of `frame` (one column per feature)."""
        if frame.empty:
            raise SkinaugError("cannot fit the measurement scaler: no measured training image")
        values = frame.apply(pd.to_numeric, errors="coerce").replace([np.inf, -np.inf], np.nan)
        kept, center, scale, dropped = [], [], [], {}
        for name in values.columns:
            column = values[name].dropna()
            if len(column) < MIN_FINITE_SHARE * len(values):
                dropped[name] = f"defined on only {len(column)}/{len(values)} training images"
                continue
            q25, median, q75 = np.percentile(column, [25, 50, 75])
            spread = q75 - q25 if q75 > q25 else float(column.std())
            if not np.isfinite(spread) or spread <= 0:
                dropped[name] = "constant on the training images"
                continue
            kept.append(name)
            center.append(float(median))
            scale.append(float(spread))
        return cls(kept, center, scale, clip, fitted_on, int(len(values)), dropped)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Scaled float32 matrix (rows of `frame`, columns `features`); absent columns raise."""
        missing = [name for name in self.features if name not in frame.columns]
        if missing:
            raise SkinaugError(f"measurements lack {len(missing)} feature(s) the scaler needs, e.g. {missing[0]}")
        raw = frame[self.features].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        z = (raw - np.asarray(self.center)) / np.asarray(self.scale)
        z = np.where(np.isfinite(z), z, 0.0)
        return np.clip(z, -self.clip, self.clip).astype(np.float32)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Measurements in their own units from scaled vectors."""
        return np.asarray(z, dtype=np.float64) * np.asarray(self.scale) + np.asarray(self.center)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write as JSON (atomic)."""
        write_json(path, {"method": "robust: (x - median) / IQR, clipped; NaN -> 0", **asdict(self)})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "RobustScaler":
        """Read a scaler written by `save`."""
        try:
            data = read_json(path)
            data.pop("method", None)
            return cls(**data)
        except (SkinaugError, AttributeError, ValueError, TypeError) as exc:
            raise SkinaugError(f"{path}: not a readable scaler file ({exc})") from exc
