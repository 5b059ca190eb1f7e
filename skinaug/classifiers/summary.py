"""Summary statistics of the benchmark runs: mean ± std over seeds per arm, paired bootstrap gains."""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from ..errors import SkinaugError
from ..labels import CLASSES
from .arms import ARMS, control_of, unfinished_of, uses_extra
from .metrics import SCALAR_METRICS, classification_metrics, paired_bootstrap, seed_paired_interval

GAIN_METRICS: tuple[str, ...] = ("mean_recall", "balanced_accuracy")
REFERENCE_ARMS: tuple[str, ...] = ("a", "b")


def _mean_std(values: Sequence[float]) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof=1; NaN with one value) over seeds."""
    arr = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(arr.mean()) if arr.size else float("nan"),
        "std": float(arr.std(ddof=1)) if arr.size > 1 else float("nan"),
        "values": [float(v) for v in arr],
    }


def _check_pairing(entries: list[dict[str, Any]], what: str) -> None:
    """The arms of one seed must have been scored on the same images in the same order."""
    first_of_seed: dict[Any, dict[str, Any]] = {}
    for entry in entries:
        ref = first_of_seed.setdefault(entry["seed"], entry)
        if ref is entry:
            continue
        if not (
            np.array_equal(ref["image_ids"], entry["image_ids"]) and np.array_equal(ref["y_true"], entry["y_true"])
        ):
            raise SkinaugError(
                f"runs {ref['name']} and {entry['name']} (seed {entry['seed']}) were scored on different {what} "
                "images; the arms of one seed must share them (a stale run folder from another work directory?) "
                "- delete the stale folders and rerun"
            )


def _common_images(
    entries: list[dict[str, Any]], what: str
) -> tuple[np.ndarray | None, dict[str, np.ndarray], str | None]:
    """The test images every run shares: (y_true, {run name: proba in that order}, note or None)."""
    ref = entries[0]
    if all(
        np.array_equal(ref["image_ids"], e["image_ids"]) and np.array_equal(ref["y_true"], e["y_true"]) for e in entries
    ):
        return ref["y_true"], {e["name"]: e["proba"] for e in entries}, None
    common = ref["image_ids"]
    for entry in entries:
        if np.unique(entry["image_ids"]).size != entry["image_ids"].size:
            raise SkinaugError(f"run {entry['name']}: duplicate image ids in its {what} predictions")
        common = common[np.isin(common, entry["image_ids"])]
    if common.size == 0:
        note = f"the seeds share no {what} image, so no paired bootstrap"
        warnings.warn(note, stacklevel=3)
        return None, {}, note
    y_common = None
    aligned: dict[str, np.ndarray] = {}
    for entry in entries:
        position = {image_id: i for i, image_id in enumerate(entry["image_ids"])}
        order = np.array([position[image_id] for image_id in common])
        y = entry["y_true"][order]
        if y_common is None:
            y_common = y
        elif not np.array_equal(y, y_common):
            raise SkinaugError(f"run {entry['name']}: the same {what} image has different labels in different runs")
        aligned[entry["name"]] = entry["proba"][order]
    note = (
        f"the seeds were scored on different {what} images; the bootstrap uses the {common.size} images they all share"
    )
    warnings.warn(note, stacklevel=3)
    return y_common, aligned, note


def _summarise_set(
    entries: list[dict[str, Any]], classes: list[str], what: str, n_boot: int, boot_seed: int
) -> dict[str, Any]:
    """Per-arm mean ± std, per-class recall, bootstrap gains and per-class deltas of one test set."""
    _check_pairing(entries, what)
    arm_order = sorted({e["arm"] for e in entries})
    by_arm = {arm: sorted((e for e in entries if e["arm"] == arm), key=lambda e: e["seed"]) for arm in arm_order}
    y_common, aligned, note = _common_images(entries, what)
    k = len(classes)
    arms: dict[str, dict[str, Any]] = {}
    for arm, runs in by_arm.items():
        confusion = np.zeros((k, k), dtype=np.int64)
        for run in runs:
            confusion += np.asarray(run["metrics"]["confusion"], dtype=np.int64)
        arms[arm] = {
            "arm_name": runs[0].get("arm_name", ARMS.get(arm, arm)),
            "seeds": [r["seed"] for r in runs],
            "n_runs": len(runs),
            "metrics": {m: _mean_std([r["metrics"][m] for r in runs]) for m in SCALAR_METRICS},
            "per_class_recall": {c: _mean_std([r["metrics"]["per_class"][c]["recall"] for r in runs]) for c in classes},
            "per_class_specificity": {
                c: _mean_std([r["metrics"]["per_class"][c]["specificity"] for r in runs]) for c in classes
            },
            "confusion_sum": confusion.tolist(),
            "gains": {},
        }
    for arm in arm_order:
        for ref in (*REFERENCE_ARMS, control_of(arm), unfinished_of(arm)):
            if ref not in by_arm or arm == ref or (ref == "b" and arm == "a") or y_common is None:
                continue
            seeds = sorted({r["seed"] for r in by_arm[arm]} & {r["seed"] for r in by_arm[ref]})
            if not seeds:
                continue
            proba_arm = [aligned[r["name"]] for r in by_arm[arm] if r["seed"] in seeds]
            proba_ref = [aligned[r["name"]] for r in by_arm[ref] if r["seed"] in seeds]
            per_seed = {
                m: [[r["metrics"][m] for r in by_arm[side] if r["seed"] in seeds] for side in (arm, ref)]
                for m in GAIN_METRICS
            }
            arms[arm]["gains"][ref] = {
                "seeds": seeds,
                **{
                    m: {
                        **paired_bootstrap(y_common, proba_arm, proba_ref, metric=m, n_boot=n_boot, seed=boot_seed),
                        "over_seeds": seed_paired_interval(*per_seed[m]),
                    }
                    for m in GAIN_METRICS
                },
            }
    if "a" in arms:
        base = arms["a"]["per_class_recall"]
        for arm in arm_order:
            if arm != "a":
                arms[arm]["per_class_recall_delta_vs_a"] = {
                    c: arms[arm]["per_class_recall"][c]["mean"] - base[c]["mean"] for c in classes
                }
    for arm in (a for a in arm_order if "b" in arms and uses_extra(a)):  # what the extra images add to b
        arms[arm]["per_class_recall_delta_vs_b"] = {
            c: arms[arm]["per_class_recall"][c]["mean"] - arms["b"]["per_class_recall"][c]["mean"] for c in classes
        }
    first = entries[0]
    support = np.bincount(first["y_true"], minlength=k)
    return {
        "arm_order": arm_order,
        "arms": arms,
        "test_set": {
            "description": what,
            "n_images": int(first["y_true"].size),
            "support": {c: int(n) for c, n in zip(classes, support)},
            "same_images_across_seeds": note is None,
            "bootstrap_images": int(y_common.size) if y_common is not None else 0,
        },
        "bootstrap": {
            "n_boot": int(n_boot),
            "seed": int(boot_seed),
            "stratified_by_class": True,
            "interval": "95 % percentile",
            "metrics": list(GAIN_METRICS),
            "note": note,
        },
    }


def summarise(
    runs: list[dict[str, Any]], classes: Sequence[str] = CLASSES, *, n_boot: int = 2000, boot_seed: int = 0
) -> dict[str, Any]:
    """Summary of the runs of load_runs(): per arm, mean ± std over seeds of every scalar metric and of
    each class's recall; paired bootstrap gains (mean recall, balanced accuracy; each with "over_seeds", the
    seed-paired t interval) of each arm over arm a and over arm b where present ("gains": {reference:
    {...}}); each class's recall minus arm a's
    ("per_class_recall_delta_vs_a"). Std is the sample std over seeds (NaN for a single seed).

    Returns {"classes", "arm_order", "seeds", "arms", "test_set", "bootstrap", "external" (the same for
    the cross-dataset test set when every run has one, else None), "runs" (per-run metrics)}.
    """
    classes = list(classes)
    if not runs:
        raise SkinaugError("no complete benchmark runs to summarise")
    entries, external = [], []
    per_run: list[dict[str, Any]] = []
    for run in runs:
        metrics = classification_metrics(run["y_true"], run["proba"], classes)
        entry = {
            "name": run.get("name", f"{run['arm']}_seed{run['seed']}"),
            "arm": run["arm"],
            "seed": run["seed"],
            "arm_name": run.get("arm_name", ARMS.get(run["arm"], run["arm"])),
            "y_true": np.asarray(run["y_true"]),
            "proba": np.asarray(run["proba"]),
            "image_ids": np.asarray(run["image_ids"]).astype(str),
            "metrics": metrics,
        }
        entries.append(entry)
        record = {
            key: run.get(key)
            for key in (
                "name",
                "arm",
                "arm_name",
                "seed",
                "best_epoch",
                "epochs_run",
                "epoch_selection",
                "seconds",
                "train_images",
                "weights",
                "test_set",
                "history",
                "draws",
                "environment",
            )
        }
        record.update(name=entry["name"], arm_name=entry["arm_name"], metrics=metrics)
        if run.get("external") is not None:
            ext = run["external"]
            ext_metrics = classification_metrics(ext["y_true"], ext["proba"], classes)
            external.append(
                {
                    **entry,
                    "y_true": np.asarray(ext["y_true"]),
                    "proba": np.asarray(ext["proba"]),
                    "image_ids": np.asarray(ext["image_ids"]).astype(str),
                    "metrics": ext_metrics,
                }
            )
            record["external_metrics"] = ext_metrics
        per_run.append(record)
    summary = {"classes": classes, **_summarise_set(entries, classes, "test", n_boot, boot_seed)}
    summary["seeds"] = sorted({e["seed"] for e in entries})
    summary["external"] = (
        _summarise_set(external, classes, "external test", n_boot, boot_seed)
        if external and len(external) == len(entries)
        else None
    )
    summary["runs"] = per_run
    return summary
