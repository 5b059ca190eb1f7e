"""Tokenizer or transformer: which one keeps the synthetic arms below b? The reconstruct control, side by side.

    python benchmarks/reconstruct_control.py --evidence /tmp/skinaug-evidence [--arms topup] [--out DIR]

EVIDENCE is the --work folder of `evidence_ham10000.py` (work/, generator/, synthetic/, bench-classifier/). This
makes `augment --mode reconstruct` from its generator: item for item the intra set's sources and masks, with the
lesion replaced by the tokenizer's reconstruction of the source's own lesion (what in-painting would give if the
transformer drew the source's own tokens). It trains each of --arms on that set with the evidence bench's
training settings (its bench_config.json) and seed 0, and compares on the real test images, paired (bootstrap
over the test images, 1 seed: no seed variance in the CIs):

* ARM mixing generated images (the evidence run), ARM mixing reconstructions (this run), ARM mixing plain copies
  (the evidence run's control), and b;
* the real-vs-extra AUROC (class-matched) of each set.

Reading it: reconstructions scoring like the copies mean the tokenizer costs the classifier nothing and what
the transformer draws is what limits the generated arm; reconstructions scoring like the generated images mean
the tokenizer's loss of detail does. Writes OUT/reconstruct_control.md and .json (default OUT:
benchmarks/results/evidence_ham10000).
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from skinaug.atomic import read_json, write_json, write_text
from skinaug.classifiers.bench import BenchConfig, bench_classifier
from skinaug.classifiers.metrics import classification_metrics, paired_bootstrap
from skinaug.classifiers.shortcut import ShortcutConfig
from skinaug.classifiers.train import TrainConfig
from skinaug.errors import SkinaugError
from skinaug.generators.augment import AugmentConfig, augment
from skinaug.machine import describe_hardware
from skinaug.synthetic import load_synthetic

HERE = Path(__file__).resolve().parent


def _predictions(run: Path) -> dict[str, np.ndarray]:
    path = run / "predictions.npz"
    if not path.is_file():
        raise SkinaugError(f"{path}: missing; run the evidence benchmark's arm first")
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in ("y_true", "proba", "image_ids")}


def _gain(y: np.ndarray, a: np.ndarray, b: np.ndarray, n_boot: int) -> dict[str, Any]:
    return paired_bootstrap(y, [a], [b], metric="mean_recall", n_boot=n_boot, seed=0)


def _cell(gain: dict[str, Any]) -> str:
    return f"{gain['gain']:+.3f} [{gain['ci_low']:+.3f}, {gain['ci_high']:+.3f}]"


def compare(evidence: Path, control: Path, arm: str, n_boot: int) -> dict[str, Any]:
    """Mean recall of b and of ARM with generated images, reconstructions and copies; paired gains."""
    runs = {
        "b": evidence / "bench-classifier" / "runs" / "b_seed0",
        "generated": evidence / "bench-classifier" / "runs" / f"{arm}_seed0",
        "reconstructions": control / "runs" / f"{arm}_seed0",
        "copies": evidence / "bench-classifier" / "runs" / f"{arm}-copies_seed0",
    }
    preds = {name: _predictions(run) for name, run in runs.items()}
    y, ids = preds["b"]["y_true"], preds["b"]["image_ids"]
    for name, p in preds.items():
        if not (np.array_equal(p["image_ids"], ids) and np.array_equal(p["y_true"], y)):
            raise SkinaugError(f"{runs[name]}: scored on other test images than {runs['b']}")
    recall = {name: float(classification_metrics(y, p["proba"])["mean_recall"]) for name, p in preds.items()}
    rec = preds["reconstructions"]["proba"]
    return {
        "arm": arm,
        "runs": {k: str(v) for k, v in runs.items()},
        "mean_recall": recall,
        "reconstructions_vs": {ref: _gain(y, rec, preds[ref]["proba"], n_boot) for ref in ("b", "generated", "copies")},
        "generated_vs_copies": _gain(y, preds["generated"]["proba"], preds["copies"]["proba"], n_boot),
        "test_images": int(len(y)),
    }


def _markdown(command: str, rows: list[dict[str, Any]], auroc: dict[str, float | None], per_class: int) -> str:
    lines = [
        "# The reconstruct control: is it the tokenizer or the transformer?",
        "",
        f"Produced by `{command}` on {describe_hardware()} (Python {platform.python_version()}). Each arm trained "
        f"once (seed 0) with the evidence bench's settings on real train images plus {per_class} extra images per "
        "class: generated (in-painted lesions, the evidence run), **reconstructions** (the same sources and masks, "
        "the lesion replaced by the tokenizer's reconstruction of itself: this run) or plain flipped/rotated "
        "copies (the evidence run's control). Mean recall on the real test images; gains are paired bootstraps "
        "over the test images (1 seed: no seed variance in the CIs).",
        "",
        "| arm | b | with generated | with reconstructions | with copies | reconstructions − b | "
        "reconstructions − generated | reconstructions − copies | generated − copies |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        r, g = row["mean_recall"], row["reconstructions_vs"]
        lines.append(
            f"| {row['arm']} | {r['b']:.3f} | {r['generated']:.3f} | {r['reconstructions']:.3f} | {r['copies']:.3f} "
            f"| {_cell(g['b'])} | {_cell(g['generated'])} | {_cell(g['copies'])} "
            f"| {_cell(row['generated_vs_copies'])} |"
        )
    lines += [
        "",
        "Real-vs-extra AUROC (a small CNN, class-matched held-out images; 0.5 = indistinguishable): "
        + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} —" for k, v in auroc.items())
        + ".",
        "",
        "Reading: reconstructions close to the copies mean the tokenizer costs the classifier little and what the "
        "transformer draws limits the generated arm; reconstructions close to the generated images mean the "
        "tokenizer's loss of detail does.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evidence", type=Path, default=Path("/tmp/skinaug-evidence"))
    parser.add_argument("--arms", default="topup", help="comma-separated arms the evidence run trained, e.g. topup,c")
    parser.add_argument("--shortcut-steps", type=int, default=150)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "evidence_ham10000")
    args = parser.parse_args()
    command = "python benchmarks/reconstruct_control.py " + shlex.join(sys.argv[1:])
    evidence = args.evidence
    generated = load_synthetic(evidence / "synthetic")
    per_class = int(generated.manifest["label"].value_counts().max())
    recon_dir, control = evidence / "reconstruct", evidence / "bench-reconstruct"
    augment(
        evidence / "work", evidence / "generator", recon_dir, AugmentConfig(per_class=per_class, mode="reconstruct")
    )
    recorded = read_json(evidence / "bench-classifier" / "bench_config.json")
    config = BenchConfig(
        train=TrainConfig(**recorded["train"]),
        seeds=1,
        arms=args.arms,
        synthetic=str(recon_dir),
        top_up_to=recorded["mixing"]["top_up_to"],
        resolution_chain=recorded["mixing"]["resolution_chain"],
        shortcut=ShortcutConfig(steps=args.shortcut_steps),
    )
    bench_classifier(evidence / "work", control, config)
    rows = [compare(evidence, control, arm.strip(), args.bootstrap) for arm in args.arms.split(",") if arm.strip()]
    shortcut = {
        "generated": (read_json(evidence / "bench-classifier" / "shortcut.json").get("synthetic") or {}).get("auroc"),
        "reconstructions": (read_json(control / "shortcut.json").get("synthetic") or {}).get("auroc"),
        "copies": (read_json(evidence / "bench-classifier" / "shortcut.json").get("copies") or {}).get("auroc"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(
        args.out / "reconstruct_control.json",
        {"command": command, "per_class": per_class, "rows": rows, "shortcut_auroc": shortcut},
    )
    write_text(args.out / "reconstruct_control.md", _markdown(command, rows, shortcut, per_class))
    print(f"wrote {args.out / 'reconstruct_control.md'}")


if __name__ == "__main__":
    main()
