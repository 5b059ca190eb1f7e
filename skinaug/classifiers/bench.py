"""`skinaug bench-classifier`: train every arm for every seed, select on real val, report on real test.

Each finished run is saved under OUT/runs/<arm>_seed<k>/ (predictions.npz + run.json, written atomically);
a re-run skips finished runs, so an interrupted benchmark resumes where it stopped.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import io
import os
import re
from time import monotonic
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..atomic import atomic_open, read_json, write_json
from ..data import (
    DecodedImageCache,
    LabelledSubset,
    ManifestDataset,
    eval_transform,
    labelled_subset,
    real_dataset,
    require_real,
    synthetic_dataset,
    synthetic_share_of_draws,
    train_transform,
)
from ..data.transforms import Normalisation
from ..errors import SkinaugError
from ..labels import CLASSES
from ..machine import device_name, run_environment, select_device
from ..manifest import MANIFEST_NAME, Prepared, load_prepared
from ..synthetic import load_synthetic, write_copy_set
from ..pretrained import wants_pretrained
from .arms import ArmSpec, BuiltArm, build_arm, parse_arms
from .models import create_classifier, model_normalisation
from .report import BenchResult, write_report
from .runs import load_runs
from .saved import load_classifier, save_classifier
from .selection import select_by_classifier
from .shortcut import SAMPLING, ShortcutConfig, real_vs_extra_auroc
from .train import TrainConfig, default_workers, make_loader, predict_proba, train_classifier


@dataclass
class BenchConfig:
    """What to benchmark: arms, seeds, training hyper-parameters, extra image sets and how they are mixed.

    `arms`: letters ("abcd") or comma-separated arm names (see `skinaug.classifiers.arms`); `synthetic_shares`
    adds one share<P> arm per value; `copies` is a copy set for the -copies control arms (made under
    OUT/copy-set when not given, with as many images per class as the synthetic set); `top_up_to` is the N of
    the top-up arms; `resolution_chain` "match" sends every image through the synthetic images' resolution
    when they are smaller than image_size (the same path for real and synthetic images), "direct" does not;
    `shortcut` the real-vs-extra judge (None: skipped); `time_budget` (minutes of wall clock): no new run
    starts once it is spent (runs go seed by seed, so every arm gets seed 0 first); the report covers the runs
    that finished, says which were not run, and a later call with the same settings runs them.
    """

    train: TrainConfig = field(default_factory=TrainConfig)
    seeds: int = 3
    arms: str = "abcd"
    weights: str | None = None
    synthetic: str | None = None
    test_manifest: str | None = None
    save_models: bool = False
    synthetic_shares: tuple[float, ...] = ()
    copies: str | None = None
    top_up_to: int = 500
    resolution_chain: str = "match"
    shortcut: ShortcutConfig | None = field(default_factory=ShortcutConfig)
    time_budget: float | None = None


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle too
    with atomic_open(path, "wb") as handle:
        handle.write(buffer.getvalue())


def fingerprint(path: str | os.PathLike[str] | None, name: str = "") -> str | None:
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
    train = asdict(config.train)
    train.pop("workers")
    train.pop("device")
    recorded = {
        "train": train,
        "workdir_manifest": fingerprint(workdir, MANIFEST_NAME),
        "weights": fingerprint(config.weights),
        "synthetic_manifest": fingerprint(config.synthetic, MANIFEST_NAME),
        "test_manifest": fingerprint(config.test_manifest, MANIFEST_NAME),
        "copies_manifest": fingerprint(config.copies, MANIFEST_NAME),
        "mixing": {"top_up_to": config.top_up_to, "resolution_chain": config.resolution_chain},
    }
    path = out / "bench_config.json"
    if path.exists():
        previous = read_json(path)
        if isinstance(previous.get("train"), dict):  # a setting added since the folder was made ran at its default
            previous["train"] = {**{k: v for k, v in asdict(TrainConfig()).items() if k in train}, **previous["train"]}
        changed = sorted(k for k in set(previous) | set(recorded) if previous.get(k) != recorded.get(k))
        if changed:
            raise SkinaugError(
                f"{out}: holds runs made with other settings ({', '.join(changed)} differ); "
                "use another --out or delete the folder"
            )
        return
    write_json(path, recorded)


def _run_complete(folder: Path) -> bool:
    return (folder / "predictions.npz").exists() and (folder / "run.json").exists()


def _arms_to_run(config: BenchConfig, notices: list[str]) -> list[ArmSpec]:
    """The arms asked for, minus those that need a synthetic set when none is given (with a notice);
    arm b is added (and run first) when selected arms need its seed-0 model as their judge."""
    arms = parse_arms(config.arms, tuple(config.synthetic_shares))
    needs_synthetic = [a.name for a in arms if a.source in ("synthetic", "selected")]
    if needs_synthetic and not config.synthetic:
        arms = [a for a in arms if a.name not in needs_synthetic]
        notices.append(
            f"arm(s) {', '.join(needs_synthetic)} skipped: no --synthetic set given (arm c is real + synthetic)"
        )
    if not arms:
        raise SkinaugError(f"--arms {config.arms!r}: no arm left to run")
    if any(a.mixing == "d" for a in arms):
        # before any arm trains, not after the arms ahead of d (imbalanced-learn is a dependency of skinaug, but an
        # environment assembled by hand, such as a GPU image with skinaug on PYTHONPATH, may lack it or hold one
        # that does not fit its scikit-learn)
        try:
            importlib.import_module("imblearn.over_sampling")
        except ImportError as exc:
            raise SkinaugError(
                f"arm d (random oversampling) needs imbalanced-learn, which does not import here ({exc}): "
                "pip install imbalanced-learn, or leave d out of --arms"
            ) from None
    if any(a.source == "selected" for a in arms):
        arms = [ArmSpec("b", "b")] + [a for a in arms if a.name != "b"]
    return arms


def _native_size(syn_dir: str) -> int | None:
    """The side of the synthetic set's images when they are square (a generator's output), else None."""
    from PIL import Image

    syn = load_synthetic(syn_dir)
    if syn.manifest.empty:
        return None
    with Image.open(syn.image_file(syn.manifest.iloc[0])) as image:
        width, height = image.size
    return width if width == height else None


def via_size(chain: str, native: int | None, image_size: int) -> int | None:
    """The size every image passes through before `image_size` (None: resized once). "match": the synthetic
    images' own size when smaller than image_size; "direct": none; "via<N>" (e.g. via32): N px for every image,
    a low-pass that removes detail finer than image_size / N px from real and extra images alike."""
    if chain == "direct":
        return None
    if chain == "match":
        return native if native is not None and native < image_size else None
    forced = re.fullmatch(r"via(\d+)", chain)
    if forced and 0 < int(forced.group(1)) < image_size:
        return int(forced.group(1))
    raise SkinaugError(
        f"resolution chain {chain!r}: choose match, direct or via<N> with N below the image size {image_size} "
        "(e.g. via32)"
    )


def _resolution_path(tc: TrainConfig, via: int | None, native: int | None, rule: str = "match") -> str:
    """The image path in words, for the report."""
    augment = "random flips, any-angle rotation, resized crop (scale 0.75–1), colour jitter, ImageNet normalisation"
    if via is not None:
        why = "the synthetic images' own resolution" if rule == "match" else f"--resolution-chain {rule}: a low-pass"
        chain = (
            f"every image (real train/val/test, synthetic, copies) is decoded from its file, resized to "
            f"{via}×{via} px ({why}; bilinear, antialiased), then to {tc.image_size}×{tc.image_size} px"
        )
    else:
        chain = (
            f"every image is decoded from its file and resized once to {tc.image_size}×{tc.image_size} px "
            "(bilinear, antialiased; non-square images are squashed)"
        )
        if native is not None:
            chain += f"; the synthetic images are {native}×{native} px"
    return f"{chain}; training images of every kind then get the same augmentations ({augment})."


def _copy_set(config: BenchConfig, workdir: str | os.PathLike[str], out: Path, progress: bool) -> str:
    """The copy-control set: --copies, or OUT/copy-set with the synthetic set's images per class."""
    if config.copies:
        return config.copies
    per_class = config.top_up_to
    if config.synthetic:
        counts = load_synthetic(config.synthetic).manifest["label"].value_counts()
        per_class = int(counts.max()) if len(counts) else per_class
    write_copy_set(workdir, out / "copy-set", per_class, seed=0, progress=progress)
    return str(out / "copy-set")


