"""The same arms trained for different numbers of epochs (and epoch rules), side by side: does the order hold?

    python benchmarks/training_length.py /tmp/ev3/bench-classifier /tmp/ev3/bench-e10 /tmp/ev3/bench-e15 \
        --arms b,share0.25,share0.25-copies --out benchmarks/results/evidence_ham10000/training_length

Each BENCH folder is a `bench-classifier` output folder (its runs/ and bench_config.json) whose runs differ from the
others' only in the number of epochs or the epoch kept (`--select-epoch val` or `last`; a run that keeps its last
epoch by rule follows the same steps as the val-chosen run of its seed up to its end). For each folder, from its
runs: every arm's mean recall on the real test images (mean ± std over seeds), each gain that the bench report shows
between the given arms (against b and against the copies control) with its two 95 % intervals (paired bootstrap over
the test images; Student-t over the per-seed differences), and per arm the epoch selected on real val against the
epochs trained (a run that selects its last epoch was still learning) with the real-val mean recall there (mean over
seeds: the number a user would choose the training length by; the test images play no part in it). Writes OUT.md,
OUT.json and OUT.png (mean recall against epochs, one line per arm and rule, seed std as error bars).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from skinaug.atomic import read_json, write_json, write_text
from skinaug.classifiers.arms import control_of
from skinaug.classifiers.runs import IncompleteRunWarning, load_runs
from skinaug.classifiers.summary import summarise
from skinaug.errors import SkinaugError
from skinaug.pictures import save_figure


def measure(bench: Path, arms: list[str], n_boot: int) -> dict[str, Any]:
    """One folder's epochs, per-arm recall, gains between ARMS and selected epochs, from its finished runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteRunWarning)
        runs = [r for r in load_runs(bench) if r["arm"] in arms]
    missing = sorted(set(arms) - {r["arm"] for r in runs})
    if missing:
        raise SkinaugError(f"{bench}: no finished run of arm(s) {', '.join(missing)}")
    epochs = read_json(bench / "bench_config.json")["train"]["epochs"]
    select = runs[0]["epoch_selection"]  # load_runs takes it from the folder's settings: one rule per folder
    summary = summarise(runs, n_boot=n_boot)
    info = summary["arms"]
    gains = {}
    for arm in arms:
        for ref, gain in info[arm]["gains"].items():
            if ref in arms and ref in ("b", control_of(arm)):
                boot, seeds = gain["mean_recall"], gain["mean_recall"]["over_seeds"]
                gains[f"{arm} vs {ref}"] = {
                    "gain": boot["gain"],
                    "test_images": {k: boot[k] for k in ("ci_low", "ci_high", "p_le_0")},
                    "over_seeds": {k: seeds[k] for k in ("ci_low", "ci_high", "sd", "differences")},
                }
    return {
        "folder": str(bench),
        "epochs": int(epochs),
        "select": select,
        "recall": {a: {k: info[a]["metrics"]["mean_recall"][k] for k in ("mean", "std", "values")} for a in arms},
        "seeds": {a: info[a]["seeds"] for a in arms},
        "gains": gains,
        "selected_epoch": {a: [r["best_epoch"] for r in runs if r["arm"] == a] for a in arms},
        "val_recall": {a: float(np.mean([_selected_val(r) for r in runs if r["arm"] == a])) for a in arms},
    }


def _selected_val(run: dict[str, Any]) -> float:
    """The real-val mean recall of a run at the epoch it selected (what a user would pick the length by)."""
    return next(float(h["val_mean_recall"]) for h in run["history"] if h["epoch"] == run["best_epoch"])


def _ci(low: float | None, high: float | None) -> str:
    return "—" if low is None else f"[{low:+.3f}, {high:+.3f}]"


def label(column: dict[str, Any]) -> str:
    """A column's heading: its epochs, and the epoch-selection rule where it is not the val choice."""
    return f"{column['epochs']} epochs" + (", last epoch kept" if column.get("select") == "last" else "")


