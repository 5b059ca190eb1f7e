"""Every comparison of the HAM10000 evidence in one table and one figure, read from the committed reports.

    python benchmarks/evidence_summary.py [--results benchmarks/results/evidence_ham10000]

For each evidence run (a bench-classifier folder with its results.json, listed in RUNS with the generator and the
classifier settings it used), every arm that trains on generated images is set against arm b (real images, class-
weighted sampler) and against its copies control (the same mixing of flipped/rotated copies of train images),
with both 95 % intervals the reports give: a paired bootstrap over the real test images and a Student-t interval
of the per-seed differences. Writes summary.md and summary.png into the results folder; trains nothing.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skinaug.atomic import write_text

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "evidence_ham10000"


@dataclass(frozen=True)
class EvidenceRun:
    """One bench-classifier folder of the evidence and what produced it."""

    folder: str  # relative to the results folder ("." = run 2's own report)
    label: str
    generator: str
    classifier: str
    judge_from: str | None = None  # the folder whose report judged the same synthetic set (when this one did not)


RUNS: tuple[EvidenceRun, ...] = (
    EvidenceRun(
        "run1_base_tokenizer",
        "run 1",
        "base tokenizer (72 % retention), transformer 1,000 steps",
        "5 epochs, val-selected",
    ),
    EvidenceRun(".", "run 2", "classifier-feature tokenizer (91 %), transformer 1,000 steps", "5 epochs, val-selected"),
    EvidenceRun("lowpass_via32", "run 2, via 32 px", "run 2's, every image through 32 px", "5 epochs, val-selected"),
    EvidenceRun("transformer3000", "run 3", "run 2's tokenizer, transformer 3,000 steps", "5 epochs, val-selected"),
    EvidenceRun("epochs10", "run 3, 10 epochs", "run 3's", "10 epochs, val-selected", "transformer3000"),
    EvidenceRun("epochs15", "run 3, 15 epochs", "run 3's", "15 epochs, val-selected", "transformer3000"),
    EvidenceRun("last10", "run 3, last of 10", "run 3's", "10 epochs, last epoch kept", "transformer3000"),
    EvidenceRun(
        "balanced/last10",
        "run 4, last of 10",
        "class-balanced tokenizer (99 %) and transformer, 3,000 steps",
        "10 epochs, last epoch kept",
        "balanced",
    ),
    EvidenceRun(
        "inter/intra",
        "run 5, intra",
        "run 2's recipe trained anew (transformer 1,000 steps); intra set",
        "10 epochs, last epoch kept",
    ),
    EvidenceRun(
        "inter/inter",
        "run 5, inter",
        "the same generator; inter set (lesions drawn into other classes' images)",
        "10 epochs, last epoch kept",
    ),
    EvidenceRun(
        "scarce/inter",
        "run 6, scarce",
        "run 5's recipe on a quarter of the train lesions (1,404 images); inter set",
        "12 epochs of the 1,404 images, last epoch kept",
    ),
    EvidenceRun(
        "scarce/intra",
        "run 6, scarce intra",
        "the same generator; intra set",
        "12 epochs of the 1,404 images, last epoch kept",
    ),
    EvidenceRun(
        "scarce/inter_class_mean",
        "run 6c, scarce",
        "the same generator; inter set conditioned on the class-mean measurements",
        "12 epochs of the 1,404 images, last epoch kept",
    ),
)


def _bench(results: dict[str, Any]) -> dict[str, Any]:
    """The bench-classifier part of a results.json (the evidence script nests it under "bench")."""
    return results["bench"] if "bench" in results else results


def _judge_auroc(bench: dict[str, Any]) -> float | None:
    """The held-out AUROC of the small CNN that tells the synthetic set from real train images, if measured."""
    shortcut = (bench.get("meta") or {}).get("shortcut") or {}
    auroc = (shortcut.get("synthetic") or {}).get("auroc")
    return float(auroc) if auroc is not None else None


def _is_generated(arm: str) -> bool:
    """Arms that train on generated images: every arm but the real-only a, b, d and the copies controls."""
    return arm not in ("a", "b", "d") and "-copies" not in arm


def _control(arm: str) -> str:
    """The copies twin of a generated arm: share0.5-finish2 -> share0.5-copies-finish2, c -> c-copies."""
    head, _, finish = arm.partition("-finish")
    head = head.replace("-selected", "")
    return f"{head}-copies" + (f"-finish{finish}" if finish else "")


def _interval(gain: dict[str, Any] | None) -> dict[str, float] | None:
    if not gain:
        return None
    seeds = gain.get("over_seeds") or {}
    return {
        "gain": float(gain["gain"]),
        "low": float(gain["ci_low"]),
        "high": float(gain["ci_high"]),
        "seed_low": float(seeds.get("ci_low", math.nan)),
        "seed_high": float(seeds.get("ci_high", math.nan)),
        "n_seeds": int(seeds.get("n_seeds", gain.get("n_seeds_a", 0))),
    }


def comparisons(results_dir: Path, runs: tuple[EvidenceRun, ...] = RUNS) -> list[dict[str, Any]]:
    """One row per generated arm of every run: its mean recall and its gains against b and against its copies."""
    rows = []
    for run in runs:
        path = results_dir / run.folder / "results.json"
        bench = _bench(json.loads(path.read_text()))
        arms = bench["summary"]["arms"]
        auroc = _judge_auroc(bench)
        if auroc is None and run.judge_from is not None:
            auroc = _judge_auroc(_bench(json.loads((results_dir / run.judge_from / "results.json").read_text())))
        for arm, info in arms.items():
            if not _is_generated(arm):
                continue
            gains = info.get("gains") or {}
            control = _control(arm)
            rows.append(
                {
                    "run": run.label,
                    "folder": run.folder,
                    "generator": run.generator,
                    "classifier": run.classifier,
                    "arm": arm,
                    "mean_recall": float(info["metrics"]["mean_recall"]["mean"]),
                    "b": float(arms["b"]["metrics"]["mean_recall"]["mean"]) if "b" in arms else math.nan,
                    "vs_b": _interval((gains.get("b") or {}).get("mean_recall")),
                    "control": control if control in arms else None,
                    "vs_copies": _interval((gains.get(control) or {}).get("mean_recall")),
                    "judge_auroc": auroc,
                }
            )
    return rows


def _cell(interval: dict[str, float] | None) -> str:
    if interval is None:
        return "—"
    seeds = (
        f"; seeds [{interval['seed_low']:+.3f}, {interval['seed_high']:+.3f}]"
        if not math.isnan(interval["seed_low"])
        else ""
    )
    above = interval["low"] > 0 and not math.isnan(interval["seed_low"]) and interval["seed_low"] > 0
    text = f"{interval['gain']:+.3f} [{interval['low']:+.3f}, {interval['high']:+.3f}]{seeds}"
    return f"**{text}**" if above else text


def markdown(rows: list[dict[str, Any]], runs: tuple[EvidenceRun, ...] = RUNS) -> str:
    """summary.md: the settings of each run, then every generated arm against b and against its copies."""
    lines = [
        "# The HAM10000 evidence in one table",
        "",
        "Written by `python benchmarks/evidence_summary.py` from the committed `results.json` of each run (nothing "
        "trained). Mean recall on the 1,601 real test images, ResNet-18 from scratch at 64 px; gains with two 95 % "
        "intervals: a paired bootstrap over the test images, then a t-interval over the per-seed differences "
        "(seeds; none where a run had one seed or predates it). **Bold**: both intervals above 0. Arm b: real "
        "images, class-weighted sampler. `-copies`: the "
        "same mixing with flipped/rotated/colour-shifted copies of train images instead of generated ones.",
        "",
        "| run | generator | classifier | folder |",
        "|---|---|---|---|",
        *(f"| {r.label} | {r.generator} | {r.classifier} | [{r.folder}]({r.folder}/) |" for r in runs),
        "",
        "| run | arm | seeds | mean recall | b | vs b | vs its copies | judge AUROC |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        seeds = (row["vs_b"] or {}).get("n_seeds", "")
        auroc = f"{row['judge_auroc']:.3f}" if row["judge_auroc"] is not None else "—"
        lines.append(
            f"| {row['run']} | {row['arm']} | {seeds} | {row['mean_recall']:.3f} | {row['b']:.3f} | "
            f"{_cell(row['vs_b'])} | {_cell(row['vs_copies'])} | {auroc} |"
        )
    above_b = [r for r in rows if r["vs_b"] and "**" in _cell(r["vs_b"])]
    above_copies = [r for r in rows if r["vs_copies"] and "**" in _cell(r["vs_copies"])]
    lines += [
        "",
        f"{len(rows)} comparisons of a generated arm with b: **{len(above_b)} above b** on both intervals; "
        f"{len(above_copies)} above its copies control on both. Judge AUROC: how well a small CNN tells the "
        "generated images from real train images (0.5: not at all); runs that reuse a synthetic set show the "
        "AUROC measured on it in the run that made it.",
        "",
        "![every generated arm against b and against its copies](summary.png)",
        "",
    ]
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """A forest plot: every generated arm's gain against b (left) and against its copies (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['run']}: {r['arm']}" for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.32 * len(rows) + 1.6), sharex=True, sharey=True)
    for ax, key, title in ((axes[0], "vs_b", "against arm b"), (axes[1], "vs_copies", "against its copies")):
        for y, row in enumerate(rows):
            interval = row[key]
            if interval is None:
                continue
            if not math.isnan(interval["seed_low"]):
                ax.plot([interval["seed_low"], interval["seed_high"]], [y, y], color="0.7", lw=1)
            ax.plot([interval["low"], interval["high"]], [y, y], color="tab:blue", lw=3)
            ax.plot(interval["gain"], y, "o", color="black", ms=4)
        ax.axvline(0, color="tab:red", lw=1)
        ax.set_title(f"gain in mean recall {title}")
        ax.set_xlabel("thick: 95 % bootstrap over test images; thin: 95 % over seeds")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(rows)), labels)
    axes[0].invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="the evidence results folder")
    args = parser.parse_args()
    rows = comparisons(args.results)
    write_text(args.results / "summary.md", markdown(rows))
    plot(rows, args.results / "summary.png")
    print(f"wrote {args.results / 'summary.md'} and summary.png ({len(rows)} comparisons)")


if __name__ == "__main__":
    main()