def _draws(built: BuiltArm) -> dict[str, Any]:
    """Per-class extra share among the indices the arm's sampler draws in its first epoch (measured)."""
    drawn = (
        np.arange(len(built.labels))
        if built.sampler is None
        else np.fromiter(iter(copy.deepcopy(built.sampler)), dtype=np.int64)
    )
    return synthetic_share_of_draws(built.labels, built.is_extra, drawn)


def _external(
    config: BenchConfig,
    prepared: Prepared,
    train_labels: np.ndarray,
    cache: DecodedImageCache,
    normalisation: Normalisation,
    notices: list[str],
) -> tuple[ManifestDataset | None, np.ndarray | None]:
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
    full = real_dataset(
        config.test_manifest, ["train", "val", "test"], config.train.image_size, eval_transform(normalisation)
    )
    own_ids = set(prepared.manifest["image_id"])
    own_files = {str(prepared.image_file(r)) for r in prepared.manifest.to_dict("records")}
    shared = np.intersect1d(np.unique(train_labels), np.unique(full.labels))
    overlap = (full.frame["image_id"].isin(own_ids) | full.frame["image_file"].astype(str).isin(own_files)).to_numpy()
    keep = ~overlap & np.isin(full.labels, shared)
    if overlap.any():
        notices.append(
            f"--test-manifest: {int(overlap.sum())} image(s) also in {prepared.workdir} left out of the "
            "cross-dataset test"
        )
    if not keep.any():
        raise SkinaugError(
            f"--test-manifest {config.test_manifest}: no image left in the classes both data sets "
            "have once the training work directory's images are removed"
        )
    dataset = ManifestDataset(
        full.frame[keep].reset_index(drop=True), "real", config.train.image_size, eval_transform(normalisation), cache
    )
    require_real(dataset, "cross-dataset test")
    return dataset, shared