def table(columns: list[dict[str, Any]], arms: list[str]) -> list[str]:
    """Markdown: one column per folder (epochs, rule), rows for recall, gains and selected epochs."""
    lines = ["| | " + " | ".join(label(c) for c in columns) + " |", "|---|" + "---:|" * len(columns)]
    for arm in arms:
        cells = [f"{c['recall'][arm]['mean']:.3f} ± {c['recall'][arm]['std']:.3f}" for c in columns]
        lines.append(f"| {arm}: mean recall | " + " | ".join(cells) + " |")
    for name in dict.fromkeys(n for c in columns for n in c["gains"]):
        cells = []
        for c in columns:
            g = c["gains"].get(name)
            cells.append(
                "—"
                if g is None
                else f"{g['gain']:+.3f} {_ci(g['test_images']['ci_low'], g['test_images']['ci_high'])}; "
                f"seeds {_ci(g['over_seeds']['ci_low'], g['over_seeds']['ci_high'])}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for arm in arms:
        cells = [f"{c['val_recall'][arm]:.3f}" for c in columns]
        lines.append(f"| {arm}: real-val mean recall at the kept epoch | " + " | ".join(cells) + " |")
    for arm in arms:
        cells = [
            "the last, by rule"
            if c.get("select") == "last"
            else ", ".join(str(e) for e in c["selected_epoch"][arm])
            + f" ({sum(e == c['epochs'] for e in c['selected_epoch'][arm])} last)"
            for c in columns
        ]
        lines.append(f"| {arm}: epoch selected on val, per seed | " + " | ".join(cells) + " |")
    return lines


def plot(columns: list[dict[str, Any]], arms: list[str], path: Path) -> None:
    """Mean recall on the real test images against epochs trained, one line per arm (seed std as bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for rule, style in (("val", ("o", "-")), ("last", ("s", "--"))):
        chosen = [c for c in columns if c.get("select", "val") == rule]
        if not chosen:
            continue
        x = np.array([c["epochs"] for c in chosen])
        for i, arm in enumerate(arms):
            mean = np.array([c["recall"][arm]["mean"] for c in chosen])
            std = np.array([c["recall"][arm]["std"] for c in chosen])
            name = arm if rule == "val" else f"{arm} (last epoch kept)"
            offset = (i - 1) * 0.15 + (0.3 if rule == "last" else 0.0)
            ax.errorbar(x + offset, mean, yerr=std, marker=style[0], ls=style[1], capsize=3, color=f"C{i}", label=name)
    ax.set_xlabel("epochs trained (cosine schedule over them)")
    ax.set_ylabel("mean recall, real test images")
    ax.set_xticks(sorted({c["epochs"] for c in columns}))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", type=Path, nargs="+", help="bench-classifier output folders")
    parser.add_argument("--arms", default="b,share0.25,share0.25-copies")
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("training_length"))
    args = parser.parse_args()
    arms = args.arms.split(",")
    try:
        columns = sorted(
            (measure(b, arms, args.bootstrap) for b in args.benches), key=lambda c: (c["epochs"], c["select"] == "last")
        )
    except SkinaugError as exc:
        raise SystemExit(f"error: {exc}") from None
    text = [
        "# The same arms trained for different numbers of epochs, and with the last epoch kept",
        "",
        "Mean recall on the real test images (mean ± std over seeds); gains: mean over seeds [95 % paired bootstrap"
        " over the test images]; seeds [95 % Student-t interval of the per-seed differences]; the epoch each run "
        'selected on real val ("last": still learning when it stopped), or the last epoch kept by rule (a fixed '
        "schedule: val chooses nothing), and the real-val recall there. Folders: "
        + ", ".join(f"`{c['folder']}` ({label(c)})" for c in columns)
        + ".",
        "",
        *table(columns, arms),
        "",
        f"![mean recall against epochs]({args.out.name}.png)",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.out.with_suffix(".md"), "\n".join(text))
    write_json(args.out.with_suffix(".json"), {"arms": arms, "columns": columns})
    plot(columns, arms, args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
