"""`skinaug bench-classifier`: train every arm for every seed, select on real val, report on real test.

Each finished run is saved under OUT/runs/<arm>_seed<k>/ (predictions.npz + run.json, written atomically);
a re-run skips finished runs, so an interrupted benchmark resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..atomic import atomic_open, write_json
from ..data import (
    DecodedImageCache, ManifestDataset, eval_transform, real_dataset, require_real, synthetic_dataset, train_transform,
)
from ..data.transforms import Normalisation
from ..errors import SkinaugError
from ..labels import CLASSES
from ..manifest import MANIFEST_NAME, Prepared, load_prepared
from ..pretrained import wants_pretrained
from .arms import ARMS, build_arm
from .models import create_classifier, model_normalisation
from .report import load_runs, write_report
from .saved import save_classifier
from .train import TrainConfig, default_workers, make_loader, predict_proba, select_device, train_classifier


@dataclass
class BenchConfig:
    """What to benchmark: arms, seeds, training hyper-parameters, optional synthetic and external sets."""

    train: TrainConfig = field(default_factory=TrainConfig)
    seeds: int = 3
    arms: str = "abcd"
    weights: str | None = None
    synthetic: str | None = None
    test_manifest: str | None = None
    save_models: bool = False


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with atomic_open(path, "wb") as handle:
        handle.write(buffer.getvalue())


def _fingerprint(path: str | os.PathLike[str] | None, name: str = "") -> str | None:
    """sha256 (16 hex) of a file, or of FOLDER/name; None when not given."""
    if path is None:
        return None
    target = Path(path) / name if name else Path(path)
    return hashlib.sha256(target.read_bytes()).hexdigest()[:16] if target.is_file() else None


def _check_same_config(out: Path, workdir: str | os.PathLike[str], config: BenchConfig) -> None:
    """Refuse to resume into a folder whose finished runs used other settings or other data (they would mix).

    Compared: the training settings, and the content (not the path) of the work directory's manifest, the
    synthetic set's manifest, the weights file and the cross-dataset manifest.
    """
    recorded = {"train": asdict(config.train), "workdir_manifest": _fingerprint(workdir, MANIFEST_NAME),
                "weights": _fingerprint(config.weights), "synthetic_manifest": _fingerprint(config.synthetic, MANIFEST_NAME),
                "test_manifest": _fingerprint(config.test_manifest, MANIFEST_NAME)}
    recorded["train"].pop("workers")
    recorded["train"].pop("device")
    path = out / "bench_config.json"
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(k for k in set(previous) | set(recorded) if previous.get(k) != recorded.get(k))
        if changed:
            raise SkinaugError(f"{out}: holds runs made with other settings ({', '.join(changed)} differ); "
                               "use another --out or delete the folder")
        return
    write_json(path, recorded)


def _run_complete(folder: Path) -> bool:
    return (folder / "predictions.npz").exists() and (folder / "run.json").exists()


def _arms_to_run(config: BenchConfig) -> list[str]:
    arms = [a for a in config.arms if a in ARMS]
    unknown = [a for a in config.arms if a not in ARMS and a not in ", "]
    if unknown or not arms:
        raise SkinaugError(f"--arms {config.arms!r}: choose letters from {''.join(ARMS)} "
                           f"({'; '.join(f'{k} = {v}' for k, v in ARMS.items())})")
    if "c" in arms and not config.synthetic:
        arms.remove("c")
        print("skinaug: notice: arm c (real + synthetic) skipped: no --synthetic set given", file=sys.stderr)
    return arms


def _external(config: BenchConfig, prepared: Prepared, train_labels: np.ndarray, cache: DecodedImageCache,
              normalisation: Normalisation) -> tuple[ManifestDataset | None, np.ndarray | None]:
    """The cross-dataset test set and the classes both data sets have.

    Every image of the other work directory whose class the training set has, except images that also
    belong to the training work directory (same image_id or same file: ISIC 2018's training set *is*
    HAM10000), which would otherwise be scored as "unseen".
    """
    if not config.test_manifest:
        return None, None
    other = load_prepared(config.test_manifest)
    if other.workdir.resolve() == prepared.workdir.resolve():
        raise SkinaugError(f"--test-manifest {config.test_manifest}: is the training work directory itself")
    full = real_dataset(config.test_manifest, ["train", "val", "test"], config.train.image_size,
                        eval_transform(normalisation))
    own_ids = set(prepared.manifest["image_id"])
    own_files = {str(prepared.image_file(r)) for r in prepared.manifest.to_dict("records")}
    shared = np.intersect1d(np.unique(train_labels), np.unique(full.labels))
    overlap = (full.frame["image_id"].isin(own_ids) | full.frame["image_file"].astype(str).isin(own_files)).to_numpy()
    keep = ~overlap & np.isin(full.labels, shared)
    if overlap.any():
        print(f"skinaug: notice: --test-manifest: {int(overlap.sum())} image(s) also in {prepared.workdir} "
              "left out of the cross-dataset test", file=sys.stderr)
    if not keep.any():
        raise SkinaugError(f"--test-manifest {config.test_manifest}: no image left in the classes both data sets "
                           "have once the training work directory's images are removed")
    dataset = ManifestDataset(full.frame[keep].reset_index(drop=True), "real", config.train.image_size,
                              eval_transform(normalisation), cache)
    require_real(dataset, "cross-dataset test")
    return dataset, shared


def _restrict(proba: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """Probabilities renormalised over the shared classes (others set to 0)."""
    out = np.zeros_like(proba)
    out[:, shared] = proba[:, shared]
    return out / np.clip(out.sum(axis=1, keepdims=True), 1e-12, None)


def bench_classifier(workdir: str | os.PathLike[str], out: str | os.PathLike[str], config: BenchConfig,
                     progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the benchmark and write the report; returns the report's summary."""
    out = Path(out)
    prepared = load_prepared(workdir)
    arms = _arms_to_run(config)
    tc = config.train
    select_device(tc.device)  # bad --device: a clear error before any work
    # bad --arch/--weights fail here; "pretrained" is resolved once (to its cached file, or offline to scratch)
    first_model, weights_report = create_classifier(tc.arch, len(CLASSES), config.weights, tc.image_size)
    weights_note, run_weights = weights_report.describe(), weights_report.file
    normalisation = model_normalisation(first_model)  # the model's own mean/std (timm's data config)
    del first_model
    workers = default_workers() if tc.workers is None else tc.workers
    cache = DecodedImageCache(out / "decoded")
    real_train = real_dataset(workdir, "train", tc.image_size, train_transform(tc.image_size, normalisation), cache)
    val = real_dataset(workdir, "val", tc.image_size, eval_transform(normalisation), cache)
    test = real_dataset(workdir, "test", tc.image_size, eval_transform(normalisation), cache)
    require_real(val, "validation")
    require_real(test, "test")
    synthetic = (synthetic_dataset(config.synthetic, workdir, tc.image_size,
                                   train_transform(tc.image_size, normalisation), cache) if "c" in arms else None)
    external, shared = _external(config, prepared, real_train.labels, cache, normalisation)
    # after every input was checked, so a typo does not lock OUT; compared: the weights file used, not the word
    _check_same_config(out, workdir, replace(config, weights=run_weights))
    val_loader = make_loader(val, tc.batch_size, workers)
    test_loader = make_loader(test, tc.batch_size, workers)
    for seed in range(config.seeds):
        for arm in arms:
            folder = out / "runs" / f"{arm}_seed{seed}"
            if _run_complete(folder):
                continue
            dataset, sampler = build_arm(arm, real_train, synthetic, seed)
            loader = make_loader(dataset, tc.batch_size, workers, sampler=sampler, shuffle=sampler is None,
                                 seed=seed, drop_last=len(real_train) > tc.batch_size)  # n draws per epoch
            torch.manual_seed(seed)
            model, _ = create_classifier(tc.arch, len(CLASSES), run_weights, tc.image_size)
            result = train_classifier(model, loader, val_loader, tc, seed, desc=f"arm {arm} seed {seed}",
                                      progress=progress)
            proba, y_true = predict_proba(result.model, test_loader, channels_last=tc.channels_last)
            if external is not None:
                ext_loader = make_loader(external, tc.batch_size, workers)
                ext_proba, ext_true = predict_proba(result.model, ext_loader, channels_last=tc.channels_last)
                _save_npz(folder / "external_predictions.npz", y_true=ext_true,
                          proba=_restrict(ext_proba, shared), image_ids=external.frame["image_id"].to_numpy(str))
            if config.save_models or (arm == "a" and seed == 0):
                save_classifier(folder, result.model, tc.arch, tc.image_size, normalisation,
                                trained_on=f"bench-classifier arm {arm} ({ARMS[arm]}), seed {seed}")
            _save_npz(folder / "predictions.npz", y_true=y_true, proba=proba,
                      image_ids=test.frame["image_id"].to_numpy(str))
            write_json(folder / "run.json", {
                "arm": arm, "arm_name": ARMS[arm], "seed": seed, "best_epoch": result.best_epoch,
                "epochs_run": result.epochs_run, "seconds": result.seconds, "history": result.history,
                "train_images": {"real": len(real_train), "synthetic": len(synthetic) if arm == "c" and synthetic else 0},
                "test_set": "real test split", "weights": weights_note,
            })
    meta = {
        "workdir": str(Path(workdir).resolve()), "dataset": prepared.info.get("format"),
        "dataset_root": prepared.info.get("root"), "architecture": tc.arch, "image_size": tc.image_size,
        "weights": config.weights if run_weights and not wants_pretrained(config.weights) else weights_note,
        "seeds": config.seeds, "arms": arms,
        "device": str(select_device(tc.device)), "device_name": _device_name(tc.device),
        "train_config": asdict(tc), "synthetic": config.synthetic, "test_manifest": config.test_manifest,
        "shared_classes": [CLASSES[i] for i in shared] if shared is not None else None,
        "test_images": len(test), "val_images": len(val), "train_images": len(real_train),
        "skinaug_version": __version__, "note_weights": weights_note,
    }
    return write_report(out, load_runs(out), meta)


def _device_name(name: str) -> str:
    device = select_device(name)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