def _restrict(proba: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """Probabilities renormalised over the shared classes (others set to 0)."""
    out = np.zeros_like(proba)
    out[:, shared] = proba[:, shared]
    return out / np.clip(out.sum(axis=1, keepdims=True), 1e-12, None)


def bench_classifier(
    workdir: str | os.PathLike[str], out: str | os.PathLike[str], config: BenchConfig, progress: bool = True
) -> BenchResult:
    """Run (or resume) the benchmark and write the report; returns what the report found."""
    out = Path(out)
    prepared = load_prepared(workdir)
    notices: list[str] = []
    arms = _arms_to_run(config, notices)
    tc = config.train
    device = select_device(tc.device)  # bad --device: a clear error before any work
    # bad --arch/--weights fail here; "pretrained" is resolved once (to its cached file, or offline to scratch)
    first_model, weights_report = create_classifier(tc.arch, len(CLASSES), config.weights, tc.image_size)
    weights_note, run_weights = weights_report.describe(), weights_report.file
    normalisation = model_normalisation(first_model)  # the model's own mean/std (timm's data config)
    del first_model
    workers = default_workers() if tc.workers is None else tc.workers
    sources = {a.source for a in arms if a.source}
    native = _native_size(config.synthetic) if config.synthetic and sources - {"copies"} else None
    via = via_size(config.resolution_chain, native, tc.image_size)
    cache = DecodedImageCache(out / "decoded")

    def real(split: str, transform: Any) -> ManifestDataset:
        return real_dataset(workdir, split, tc.image_size, transform, cache, via_size=via)

    real_train = real("train", train_transform(tc.image_size, normalisation))
    val, test = real("val", eval_transform(normalisation)), real("test", eval_transform(normalisation))
    require_real(val, "validation")
    require_real(test, "test")
    extra_dirs: dict[str, str] = {}
    if sources & {"synthetic", "selected"}:
        extra_dirs["synthetic"] = str(config.synthetic)
    external, shared = _external(config, prepared, real_train.labels, cache, normalisation, notices)
    if "copies" in sources and config.copies:
        extra_dirs["copies"] = config.copies

    def extra(name: str, transform: Any) -> ManifestDataset:
        return synthetic_dataset(extra_dirs[name], workdir, tc.image_size, transform, cache, via_size=via)

    # every given set is loaded and its sources checked before OUT is locked
    extras: dict[str, ManifestDataset | LabelledSubset] = {
        name: extra(name, train_transform(tc.image_size, normalisation)) for name in extra_dirs
    }
    # after every input was checked, so a typo does not lock OUT; compared: the weights file used, not the word
    _check_same_config(out, workdir, replace(config, weights=run_weights))
    if "copies" in sources and "copies" not in extras:
        extra_dirs["copies"] = _copy_set(config, workdir, out, progress)
        extras["copies"] = extra("copies", train_transform(tc.image_size, normalisation))
    val_loader = make_loader(val, tc.batch_size, workers)
    test_loader = make_loader(test, tc.batch_size, workers)
    selection: dict[str, Any] | None = None
    deadline = None if config.time_budget is None else monotonic() + 60 * config.time_budget
    not_run: list[str] = []
    for seed in range(config.seeds):
        for arm in arms:
            folder = out / "runs" / f"{arm.name}_seed{seed}"
            if arm.source == "selected" and "selected" not in extras:
                kept, selection = _select(out, extra("synthetic", eval_transform(normalisation)), tc, workers)
                extras["selected"] = labelled_subset(extras["synthetic"], kept)
            if _run_complete(folder):
                continue
            if deadline is not None and monotonic() >= deadline:
                not_run.append(folder.name)
                continue
            built = build_arm(arm, real_train, extras.get(arm.source or ""), seed, config.top_up_to, tc.epochs)
            draws = _draws(built)
            loader = make_loader(
                built.dataset,
                tc.batch_size,
                workers,
                sampler=built.sampler,
                shuffle=built.sampler is None,
                seed=seed,
                drop_last=len(real_train) > tc.batch_size,
            )  # n draws per epoch
            torch.manual_seed(seed)
            model, _ = create_classifier(tc.arch, len(CLASSES), run_weights, tc.image_size)
            result = train_classifier(
                model, loader, val_loader, tc, seed, desc=f"arm {arm.name} seed {seed}", progress=progress
            )
            proba, y_true = predict_proba(result.model, test_loader, channels_last=tc.channels_last)
            if external is not None and shared is not None:
                ext_loader = make_loader(external, tc.batch_size, workers)
                ext_proba, ext_true = predict_proba(result.model, ext_loader, channels_last=tc.channels_last)
                _save_npz(
                    folder / "external_predictions.npz",
                    y_true=ext_true,
                    proba=_restrict(ext_proba, shared),
                    image_ids=external.frame["image_id"].to_numpy(str),
                )
            description = arm.describe(config.top_up_to)
            if config.save_models or (arm.name in ("a", "b") and seed == 0):
                save_classifier(
                    folder,
                    result.model,
                    tc.arch,
                    tc.image_size,
                    normalisation,
                    trained_on=f"bench-classifier arm {arm.name} ({description}), seed {seed}",
                )
            _save_npz(
                folder / "predictions.npz", y_true=y_true, proba=proba, image_ids=test.frame["image_id"].to_numpy(str)
            )
            write_json(
                folder / "run.json",
                {
                    "arm": arm.name,
                    "arm_name": description,
                    "seed": seed,
                    "best_epoch": result.best_epoch,
                    "epochs_run": result.epochs_run,
                    "epoch_selection": tc.select,
                    "seconds": result.seconds,
                    "history": result.history,
                    "train_images": {
                        "real": len(real_train),
                        "synthetic": int(built.is_extra.sum()),
                        "extra_source": arm.source,
                    },
                    "draws": draws,
                    "test_set": "real test split",
                    "weights": weights_note,
                    "environment": run_environment(device),
                },
            )
    shortcut = _shortcut(
        out,
        config,
        real_train,
        real("train", eval_transform(normalisation)),
        extras,
        lambda name: extra(name, eval_transform(normalisation)),
        workers,
    )
    meta = {
        "workdir": str(Path(workdir).resolve()),
        "dataset": prepared.info.get("format"),
        "dataset_root": prepared.info.get("root"),
        "architecture": tc.arch,
        "image_size": tc.image_size,
        "weights": config.weights if run_weights and not wants_pretrained(config.weights) else weights_note,
        "seeds": config.seeds,
        "arms": [a.name for a in arms],
        "arm_descriptions": {a.name: a.describe(config.top_up_to) for a in arms},
        "device": str(device),
        "device_name": device_name(device),
        "train_config": asdict(tc),
        "synthetic": config.synthetic,
        "test_manifest": config.test_manifest,
        "copies": extra_dirs.get("copies"),
        "top_up_to": config.top_up_to,
        "synthetic_shares": list(config.synthetic_shares),
        "resolution_chain": config.resolution_chain,
        "via_size": via,
        "resolution_path": _resolution_path(tc, via, native, config.resolution_chain),
        "shortcut": shortcut,
        "selection": selection,
        "shared_classes": [CLASSES[i] for i in shared] if shared is not None else None,
        "test_images": len(test),
        "val_images": len(val),
        "train_images": len(real_train),
        "skinaug_version": __version__,
        "note_weights": weights_note,
    }
    if not_run:
        meta["not_run"] = not_run
        notices.append(
            f"time budget of {config.time_budget:g} min spent: {len(not_run)} run(s) not started "
            f"({', '.join(not_run)}); run again with the same settings to add them"
        )
    report = write_report(out, load_runs(out), meta)
    report.notices = notices
    return report


def _select(
    out: Path, synthetic_eval: ManifestDataset, tc: TrainConfig, workers: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """Indices of the synthetic images that arm b's seed-0 model assigns to their class (+ acceptance)."""
    judge_dir = out / "runs" / "b_seed0"
    model, _ = load_classifier(judge_dir)
    model = model.to(select_device(tc.device))
    kept, summary = select_by_classifier(model, synthetic_eval, tc.batch_size, workers)
    kept_epoch = "its last epoch" if tc.select == "last" else "epoch chosen on real val"
    summary["judge"] = f"arm b's seed-0 model (real train images, weighted sampler, {kept_epoch})"
    write_json(
        out / "selection.json", {**summary, "kept_image_ids": synthetic_eval.frame["image_id"].iloc[kept].tolist()}
    )
    return kept, summary


def _shortcut(
    out: Path,
    config: BenchConfig,
    real_train: ManifestDataset,
    real_eval: ManifestDataset,
    extras: dict[str, Any],
    extra_eval: Any,
    workers: int,
) -> dict[str, Any]:
    """Real-vs-extra AUROC per extra set (computed once, kept in OUT/shortcut.json; computed again where it was
    made with another sampling of the judge's images)."""
    if config.shortcut is None or not extras:
        return {}
    path = out / "shortcut.json"
    done = read_json(path) if path.exists() else {}
    for name, train_set in extras.items():
        if done.get(name, {}).get("sampling") == SAMPLING:
            continue
        if name == "selected":
            kept = np.asarray(read_json(out / "selection.json")["kept_image_ids"], dtype=str)
            full = extra_eval("synthetic")
            eval_set = labelled_subset(full, np.flatnonzero(full.frame["image_id"].isin(kept).to_numpy()))
        else:
            eval_set = extra_eval(name)
        done[name] = real_vs_extra_auroc(
            real_train, real_eval, train_set, eval_set, config.shortcut, config.train.device, workers
        )
        write_json(path, done)
    return {name: done[name] for name in extras}
