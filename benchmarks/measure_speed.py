"""Speed of `skinaug measure` on 1,000 real HAM10000 images: 1 worker, 2 workers, and a cached re-run.

    python benchmarks/measure_speed.py [--data ../shared/data/HAM10000] [--n 1000]

All three runs happen in this one process, side by side, so their ratios are comparable. Each run is the
whole command (hashing, cache look-up, extraction, features.csv, scaler): what a user waits for.
Writes benchmarks/results/measure.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

import pandas as pd

from skinaug.atomic import write_csv, write_text
from skinaug.machine import cpu_name
from skinaug.manifest import MANIFEST_NAME
from skinaug.measurements import feature_columns, measure_workdir
from skinaug.prepare import prepare_dataset

HERE = Path(__file__).resolve().parent


def subset_workdir(data: Path, n: int, workdir: Path) -> None:
    """Prepare `data` into `workdir` and keep the first `n` images by image_id (a fixed subset)."""
    prepare_dataset("ham10000", data, workdir, progress=False)
    manifest = pd.read_csv(workdir / MANIFEST_NAME, dtype=str, keep_default_na=False)
    write_csv(workdir / MANIFEST_NAME, manifest.sort_values("image_id").head(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "HAM10000")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "measure.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / "work"
        subset_workdir(args.data, args.n, workdir)
        runs = []
        for label, workers, cache in (("1 worker", 1, "c1"), ("2 workers", 2, "c2"), ("cached re-run", 2, "c2")):
            result = measure_workdir(workdir, workers=workers, cache_dir=Path(tmp) / cache)
            runs.append((label, workers, result))
            print(f"{label}: {result.summary()}", flush=True)
        same = runs[0][2].features.equals(runs[1][2].features)

    base = runs[0][2].seconds
    n = len(runs[0][2].features)
    lines = [
        "# `skinaug measure` speed",
        "",
        f"{n} real HAM10000 images (200x150, first {n} by image_id), all seven pyradiomics classes on grey "
        "+ L\\*a\\*b\\* first-order + lesion/skin contrast "
        f"({len(feature_columns(runs[0][2].features))} features).",
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        "All runs side by side in one process (`benchmarks/measure_speed.py`).",
        "",
        "| run | workers | computed | from cache | seconds | images/s | speed-up vs 1 worker |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, workers, result in runs:
        lines.append(
            f"| {label} | {workers} | {result.computed} | {result.cached} | {result.seconds:.1f} | "
            f"{n / result.seconds:.1f} | {base / result.seconds:.2f}x |"
        )
    lines += [
        "",
        f"Features from 1 and 2 workers identical: {'yes' if same else 'NO'}.",
        "The 2-worker run includes starting two fresh (spawned) processes that import pyradiomics.",
        "",
        f"Failures: {len(runs[0][2].failures)} images, each with its reason:",
        "",
    ]
    lines += [f"- {row.image_id}: {row.reason}" for row in runs[0][2].failures.itertuples(index=False)] + [""]
    write_text(args.out, "\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
