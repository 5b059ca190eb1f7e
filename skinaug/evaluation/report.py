"""report.md of `skinaug evaluate`, written from metrics.json's dictionary (so the two never disagree)."""

from __future__ import annotations

import os
from typing import Any

from ..atomic import write_text
from ..labels import CLASSES


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _interval(pair: list[float | None] | None, digits: int = 2) -> str:
    if not pair or pair[0] is None or pair[1] is None:
        return ""
    return f" [{pair[0]:.{digits}f}, {pair[1]:.{digits}f}]"


def _kid(values: dict[str, Any]) -> str:
    """KID x 1000 with its 95 % bootstrap interval."""
    if values["kid"] is None:
        return "n/a"
    ci = values["kid_ci"]
    scaled = [None if x is None else x * 1000 for x in ci] if ci else None
    return f"{values['kid'] * 1000:.2f}{_interval(scaled)}"


def metric_cells(values: dict[str, Any]) -> dict[str, str]:
    """One set's metrics as table cells: real, synthetic, fid, kid, is_synthetic, is_real, precision, recall."""
    return {
        "real": str(values["n_real"]),
        "synthetic": str(values["n_synthetic"]),
        "fid": _num(values["fid"]) + _interval(values["fid_ci"]),
        "kid": _kid(values),
        "is_synthetic": _num(values["is_synthetic"]),
        "is_real": _num(values["is_real"]),
        "precision": _num(values["precision"], 3),
        "recall": _num(values["recall"], 3),
    }


def _metric_row(name: str, values: dict[str, Any]) -> str:
    return f"| {name} | " + " | ".join(metric_cells(values).values()) + " |"


def _recall_table(title: str, rows: dict[str, dict[str, Any]]) -> list[str]:
    lines = [f"| class | {' | '.join(rows)} |", "|---|" + "---:|" * len(rows)]
    for c in CLASSES:
        cells = [
            _num(r["per_class"][c]["recall"], 3) if isinstance(r["per_class"][c], dict) else _num(r["per_class"][c], 3)
            for r in rows.values()
        ]
        lines.append(f"| {c} | {' | '.join(cells)} |")
    lines.append(f"| **mean recall** | {' | '.join('**' + _num(r['mean_recall'], 3) + '**' for r in rows.values())} |")
    return [f"### {title}", "", *lines, ""]


def evaluation_markdown(m: dict[str, Any]) -> str:
    """The report as markdown text."""
    label = m["extractor"]["label"]
    lines = [
        f"# Fidelity of {m['synthetic']}",
        "",
        f"- Real reference: the **{m['reference_split']}** split of `{m['workdir']}`; synthetic set: "
        f"`{m['synthetic']}` (generator {m['generator'] or 'unknown'}, modes {', '.join(m['modes'])}); "
        f"both resized to {m['image_size']} px.",
        f"- Features: **{label}** — {m['extractor']['note']}.",
        f"- skinaug {m['skinaug_version']}.",
        "",
    ]
    if m["warnings"]:
        lines += ["**Warnings**", ""] + [f"- {w}" for w in m["warnings"]] + [""]
    bootstrap = m["config"]["bootstrap"]
    lines += [
        f"## FID, KID, IS, precision/recall ({label})",
        "",
        f"FID (lower is better) with a 95 % bootstrap interval ({bootstrap} replicates resampling both sets' "
        f"images); KID × 1000 (mean over {m['config']['kid_subsets']} subsets; subset size = min(1000, "
        "smaller set)) with a bootstrap interval; IS of the synthetic and of the real images (from the "
        "extractor's logits); improved precision (synthetic inside the real manifold, k = 3) and recall "
        "(real inside the synthetic manifold).",
        "",
        f"| set | real | synthetic | FID ({label}) | KID×1000 ({label}) | IS synthetic | IS real | precision "
        "| recall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        _metric_row("**all classes**", m["overall"]),
    ]
    lines += [_metric_row(c, m["per_class"][c]) for c in CLASSES]
    wins = m["interclass_diagonal_wins"]
    lines += [
        "",
        f"## Inter-class distances ({label})",
        "",
        f"Each synthetic class against each real class. In {wins['wins']} of {wins['rows']} rows the "
        "synthetic images are nearest (FID) to real images of the class they were asked to be"
        + (f" ({', '.join(wins['classes'])})." if wins["classes"] else "."),
        "",
        "![inter-class distances](interclass.png)",
        "",
        "| synthetic \\ real | " + " | ".join(CLASSES) + " |",
        "|---|" + "---:|" * len(CLASSES),
    ]
    for i, c in enumerate(CLASSES):
        lines.append(f"| {c} | " + " | ".join(_num(x, 1) for x in m["interclass"]["fid"][i]) + " |")
    cond = m["conditioning"]
    lines += [
        "",
        "## Does class conditioning work?",
        "",
        f"Recall of the requested class when {cond['judge']} labels the synthetic images (chance = 1/7).",
        "",
    ]
    lines += _recall_table(
        "Real-trained classifier on synthetic images",
        {"recall of the requested class": {"per_class": cond["per_class"], "mean_recall": cond["mean_recall"]}},
    )
    if m["cas"]:
        cas = m["cas"]
        lines += [
            "## Classification accuracy score (train on synthetic, test on real)",
            "",
            f"A {cas['synthetic_judge']['arch']} ({cas['synthetic_judge']['image_size']} px) trained on the "
            "synthetic images only (class-balanced sampler, epoch chosen on real val), scored on the real "
            f"test images, beside {cas['real_judge']} on the same test images.",
            "",
        ]
        lines += _recall_table(
            "Recall on real test images",
            {"trained on synthetic only": cas["trained_on_synthetic"], "trained on real train": cas["trained_on_real"]},
        )
    lines += [
        "## Pictures",
        "",
        "Real (left) and synthetic (right) images of each class:",
        "",
        f"![real vs synthetic]({m['pictures']['grid']})",
        "",
        f"Features of real (circles) and synthetic (crosses) images, coloured by class ({label}):",
        "",
        f"![embedding]({m['pictures']['embedding']})",
        "",
    ]
    if m["pictures"]["inpainting"]:
        lines += [
            "In-painting: source, mask, result (mode, source class > requested class):",
            "",
            f"![in-painting]({m['pictures']['inpainting']})",
            "",
        ]
    return "\n".join(lines)


def write_evaluation_report(path: str | os.PathLike[str], metrics: dict[str, Any]) -> None:
    """Write report.md atomically."""
    write_text(path, evaluation_markdown(metrics))
