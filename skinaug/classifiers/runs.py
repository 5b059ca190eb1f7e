"""The finished runs of `skinaug bench-classifier`: OUT/runs/<arm>_seed<k>/ (predictions.npz + run.json)."""

from __future__ import annotations

import os
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import read_json
from ..errors import SkinaugError
from .arms import ARMS


class IncompleteRunWarning(UserWarning):
    """A run folder without both predictions.npz and run.json (still running, or interrupted): skipped."""


def _read_predictions(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: np.asarray(data[key]) for key in ("y_true", "proba", "image_ids")}
    except KeyError as exc:
        raise SkinaugError(f"{path}: missing array {exc}; expected y_true, proba and image_ids") from exc
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise SkinaugError(f"{path}: unreadable ({exc}); delete its folder to rerun that run") from exc
    y, p, ids = arrays["y_true"], arrays["proba"], arrays["image_ids"]
    if y.ndim != 1 or p.ndim != 2 or p.shape[0] != y.size or ids.shape != y.shape:
        raise SkinaugError(f"{path}: inconsistent shapes y_true {y.shape}, proba {p.shape}, image_ids {ids.shape}")
    arrays["image_ids"] = ids.astype(str)
    arrays["y_true"] = y.astype(np.int64)
    return arrays


def _folder_epoch_selection(out_dir: Path) -> str | None:
    """The epoch rule in OUT/bench_config.json ("val" where it predates the setting); None without the file."""
    path = out_dir / "bench_config.json"
    if not path.is_file():
        return None
    train = read_json(path).get("train")
    return str(train.get("select", "val")) if isinstance(train, dict) else None


def load_runs(out_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete run under OUT/runs/, sorted by (arm, seed).

    A run is complete when its folder holds both predictions.npz and run.json; other folders are
    skipped with an IncompleteRunWarning. Each run is its run.json plus "name" (the folder name),
    "dir", the arrays "y_true", "proba", "image_ids" and, when external_predictions.npz exists,
    "external" (the same three arrays on the cross-dataset test set). A run.json without "epoch_selection"
    (written before it was recorded) takes the folder's: every run of a folder has its bench_config.json settings.
    """
    runs_dir = Path(out_dir) / "runs"
    if not runs_dir.is_dir():
        return []
    selection = _folder_epoch_selection(Path(out_dir))
    runs: list[dict[str, Any]] = []
    for folder in sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        predictions, run_json = folder / "predictions.npz", folder / "run.json"
        missing = [f.name for f in (predictions, run_json) if not f.is_file()]
        if missing:
            warnings.warn(
                f"{folder}: incomplete run (no {' and no '.join(missing)}); skipped", IncompleteRunWarning, stacklevel=2
            )
            continue
        try:
            info = read_json(run_json)
        except SkinaugError as exc:
            raise SkinaugError(f"{exc}; delete its folder to rerun that run") from exc
        if not isinstance(info, dict):
            raise SkinaugError(f"{run_json}: expected a JSON object")
        match = re.fullmatch(r"(.+)_seed(\d+)", folder.name)
        run = dict(info)
        run.setdefault("arm", match.group(1) if match else folder.name)
        run.setdefault("seed", int(match.group(2)) if match else 0)
        run["arm"] = str(run["arm"])
        run.setdefault("arm_name", ARMS.get(run["arm"], run["arm"]))
        if selection is not None:
            run.setdefault("epoch_selection", selection)
        run.update(name=folder.name, dir=str(folder), **_read_predictions(predictions))
        external = folder / "external_predictions.npz"
        run["external"] = _read_predictions(external) if external.is_file() else None
        runs.append(run)
    seen: dict[tuple[str, Any], str] = {}
    for run in runs:
        key = (run["arm"], run["seed"])
        if key in seen:
            raise SkinaugError(
                f"{runs_dir}: folders {seen[key]} and {run['name']} both hold arm {key[0]} seed {key[1]}; remove one"
            )
        seen[key] = run["name"]
    return sorted(runs, key=lambda r: (r["arm"], r["seed"]))
