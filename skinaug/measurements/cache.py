"""Content-addressed cache of per-image measurements: key = hash(image bytes, mask bytes, settings)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..atomic import read_json, write_json
from ..errors import SkinaugError
from .extract import Measurement
from .settings import MeasureSettings


def _pyradiomics_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyradiomics")
    except PackageNotFoundError:
        return "unknown"


def cache_key(
    image: str | os.PathLike[str], mask: str | os.PathLike[str] | None, settings: MeasureSettings
) -> str | None:
    """sha256 over the image's and mask's bytes, the settings and pyradiomics' version.

    None when a file cannot be read (nothing to cache: the failure is reported, not remembered).
    """
    digest = hashlib.sha256(settings.key().encode())
    digest.update(_pyradiomics_version().encode())
    for path in (image, mask):
        digest.update(b"\0")
        if path is None or str(path) == "":
            continue
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            return None
    return digest.hexdigest()


class MeasurementCache:
    """One JSON file per key below `folder` (two-level fan-out), written atomically."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str | None) -> Measurement | None:
        """The cached measurement, or None (absent, or an unreadable cache file, which is recomputed)."""
        if key is None:
            return None
        path = self._path(key)
        try:
            data = read_json(path)
            features = {k: float("nan") if v is None else float(v) for k, v in data["features"].items()}
            return Measurement(data["status"], data["reason"], features)
        except (SkinaugError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(self, key: str | None, measurement: Measurement) -> None:
        """Store a measurement (NaN stored as null)."""
        if key is None:
            return
        write_json(
            self._path(key),
            {"status": measurement.status, "reason": measurement.reason, "features": measurement.features},
        )
