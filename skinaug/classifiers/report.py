"""The report of `skinaug bench-classifier`, a view of the runs (runs.py) and their summary (summary.py).

Writes into OUT/: results.json (the summary, the meta data and every run's metrics), report.md (tables for
people), confusion_<arm>.png, per_class_recall.png and training_curves.png. Every file is written atomically.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_json, write_text
from ..labels import CLASSES
from ..machine import describe_environment
from ..pictures import save_figure
from .arms import ARMS, control_of, unfinished_of
from .mixing_report import mixing_markdown
from .summary import REFERENCE_ARMS, summarise

METRIC_LABELS: dict[str, str] = {
    "mean_recall": "Mean recall",
    "balanced_accuracy": "Balanced accuracy",
    "macro_f1": "Macro F1",
    "gmean": "G-mean",
    "auroc_macro": "AUROC (macro, OvR)",
    "accuracy": "Accuracy",
}
TABLE_METRICS: tuple[str, ...] = ("mean_recall", "balanced_accuracy", "macro_f1", "gmean", "auroc_macro", "accuracy")
TEST_SET_DESCRIPTION = "real test images only"
_ARM_COLOURS = {"a": "#7f7f7f", "b": "#1f77b4", "c": "#ff7f0e", "d": "#9467bd"}
_OTHER_COLOURS = ("#2ca02c", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#d62728")


# ---------------------------------------------------------------------------------------------- figures


def _arm_colour(arm: str, order: list[str]) -> str:
    if arm in _ARM_COLOURS:
        return _ARM_COLOURS[arm]
    others = [a for a in order if a not in _ARM_COLOURS]
    return _OTHER_COLOURS[others.index(arm) % len(_OTHER_COLOURS)]


def _file_safe(arm: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", arm)


def _plot_confusion(path: Path, arm: str, info: dict[str, Any], classes: list[str], support: dict[str, int]) -> None:
    from matplotlib.figure import Figure

    counts = np.asarray(info["confusion_sum"], dtype=np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = np.where(rows > 0, counts / rows, np.nan)
    k = len(classes)
    fig = Figure(figsize=(1.0 + 0.62 * k, 0.9 + 0.58 * k), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(normalised), cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(k):
        for j in range(k):
            value = normalised[i, j]
            text = "–" if np.isnan(value) else f"{value:.2f}"
            colour = "white" if not np.isnan(value) and value > 0.55 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(k), classes, rotation=45, ha="right")
    ax.set_yticks(range(k), [f"{c} (n={support[c]})" for c in classes])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (test images)")
    seeds = info["n_runs"]
    ax.set_title(
        f"arm {arm}: {info['arm_name']}\nrow-normalised, summed over {seeds} seed{'s' * (seeds != 1)}", fontsize=9
    )
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    save_figure(fig, path)


def plot_per_class_recall(path: Path, summary: dict[str, Any]) -> None:
    """Bars of each arm's per-class recall (mean ± std over seeds) from a summary: its "classes", "arm_order",
    "test_set"["support"] and per arm "arm_name" and "per_class_recall" {class: {"mean", "std"}}."""
    from matplotlib.figure import Figure

    classes, order = summary["classes"], summary["arm_order"]
    support = summary["test_set"]["support"]
    x = np.arange(len(classes))
    width = 0.8 / max(1, len(order))
    fig = Figure(figsize=(max(6.0, 1.1 * len(classes) + 1.5), 3.8), layout="constrained")
    ax = fig.add_subplot()
    for i, arm in enumerate(order):
        info = summary["arms"][arm]
        means = np.array([info["per_class_recall"][c]["mean"] for c in classes])
        stds = np.nan_to_num(np.array([info["per_class_recall"][c]["std"] for c in classes]))
        ax.bar(
            x + (i - (len(order) - 1) / 2) * width,
            np.nan_to_num(means),
            width,
            yerr=stds,
            capsize=2,
            color=_arm_colour(arm, order),
            label=f"{arm}: {info['arm_name']}",
            error_kw={"lw": 0.8},
        )
    ax.set_xticks(x, [f"{c}\n(n={support[c]})" for c in classes])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("recall (mean ± std over seeds)")
    ax.set_title("Per-class recall on the real test images", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, ncols=min(4, len(order)), loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    save_figure(fig, path)


def _epoch_points(history: list[dict[str, Any]], key: str) -> list[tuple[Any, Any]]:
    """(epoch, value) of every history row that holds both."""
    return [(h["epoch"], h[key]) for h in history if h.get(key) is not None and h.get("epoch") is not None]


def _plot_training_curves(path: Path, runs: list[dict[str, Any]], order: list[str]) -> None:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    has_loss = any("train_loss" in h for r in runs for h in (r.get("history") or []))
    fig = Figure(figsize=(10.0 if has_loss else 6.0, 3.8), layout="constrained")
    axes = fig.subplots(1, 2 if has_loss else 1, squeeze=False)[0]
    seeds = sorted({r["seed"] for r in runs})
    styles = ["-", "--", ":", "-."]
    for run in runs:
        history = run.get("history") or []
        colour, style = _arm_colour(run["arm"], order), styles[seeds.index(run["seed"]) % len(styles)]
        points = _epoch_points(history, "val_mean_recall")
        if points:
            epochs, values = zip(*points)
            axes[0].plot(epochs, values, style, color=colour, lw=1.2)
            best = run.get("best_epoch")
            if best in epochs:
                axes[0].plot([best], [values[epochs.index(best)]], "o", color=colour, ms=4)
        if has_loss:
            points = _epoch_points(history, "train_loss")
            if points:
                epochs, values = zip(*points)
                axes[1].plot(epochs, values, style, color=colour, lw=1.2)
    axes[0].set_title("Val mean recall (dot: kept epoch)", fontsize=10)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("mean recall (real val images)")
    if has_loss:
        axes[1].set_title("Training loss", fontsize=10)
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("loss")
    for ax in axes:
        ax.grid(alpha=0.3)
    names = {r["arm"]: r.get("arm_name", ARMS.get(r["arm"], r["arm"])) for r in runs}
    handles = [Line2D([], [], color=_arm_colour(a, order), lw=2, label=f"{a}: {names[a]}") for a in order if a in names]
    handles += [
        Line2D([], [], color="black", ls=styles[i % len(styles)], lw=1.2, label=f"seed {s}")
        for i, s in enumerate(seeds)
    ]
    fig.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)
    save_figure(fig, path)


# --------------------------------------------------------------------------------------------- markdown


def _num(value: Any, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _pm(stats: dict[str, Any]) -> str:
    if stats["std"] is None or not np.isfinite(stats["std"]):
        return _num(stats["mean"])
    return f"{_num(stats['mean'])} ± {stats['std']:.3f}"


def _p(result: dict[str, Any]) -> str:
    if result["p_le_0"] == 0:
        return f"< {1 / result['n_boot']:.4f}"
    return f"{result['p_le_0']:.4f}"


def _ci(result: dict[str, Any]) -> str:
    return f"[{_num(result['ci_low'], True)}, {_num(result['ci_high'], True)}]"


def _seed_ci(result: dict[str, Any]) -> str:
    seeds = result.get("over_seeds") or {}
    if seeds.get("ci_low") is None:
        return "—"
    return f"[{_num(seeds['ci_low'], True)}, {_num(seeds['ci_high'], True)}]"


def _image_size(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        return f"{int(value)} × {int(value)} px"
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return f"{value[0]} × {value[1]} px"
    return str(value)


def _weights(meta: dict[str, Any]) -> str:
    weights = meta.get("weights")
    if not weights or str(weights).strip().lower() in {"none", "from scratch", "scratch"}:
        return "from scratch"
    return Path(str(weights)).name


def _range(values: list[Any]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}–{high}"


def kept_last_epoch(run: dict[str, Any]) -> bool:
    """True for a run trained with `select="last"`: it kept its last epoch by rule, not by its val recall."""
    return run.get("epoch_selection") == "last"


def _all_kept_last(runs: list[dict[str, Any]]) -> bool:
    return bool(runs) and all(kept_last_epoch(r) for r in runs)


def selection_rule(runs: list[dict[str, Any]]) -> str:
    """How the runs chose the epoch they kept, in words (runs made before the rule was recorded chose on val)."""
    if _all_kept_last(runs):
        return "each run keeps its last epoch (a fixed schedule: the validation images choose nothing)"
    if any(kept_last_epoch(r) for r in runs):
        return "the epoch is the last one for some runs and selected on the real validation images for others"
    return "the epoch is selected on the real validation images"


def _still_learning(runs: list[dict[str, Any]]) -> str:
    """A warning for the Epochs row when runs selected their last epoch: val recall was still rising at the end."""
    last = [
        r["name"]
        for r in runs
        if r.get("best_epoch") is not None and r.get("best_epoch") == r.get("epochs_run") and not kept_last_epoch(r)
    ]
    if not last:
        return ""
    return (
        f"; **{len(last)} of {len(runs)} runs selected their last epoch**: still learning when training stopped "
        "(more epochs may change the arms' order)"
    )


def _device_row(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """Where the runs trained, from each run's recorded environment (a benchmark resumed on another machine, or
    with other threads, holds runs from several); the report's own device where runs predate the record."""
    device = str(meta.get("device") or "—")
    if meta.get("device_name") and meta.get("device_name") != device:
        device += f" ({meta['device_name']})"
    counts: dict[str, int] = {}
    unrecorded = 0
    for run in runs:
        environment = run.get("environment")
        if isinstance(environment, dict):
            key = describe_environment(environment)
            counts[key] = counts.get(key, 0) + 1
        else:
            unrecorded += 1
    older = f"; {unrecorded} run{'s' if unrecorded != 1 else ''} from before environments were recorded"
    if not counts:
        return device
    if len(counts) == 1:
        return f"{device}; runs trained on {next(iter(counts))}" + (older if unrecorded else "")
    listed = "; ".join(f"{key}: {n} run{'s' if n != 1 else ''}" for key, n in counts.items())
    return (
        f"{device}; **runs trained in {len(counts)} environments** ({listed}{older if unrecorded else ''}): the "
        "same seed gives the same model only with the same device, torch threads and torch version, so runs of "
        "one seed compare as seed noise across them"
    )


