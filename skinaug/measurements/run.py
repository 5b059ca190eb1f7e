"""`skinaug measure`: measurements of every image of a work directory, in parallel and cached.

Writes WORKDIR/measurements/: features.csv (one row per image: status, reason, features),
scaler.json (robust scaler fitted on the train split only), class_means.json (per-class mean scaled
vector over the train split: the generator's inter-class codebook) and summary.json.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..atomic import read_json, write_csv, write_json
from ..errors import SkinaugError
from ..labels import CLASSES
from ..manifest import load_prepared
from .cache import MeasurementCache, cache_key
from .extract import STATUS_FAILED, STATUS_OK, LesionMeasurer, Measurement
from .scaler import RobustScaler
from .settings import MeasureSettings

FEATURES_NAME = "features.csv"
SCALER_NAME = "scaler.json"
CLASS_MEANS_NAME = "class_means.json"
SUMMARY_NAME = "summary.json"
INFO_COLUMNS: tuple[str, ...] = ("image_id", "label", "split", "status", "reason")

_worker_measurer: LesionMeasurer | None = None


def _init_worker(settings: MeasureSettings) -> None:
    global _worker_measurer
    _worker_measurer = LesionMeasurer(settings)


def _measure_in_worker(job: tuple[str, str | None]) -> Measurement:
    assert _worker_measurer is not None
    return _worker_measurer.measure_files(*job)


@dataclass
class MeasureResult:
    """What `measure` produced."""

    features: pd.DataFrame
    computed: int
    cached: int
    seconds: float
    out_dir: Path

    @property
    def failures(self) -> pd.DataFrame:
        """image_id and reason of every image that could not be measured."""
        return self.features.loc[self.features["status"] != STATUS_OK, ["image_id", "reason"]]

    def summary(self) -> str:
        """One line: how many images were measured, from cache, and failed, per split."""
        ok = self.features["status"] == STATUS_OK
        per_split = " ".join(f"{s}={int((ok & (self.features['split'] == s)).sum())}" for s in ("train", "val", "test"))
        return (
            f"measured {int(ok.sum())}/{len(self.features)} images ({per_split}); "
            f"{self.computed} computed, {self.cached} from cache, {len(self.failures)} failed "
            f"in {self.seconds:.1f} s -> {self.out_dir}"
        )


def _measure_all(
    jobs: list[tuple[str, str | None]], settings: MeasureSettings, workers: int, progress: bool
) -> Iterator[Measurement]:
    bar = dict(total=len(jobs), desc="measuring", unit="img", disable=not progress)
    if workers <= 1 or len(jobs) < 2:
        measurer = LesionMeasurer(settings)
        yield from tqdm((measurer.measure_files(*job) for job in jobs), **bar)
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(settings,)) as pool:
        chunk = max(1, min(16, len(jobs) // (workers * 8)))
        yield from tqdm(pool.map(_measure_in_worker, jobs, chunksize=chunk), **bar)


def measure_workdir(
    workdir: str | os.PathLike[str],
    workers: int | None = None,
    settings: MeasureSettings = MeasureSettings(),
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> MeasureResult:
    """Measure every image of a prepared work directory and fit the scaler and class means on train."""
    start = time.perf_counter()
    prepared = load_prepared(workdir)
    out_dir = prepared.workdir / "measurements"
    cache = MeasurementCache(cache_dir or out_dir / "cache")
    rows = prepared.manifest.to_dict("records")
    files = [(str(prepared.image_file(r)), str(m) if (m := prepared.mask_file(r)) else None) for r in rows]
    with ThreadPoolExecutor(4) as pool:
        keys = list(pool.map(lambda f: cache_key(f[0], f[1], settings), files))
        cached = list(pool.map(cache.get, keys))
    todo = [i for i, hit in enumerate(cached) if hit is None]
    results: list[Measurement | None] = list(cached)
    workers = max(1, workers or os.cpu_count() or 1)
    try:
        for index, measurement in zip(todo, _measure_all([files[i] for i in todo], settings, workers, progress)):
            results[index] = measurement
            cache.put(keys[index], measurement)  # stored as it arrives: an interrupted run resumes here
    except KeyboardInterrupt:
        raise SkinaugError(
            f"interrupted; {sum(r is not None for r in results)} measurements are cached in "
            f"{cache.folder}; run `skinaug measure {workdir}` again to resume"
        ) from None
    features = _feature_table(prepared.manifest, results)
    scaler, class_means = _fit(features)  # before writing anything: a failed fit keeps the earlier results whole
    write_csv(out_dir / FEATURES_NAME, features)
    scaler.save(out_dir / SCALER_NAME)
    write_json(out_dir / CLASS_MEANS_NAME, class_means)
    result = MeasureResult(features, len(todo), len(rows) - len(todo), time.perf_counter() - start, out_dir)
    write_json(
        out_dir / SUMMARY_NAME,
        {
            "images": len(rows),
            "ok": int((features["status"] == STATUS_OK).sum()),
            "failed": int(len(result.failures)),
            "computed": result.computed,
            "cached": result.cached,
            "workers": workers,
            "seconds": round(result.seconds, 2),
            "settings": asdict(settings),
        },
    )
    return result


def _feature_table(manifest: pd.DataFrame, results: list[Measurement | None]) -> pd.DataFrame:
    info = manifest[["image_id", "label", "split"]].reset_index(drop=True).copy()
    info["status"] = [r.status if r else STATUS_FAILED for r in results]
    info["reason"] = [r.reason if r else "not measured" for r in results]
    values = pd.DataFrame([r.features if r else {} for r in results])
    return pd.concat([info, values], axis=1)


def feature_columns(features: pd.DataFrame) -> list[str]:
    """The measurement columns of a features table (everything but the info columns)."""
    return [c for c in features.columns if c not in INFO_COLUMNS]


def _fit(features: pd.DataFrame) -> tuple[RobustScaler, dict[str, Any]]:
    """The scaler and the class means (content of class_means.json), fitted on the measured train images."""
    train = features[(features["split"] == "train") & (features["status"] == STATUS_OK)]
    scaler = RobustScaler.fit(train[feature_columns(features)])
    scaled = scaler.transform(train)
    classes = {}
    for label in CLASSES:
        rows = (train["label"] == label).to_numpy()
        classes[label] = {"n": int(rows.sum()), "mean_scaled": scaled[rows].mean(axis=0) if rows.any() else None}
    return scaler, {"features": scaler.features, "fitted_on": "train", "classes": classes}


def load_class_means(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """class -> mean scaled measurement vector (classes absent from the train split are left out)."""
    data = read_json(path)
    return {
        c: np.asarray(v["mean_scaled"], dtype=np.float32)
        for c, v in data["classes"].items()
        if v["mean_scaled"] is not None
    }
