"""One arm trained on several synthetic sets, side by side: which set helps, against b, its copies and each other?

    python benchmarks/compare_synthetic_sets.py --arm share0.25 \
        --set intra=/tmp/ev5/bench-intra --set inter=/tmp/ev5/bench-inter --out T/comparison

Each SET is a `bench-classifier` output folder whose ARM runs used that set (e.g. the same generator's intra and
inter sets), with the same classifier settings. The runs that use no generated image (arm b and ARM's copies
control) are the same in every folder: they are read from whichever folder has them, and a folder whose copy
of one differs (other predictions) is refused. Per set: ARM's mean recall on the real test images (mean ± std
over seeds), its gain against b, against its copies control and against every earlier set, each with its two
95 % intervals (paired bootstrap over the test images; Student-t over the per-seed differences, seeds paired),
per-class recall, and the folder's real-vs-synthetic judge AUROC where its shortcut.json has one. Writes OUT.md,
OUT.json and OUT.png (per-class recall of b, the copies and each set).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from skinaug.atomic import read_json, write_json, write_text
from skinaug.classifiers.arms import control_of
from skinaug.classifiers.metrics import classification_metrics, paired_bootstrap, seed_paired_interval
from skinaug.classifiers.report import plot_per_class_recall
from skinaug.classifiers.runs import IncompleteRunWarning, load_runs
from skinaug.errors import SkinaugError
from skinaug.labels import CLASSES

Runs = dict[int, dict[str, Any]]  # seed -> run (load_runs' dict)


def _runs_of(folder: Path, arm: str) -> Runs:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteRunWarning)
        return {int(r["seed"]): r for r in load_runs(folder) if r["arm"] == arm}


def shared_runs(folders: dict[str, Path], arm: str) -> Runs:
    """The runs of a reference arm (no generated image) from every folder that has them; refused where two
    folders hold different runs under one name."""
    found: Runs = {}
    where: dict[int, Path] = {}
    for folder in folders.values():
        for seed, run in _runs_of(folder, arm).items():
            if seed not in found:
                found[seed], where[seed] = run, folder
            elif not np.array_equal(found[seed]["proba"], run["proba"]):
                raise SkinaugError(
                    f"{folder}/runs/{arm}_seed{seed}: other predictions than {where[seed]}/runs/{arm}_seed{seed}; "
                    "the sets' folders must share the runs that use no generated image"
                )
    return found


def gain(arm: Runs, ref: Runs, n_boot: int) -> dict[str, Any] | None:
    """ARM minus REF on the seeds both have: paired bootstrap over the test images and the seed interval."""
    seeds = sorted(set(arm) & set(ref))
    if not seeds:
        return None
    y = arm[seeds[0]]["y_true"]
    for side in (arm, ref):
        for s in seeds:
            if not np.array_equal(side[s]["y_true"], y) or not np.array_equal(
                side[s]["image_ids"], arm[seeds[0]]["image_ids"]
            ):
                raise SkinaugError(f"run {side[s]['name']}: scored on other test images than {arm[seeds[0]]['name']}")
    boot = paired_bootstrap(y, [arm[s]["proba"] for s in seeds], [ref[s]["proba"] for s in seeds], n_boot=n_boot)
    score = lambda runs: [_recall(runs[s]) for s in seeds]  # noqa: E731
    return {"seeds": seeds, **boot, "over_seeds": seed_paired_interval(score(arm), score(ref))}


def _recall(run: dict[str, Any]) -> float:
    return float(classification_metrics(run["y_true"], run["proba"], CLASSES)["mean_recall"])


def _per_class(runs: Runs) -> dict[str, dict[str, float]]:
    """class -> {"mean", "std"} of its recall over the seeds (std 0 with one seed)."""
    recalls = [classification_metrics(r["y_true"], r["proba"], CLASSES)["per_class"] for r in runs.values()]
    values = {c: [p[c]["recall"] for p in recalls] for c in CLASSES}
    return {
        c: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0}
        for c, v in values.items()
    }


def _auroc(folder: Path) -> float | None:
    path = folder / "shortcut.json"
    if not path.is_file():
        return None
    value = (read_json(path).get("synthetic") or {}).get("auroc")
    return None if value is None else float(value)


def compare(folders: dict[str, Path], arm: str, n_boot: int) -> dict[str, Any]:
    """The table's numbers: every set's ARM against b, its copies control and every earlier set."""
    b, copies = shared_runs(folders, "b"), shared_runs(folders, control_of(arm))
    if not b:
        raise SkinaugError(f"no finished run of arm b in {', '.join(map(str, folders.values()))}")
    sets: dict[str, Runs] = {}
    for name, folder in folders.items():
        sets[name] = _runs_of(folder, arm)
        if not sets[name]:
            raise SkinaugError(f"{folder}: no finished run of arm {arm}")
    rows: dict[str, Any] = {}
    for i, (name, runs) in enumerate(sets.items()):
        scores = [_recall(r) for r in runs.values()]
        rows[name] = {
            "folder": str(folders[name]),
            "seeds": sorted(runs),
            "mean_recall": float(np.mean(scores)),
            "std": float(np.std(scores, ddof=1)) if len(scores) > 1 else None,
            "vs_b": gain(runs, b, n_boot),
            "vs_copies": gain(runs, copies, n_boot) if copies else None,
            "vs_sets": {other: gain(runs, sets[other], n_boot) for other in list(sets)[:i]},
            "per_class": _per_class(runs),
            "judge_auroc": _auroc(folders[name]),
        }
    references = {"b": b, control_of(arm): copies}
    return {
        "arm": arm,
        "sets": rows,
        "references": {
            ref: {
                "seeds": sorted(runs),
                "mean_recall": float(np.mean([_recall(r) for r in runs.values()])),
                "per_class": _per_class(runs),
            }
            for ref, runs in references.items()
            if runs
        },
        "support": {
            c: int(n) for c, n in zip(CLASSES, np.bincount(next(iter(b.values()))["y_true"], minlength=len(CLASSES)))
        },
        "n_boot": n_boot,
    }


def _cell(g: dict[str, Any] | None) -> str:
    if g is None:
        return "—"
    seeds = g["over_seeds"]
    text = f"{g['gain']:+.3f} [{g['ci_low']:+.3f}, {g['ci_high']:+.3f}]"
    if seeds["ci_low"] is not None:
        text += f"; seeds [{seeds['ci_low']:+.3f}, {seeds['ci_high']:+.3f}]"
    return f"**{text}**" if g["ci_low"] > 0 and seeds["ci_low"] is not None and seeds["ci_low"] > 0 else text


def markdown(result: dict[str, Any], command: str) -> str:
    """The comparison as a Markdown page."""
    arm, sets, refs = result["arm"], result["sets"], result["references"]
    names = list(sets)
    lines = [
        f"# Arm {arm} on {len(sets)} synthetic sets, side by side",
        "",
        f"`{command}`",
        "",
        "Mean recall on the real test images; gains with two 95 % intervals: paired bootstrap over the test images "
        f"({result['n_boot']} replicates), then Student-t over the per-seed differences (seeds paired). **Bold**: "
        "both above 0. Judge AUROC: a small CNN telling the set's images from real train images (0.5: not at all).",
        "",
        "| set | seeds | mean recall | vs b | vs its copies | "
        + " | ".join(f"vs {n}" for n in names[:-1])
        + " | judge AUROC |",
        "|---|---|---:|---:|---:|" + "---:|" * (len(names) - 1) + "---:|",
    ]
    for name, row in sets.items():
        std = "" if row["std"] is None else f" ± {row['std']:.3f}"
        others = [_cell(row["vs_sets"].get(n)) for n in names[:-1]]
        auroc = "—" if row["judge_auroc"] is None else f"{row['judge_auroc']:.3f}"
        lines.append(
            f"| {name} | {len(row['seeds'])} | {row['mean_recall']:.3f}{std} | {_cell(row['vs_b'])} | "
            f"{_cell(row['vs_copies'])} | " + " | ".join(others) + f" | {auroc} |"
        )
    for ref, info in refs.items():
        lines.append(
            f"| {ref} (no generated image) | {len(info['seeds'])} | {info['mean_recall']:.3f} | | | "
            + " | " * (len(names) - 1)
            + " |"
        )
    lines += [
        "",
        "Per-class recall (mean over seeds):",
        "",
        "| | " + " | ".join(CLASSES) + " |",
        "|---|" + "---:|" * len(CLASSES),
    ]
    for label, per in [(r, refs[r]["per_class"]) for r in refs] + [
        (f"{arm} ({n})", sets[n]["per_class"]) for n in names
    ]:
        lines.append(f"| {label} | " + " | ".join(f"{per[c]['mean']:.2f}" for c in CLASSES) + " |")
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], path: Path) -> None:
    """Per-class recall bars (mean ± std over seeds): the references, then ARM on each set."""
    bars = {ref: ("no generated image", info["per_class"]) for ref, info in result["references"].items()}
    bars |= {f"{result['arm']} ({n})": ("generated", row["per_class"]) for n, row in result["sets"].items()}
    plot_per_class_recall(
        path,
        {
            "classes": CLASSES,
            "arm_order": list(bars),
            "test_set": {"support": result["support"]},
            "arms": {arm: {"arm_name": name, "per_class_recall": per} for arm, (name, per) in bars.items()},
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arm", default="share0.25")
    parser.add_argument("--set", action="append", required=True, metavar="NAME=BENCH_FOLDER")
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--out", type=Path, required=True, help="OUT.md, OUT.json and OUT.png are written")
    args = parser.parse_args()
    folders: dict[str, Path] = {}
    for item in args.set:
        name, sep, folder = item.partition("=")
        if not sep or not name or not Path(folder).is_dir():
            parser.error(f"--set {item!r}: expected NAME=BENCH_FOLDER with an existing folder")
        folders[name] = Path(folder)
    try:
        result = compare(folders, args.arm, args.bootstrap)
    except SkinaugError as exc:
        raise SystemExit(f"compare_synthetic_sets: {exc}") from None
    command = "python benchmarks/compare_synthetic_sets.py " + " ".join(
        [f"--arm {args.arm}"] + [f"--set {s}" for s in args.set] + [f"--out {args.out}"]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out.with_suffix(".json"), result)
    write_text(args.out.with_suffix(".md"), markdown(result, command))
    plot(result, args.out.with_suffix(".png"))
    print(f"compare_synthetic_sets: -> {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
