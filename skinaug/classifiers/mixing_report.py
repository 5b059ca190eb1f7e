"""Report sections on what each arm's batches hold: extra-image share per class, the image path, shortcut risk
(real-vs-extra AUROC) and the acceptance of classifier-selected synthetic images."""

from __future__ import annotations

from typing import Any

from ..labels import CLASSES


def _share_table(runs: list[dict[str, Any]], classes: list[str]) -> list[str]:
    first: dict[str, dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: r["seed"]):
        if run.get("draws"):
            first.setdefault(run["arm"], run)
    if not first:
        return []
    lines = [
        "| Arm | Extra images in the set | " + " | ".join(classes) + " | all |",
        "|---|---:|" + "---:|" * (len(classes) + 1),
    ]
    for arm, run in sorted(first.items()):
        draws = run["draws"]
        extra = (run.get("train_images") or {}).get("synthetic", 0)
        cells = [f"{draws[c]['synthetic_share']:.2f}" if draws.get(c, {}).get("draws") else "—" for c in classes]
        lines.append(f"| {arm} | {extra} | " + " | ".join(cells) + f" | {draws['all']['synthetic_share']:.2f} |")
    return lines


def mixing_markdown(meta: dict[str, Any], runs: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: the image path, the extra share of draws per class, shortcut AUROC and selection."""
    classes = list(meta.get("classes") or CLASSES)
    lines: list[str] = []
    table = _share_table(runs, classes)
    if meta.get("resolution_path") or table:
        lines += ["## What each batch holds", ""]
    if meta.get("resolution_path"):
        lines += [f"**Image path.** {meta['resolution_path']}", ""]
    if table:
        lines += [
            "Share of extra (synthetic, copied or selected) images among the images drawn in the first "
            "epoch of seed 0, per class: a design choice of each arm, measured from its sampler's draws. "
            f"Top-up arms fill every class to {meta.get('top_up_to', '—')} images.",
            "",
            *table,
            "",
        ]
    shortcut = meta.get("shortcut") or {}
    if shortcut:
        lines += [
            "## Shortcut risk: can a classifier tell real from extra images?",
            "",
            "A small CNN trained to separate real train images from the extra images (same image path and "
            "augmentations), scored on held-out images of both kinds (held out by source image). AUROC 0.5: "
            "indistinguishable; near 1: every extra image carries a mark a classifier can learn, which "
            "becomes a label shortcut where extra images fill some classes more than others.",
            "",
            "| Extra images | AUROC real vs extra | Held-out images (each kind) | Training images | Steps |",
            "|---|---:|---:|---:|---:|",
        ]
        for source, result in shortcut.items():
            auroc = result.get("auroc")
            auroc_text = f"{auroc:.3f}" if isinstance(auroc, float) and auroc == auroc else result.get("note", "—")
            lines.append(
                f"| {source} | {auroc_text} | {result.get('held_out_real', '—')} | "
                f"{result.get('train_images', '—')} | {result.get('steps', '—')} |"
            )
        lines.append("")
    selection = meta.get("selection")
    if selection:
        per_class = selection["per_class"]
        lines += [
            "## Selected synthetic images",
            "",
            f"Kept: the synthetic images that {selection.get('judge', 'a classifier trained on real train images')} "
            f"assigns to the requested class; {selection['kept']} of {selection['requested']} "
            f"({selection['acceptance']:.1%}).",
            "",
            "| Class | Requested | Kept | Acceptance |",
            "|---|---:|---:|---:|",
        ]
        lines += [f"| {c} | {v['requested']} | {v['kept']} | {v['acceptance']:.2f} |" for c, v in per_class.items()]
        lines.append("")
    return lines