def _meta_rows(meta: dict[str, Any], summary: dict[str, Any], runs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    test = summary["test_set"]
    seeds = ", ".join(str(s) for s in summary["seeds"])
    planned = meta.get("seeds")
    if isinstance(planned, int) and not isinstance(planned, bool) and planned > len(summary["seeds"]):
        seeds += f" ({len(summary['seeds'])} of {planned} planned seeds finished)"
    device = _device_row(meta, runs)
    train_config = meta.get("train_config")
    if not isinstance(train_config, dict):
        train_config = {}
    epochs = meta.get("epochs", train_config.get("epochs"))
    epochs_text = (
        (f"up to {epochs}; " if epochs is not None else "")
        + (
            f"ran {_range([r.get('epochs_run') for r in runs])}, "
            + (
                "kept the last epoch (a fixed schedule; val recall recorded, not used)"
                if _all_kept_last(runs)
                else f"selected epoch {_range([r.get('best_epoch') for r in runs])} "
                "(best mean recall on the real validation images)"
            )
        )
        + _still_learning(runs)
    )
    support = ", ".join(f"{c} {n}" for c, n in test["support"].items())
    rows = [
        ("Data set", str(meta.get("dataset") or "—") + (f" (`{meta['workdir']}`)" if meta.get("workdir") else "")),
        ("Image size", _image_size(meta.get("image_size", train_config.get("image_size")))),
        ("Architecture", str(meta.get("architecture") or train_config.get("arch") or "—")),
        ("Weights", _weights(meta)),
        ("Seeds", seeds),
        ("Device", device),
        ("Epochs", epochs_text),
        ("Test set", f"{TEST_SET_DESCRIPTION}: {test['n_images']} images ({support})"),
    ]
    if meta.get("not_run"):
        rows.append(("Not run (time budget spent)", ", ".join(str(r) for r in meta["not_run"])))
    if meta.get("synthetic"):
        rows.append(("Synthetic set", f"`{meta['synthetic']}`"))
    if train_config:
        shown = ", ".join(f"{k}={v}" for k, v in train_config.items() if not isinstance(v, (dict, list)))
        rows.append(("Training configuration", shown))
    if meta.get("skinaug_version"):
        rows.append(("skinaug", str(meta["skinaug_version"])))
    return rows


def _results_tables(summary: dict[str, Any], lines: list[str], title: str) -> None:
    order, arms = summary["arm_order"], summary["arms"]
    lines += [
        f"## {title}",
        "",
        "Mean ± std over seeds.",
        "",
        "| Arm | Training data | " + " | ".join(METRIC_LABELS[m] for m in TABLE_METRICS) + " | Seeds |",
        "|---|---|" + "---:|" * len(TABLE_METRICS) + "---:|",
    ]
    for arm in order:
        info = arms[arm]
        lines.append(
            f"| {arm} | {info['arm_name']} | "
            + " | ".join(_pm(info["metrics"][m]) for m in TABLE_METRICS)
            + f" | {info['n_runs']} |"
        )
    lines += [
        "",
        "Mean recall is the macro average of the per-class recalls over the classes present in the "
        "test set (the paper's metric); balanced accuracy, as scikit-learn defines it, is the same quantity. "
        "G-mean is the geometric mean of the per-class recalls; AUROC is the mean one-vs-rest AUROC.",
        "",
    ]

    gain_rows = [
        (arm, ref, arms[arm]["gains"][ref])
        for ref in REFERENCE_ARMS
        for arm in order
        if ref in arms[arm].get("gains", {})
    ]
    gain_rows += [
        (arm, str(control_of(arm)), arms[arm]["gains"][str(control_of(arm))])
        for arm in order
        if str(control_of(arm)) in arms[arm].get("gains", {})
    ]  # generated vs the copies control
    gain_rows += [
        (arm, str(unfinished_of(arm)), arms[arm]["gains"][str(unfinished_of(arm))])
        for arm in order
        if str(unfinished_of(arm)) in arms[arm].get("gains", {})
    ]  # ending on real images vs not
    boot = summary["bootstrap"]
    lines += [f"### Gains in mean recall (paired bootstrap, {boot['n_boot']} replicates)", ""]
    if gain_rows:
        lines += [
            "| Comparison | Gain in mean recall | 95 % CI, test images | P(gain ≤ 0) | 95 % CI, seeds | Seeds |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for arm, ref, gain in gain_rows:
            result = gain["mean_recall"]
            lines.append(
                f"| {arm} vs {ref} ({arms[arm]['arm_name']} vs {arms[ref]['arm_name']}) | "
                f"{_num(result['gain'], True)} | {_ci(result)} | {_p(result)} | {_seed_ci(result)} | "
                f"{', '.join(str(s) for s in gain['seeds'])} |"
            )
        lines += [
            "",
            "Gain: mean over seeds of the arm's mean recall minus the reference arm's, on the same test "
            "images. Each replicate resamples the test images with replacement within each class (every "
            "class keeps its size) and scores both arms on the same sample; the 95 % CI is the percentile "
            "interval and P(gain ≤ 0) the share of replicates without a gain. That interval covers "
            "test-set sampling only. The seeds' interval covers the training variance between seeds: the "
            "Student-t 95 % interval of the per-seed differences (seed s of the arm minus seed s of the "
            "reference, which share initial weights and data order; — with one seed). A gain is robust "
            "when both intervals exclude 0. Balanced accuracy gives the same numbers (results.json lists both).",
            "",
        ]
        if boot.get("note"):
            lines += [f"Note: {boot['note']}.", ""]
    else:
        lines += ["No reference arm (a or b) to compare with.", ""]

    classes = summary["classes"]
    support = summary["test_set"]["support"]
    lines += [
        "### Per-class recall",
        "",
        "Mean ± std over seeds; in brackets the difference from arm a (where the arm helps or hurts each class)."
        if "a" in arms
        else "Mean ± std over seeds.",
        "",
        "| Class | Test images | " + " | ".join(f"{a}: {arms[a]['arm_name']}" for a in order) + " |",
        "|---|---:|" + "---:|" * len(order),
    ]
    for c in classes:
        cells = []
        for arm in order:
            cell = _pm(arms[arm]["per_class_recall"][c])
            delta = arms[arm].get("per_class_recall_delta_vs_a", {}).get(c)
            if delta is not None:
                cell += f" ({_num(delta, True)})"
            cells.append(cell)
        lines.append(f"| {c} | {support[c]} | " + " | ".join(cells) + " |")
    lines.append("")
    extra_arms = [a for a in order if "per_class_recall_delta_vs_b" in arms[a]]
    if extra_arms:
        lines += [
            "### What the extra images add, per class (arm − b)",
            "",
            "Every arm below draws real images as arm b does plus extra (synthetic, copied or selected) "
            "images, so arm − b is the extra images' effect on each class's recall.",
            "",
            "| Arm | " + " | ".join(classes) + " |",
            "|---|" + "---:|" * len(classes),
        ]
        lines += [
            f"| {a} − b | " + " | ".join(_num(arms[a]["per_class_recall_delta_vs_b"][c], True) for c in classes) + " |"
            for a in extra_arms
        ]
        lines.append("")
    lines += [
        "### Per-class specificity",
        "",
        "Mean ± std over seeds (true negatives / all images of the other classes).",
        "",
        "| Class | " + " | ".join(order) + " |",
        "|---|" + "---:|" * len(order),
    ]
    for c in classes:
        lines.append(f"| {c} | " + " | ".join(_pm(arms[a]["per_class_specificity"][c]) for a in order) + " |")
    lines.append("")


def _markdown(
    meta: dict[str, Any], summary: dict[str, Any], runs: list[dict[str, Any]], figures: dict[str, str]
) -> str:
    lines = [
        "# Classifier benchmark: does synthetic data help?",
        "",
        f"Every arm is trained per seed and scored on the same real test images; {selection_rule(runs)}.",
        "",
        "## Setup",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in _meta_rows(meta, summary, runs)]
    lines += [
        "",
        "Arms: " + "; ".join(f"**{a}** = {summary['arms'][a]['arm_name']}" for a in summary["arm_order"]) + ".",
        "",
    ]
    _results_tables(summary, lines, "Results on the real test images")
    lines += mixing_markdown(meta, runs)
    if summary.get("external"):
        _results_tables(
            {**summary["external"], "classes": summary["classes"]}, lines, "Results on the cross-dataset test set"
        )
    lines += [
        "## Runs",
        "",
        "| Run | Training images (real + synthetic) | Epochs run | Selected epoch | Time | Mean recall |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        images = run.get("train_images") or {}
        seconds = run.get("seconds")
        time_text = f"{seconds / 60:.1f} min" if isinstance(seconds, (int, float)) else "—"
        lines.append(
            f"| {run['name']} | {images.get('real', '—')} + {images.get('synthetic', 0)} | "
            f"{run.get('epochs_run', '—')} | {run.get('best_epoch', '—')} | {time_text} | "
            f"{_num(run['metrics']['mean_recall'])} |"
        )
    lines += ["", "## Figures", ""]
    for label, name in figures.items():
        lines += [f"- [{label}]({name})", "", f"  ![{label}]({name})", ""]
    lines += ["All numbers, per run and per class, are in [results.json](results.json).", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ write


@dataclass
class BenchResult:
    """What `bench-classifier` found (the content of results.json) and where its report is."""

    meta: dict[str, Any]
    summary: dict[str, Any]
    runs: list[dict[str, Any]]
    out: Path
    notices: list[str] = field(default_factory=list)  # for the user (arms skipped, images left out)

    def as_dict(self) -> dict[str, Any]:
        """{"meta", "summary", "runs"}: what results.json holds."""
        return {"meta": self.meta, "summary": self.summary, "runs": self.runs}

    def mean_recall(self, arm: str) -> dict[str, Any]:
        """Mean recall on real test of one arm over seeds: {"mean", "std", "values"}."""
        return self.summary["arms"][arm]["metrics"]["mean_recall"]

    def summary_line(self) -> str:
        """'mean recall on real test: a 0.512±0.010, b ... -> OUT/report.md'."""
        parts = []
        for arm in self.summary["arms"]:
            recall = self.mean_recall(arm)
            parts.append(f"{arm} {recall.get('mean', float('nan')):.3f}±{recall.get('std', float('nan')):.3f}")
        return f"mean recall on real test: {', '.join(parts)} -> {self.out / 'report.md'}"


def write_report(
    out_dir: str | os.PathLike[str], runs: list[dict[str, Any]], meta: dict[str, Any], *, n_boot: int = 2000
) -> BenchResult:
    """Write results.json, report.md, confusion_<arm>.png, per_class_recall.png and training_curves.png
    into out_dir; returns what results.json holds ({"meta", "summary", "runs"}) as a BenchResult.

    meta describes the benchmark (dataset, image_size, architecture, weights, seeds, device, device_name,
    train_config / epochs, ...); meta["classes"] overrides the class names (default CLASSES).
    """
    out = Path(out_dir)
    meta = dict(meta or {})
    classes = list(meta.get("classes") or CLASSES)
    summary = summarise(runs, classes, n_boot=n_boot)
    per_run = summary.pop("runs")
    results = BenchResult(meta, summary, per_run, out)
    write_json(out / "results.json", results.as_dict())

    figures: dict[str, str] = {"Per-class recall": "per_class_recall.png"}
    plot_per_class_recall(out / "per_class_recall.png", summary)
    for arm in summary["arm_order"]:
        name = f"confusion_{_file_safe(arm)}.png"
        _plot_confusion(out / name, arm, summary["arms"][arm], classes, summary["test_set"]["support"])
        figures[f"Confusion matrix, arm {arm} ({summary['arms'][arm]['arm_name']})"] = name
    _plot_training_curves(out / "training_curves.png", per_run, summary["arm_order"])
    figures["Training curves"] = "training_curves.png"
    write_text(out / "report.md", _markdown(meta, summary, per_run, figures))
    return results
