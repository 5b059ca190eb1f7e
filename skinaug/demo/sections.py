"""The demo's one report: data, generator training, samples, classifier benchmark, fidelity — as HTML and MD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..atomic import read_json, write_text
from ..classifiers.arms import control_of
from ..classifiers.report import selection_rule
from ..labels import CLASSES
from ..evaluation.report import metric_cells
from ..manifest import load_prepared
from .document import Block, Heading, Paragraph, Picture, Table, to_html, to_markdown
from .plans import DemoPlan


def _data_section(out: Path) -> list[Block]:
    prepared = load_prepared(out / "work")
    counts = prepared.info.get("counts", {})
    rows = [[c] + [str(counts.get(c, {}).get(s, 0)) for s in ("train", "val", "test", "total")] for c in CLASSES]
    summary = read_json(out / "work" / "measurements" / "summary.json")
    return [
        Heading("1. Data"),
        Paragraph(
            f"Format `{prepared.info.get('format')}` from `{prepared.info.get('root')}`: "
            f"{prepared.info.get('images')} images, {prepared.info.get('excluded', 0)} excluded (see "
            "`work/problems.csv`). Split by lesion, class-stratified 70/10/20."
        ),
        Table(["class", "train", "val", "test", "total"], rows),
        Paragraph(
            f"Measurements (pyradiomics shape/texture + colour): {summary['ok']}/{summary['images']} images "
            f"measured in {summary['seconds']:.0f} s; the robust scaler and class averages are fitted on "
            "train only."
        ),
    ]


def _generator_section(out: Path) -> list[Block]:
    card = (out / "generator" / "model_card.md").read_text(encoding="utf-8").splitlines()
    facts = [line[2:] for line in card if line.startswith("- ")][:5]
    blocks: list[Block] = [Heading("2. LF-VAR generator"), Paragraph(" ".join(facts))]
    if (out / "generator_curves.png").is_file():
        blocks.append(
            Picture(
                "generator_curves.png",
                "Generator training: tokenizer loss and PSNR, transformer "
                "cross-entropy and token accuracy (val = validation split)",
            )
        )
    blocks.append(Picture("synthetic/grid.png", "Synthetic images per class (skinaug augment)"))
    if (out / "evaluation" / "inpainting.png").is_file():
        blocks.append(
            Picture(
                "evaluation/inpainting.png",
                "In-painting: source, mask, result (the background outside the dilated mask is the "
                "source's, pixel for pixel)",
            )
        )
    return blocks


def _classifier_section(bench: dict[str, Any]) -> list[Block]:
    summary = bench["summary"]
    rows = []
    for arm in summary["arm_order"]:
        info = summary["arms"][arm]
        recall = info["metrics"]["mean_recall"]
        gains = []
        for ref in ("a", "b", control_of(arm)):
            gain = info.get("gains", {}).get(ref, {}).get("mean_recall") if ref else None
            if gain:
                gains.append(f"vs {ref}: {gain['gain']:+.3f} [{gain['ci_low']:+.3f}, {gain['ci_high']:+.3f}]")
        spread = recall.get("std")
        shown = (
            f"{recall['mean']:.3f} ± {spread:.3f}"
            if spread is not None and spread == spread
            else f"{recall['mean']:.3f} (1 seed)"
        )
        rows.append(
            [
                f"{arm}: {info['arm_name']}",
                shown,
                f"{info['metrics']['auroc_macro']['mean']:.3f}",
                "; ".join(gains) or "—",
            ]
        )
    return [
        Heading("3. Does synthetic data help the classifier?"),
        Paragraph(
            f"Each arm trained with the same number of gradient steps; {selection_rule(bench.get('runs', []))}; "
            "scored on **real test images only**. Gains: paired class-stratified bootstrap 95 % CI on the test images; "
            "arms ending in -copies mix flipped/rotated copies of train images exactly as their twin mixes "
            "the synthetic set (the control a generator must beat)."
        ),
        Table(
            ["arm", "mean recall (mean ± std over seeds)", "AUROC", "gain in mean recall [95 % CI]"],
            rows,
            numeric=False,
        ),
        *_mixing_blocks(bench),
        Picture("bench-classifier/per_class_recall.png", "Per-class recall on the real test images"),
        Picture("bench-classifier/training_curves.png", "Classifier training curves"),
    ]


def _mixing_blocks(bench: dict[str, Any]) -> list[Block]:
    """The image path, the synthetic share of each arm's draws and the real-vs-extra AUROC."""
    meta = bench.get("meta", {})
    rows = []
    for run in bench.get("runs", []):
        if run.get("seed") == 0 and run.get("draws"):
            draws = run["draws"]
            rows.append(
                [run["arm"]]
                + [f"{draws[c]['synthetic_share']:.2f}" for c in CLASSES]
                + [f"{draws['all']['synthetic_share']:.2f}"]
            )
    blocks: list[Block] = []
    if meta.get("resolution_path"):
        blocks.append(Paragraph(f"Image path: {meta['resolution_path']}"))
    if rows:
        blocks.append(
            Paragraph(
                "Share of synthetic (or copied) images among each arm's draws, per class (seed 0, "
                "first epoch): a design choice of the arm, measured."
            )
        )
        blocks.append(Table(["arm", *CLASSES, "all"], rows))
    shortcut = meta.get("shortcut") or {}
    if shortcut:
        parts = [
            f"{name} {result['auroc']:.3f}"
            for name, result in shortcut.items()
            if isinstance(result.get("auroc"), float)
        ]
        blocks.append(
            Paragraph(
                "Shortcut risk — AUROC of a small CNN telling real train images from extra images "
                f"(held-out images; 0.5 = indistinguishable): {'; '.join(parts) or '—'}."
            )
        )
    return blocks


def _fidelity_section(m: dict[str, Any]) -> list[Block]:
    label = m["extractor"]["label"]
    rows = []
    for name, values in [("all classes", m["overall"])] + [(c, m["per_class"][c]) for c in CLASSES]:
        cells = metric_cells(values)
        rows.append([name] + [cells[k] for k in ("real", "synthetic", "fid", "kid", "precision", "recall")])
    wins = m["interclass_diagonal_wins"]
    blocks: list[Block] = [
        Heading("4. Fidelity of the synthetic images"),
        Paragraph(
            f"Features: **{label}** — {m['extractor']['note']}. Reference: real **{m['reference_split']}** images."
        ),
        Table(
            [
                "set",
                "real",
                "synthetic",
                f"FID ({label}) [95 % CI]",
                f"KID×1000 ({label}) [95 % CI]",
                "precision",
                "recall",
            ],
            rows,
        ),
        Paragraph(
            f"Class conditioning: a real-trained classifier recognises the requested class on "
            f"{m['conditioning']['mean_recall']:.3f} of the synthetic images (mean recall; chance 0.143). "
            f"In {wins['wins']} of {wins['rows']} classes the synthetic images are nearest to real images of "
            "their own class."
        ),
        Picture("evaluation/interclass.png", "FID and KID between each synthetic class and each real class"),
        Picture("evaluation/embedding.png", "PCA and t-SNE of features: real (circles) and synthetic (crosses)"),
        Picture("evaluation/grid_real_vs_synthetic.png", "Real (left) and synthetic (right) images per class"),
    ]
    if m["cas"]:
        cas = m["cas"]
        blocks.insert(
            4,
            Paragraph(
                "Classification accuracy score: trained on synthetic images only, mean recall on real test "
                f"{cas['trained_on_synthetic']['mean_recall']:.3f} (trained on real: "
                f"{cas['trained_on_real']['mean_recall']:.3f})."
            ),
        )
    return blocks


def write_demo_report(
    out: Path, plan: DemoPlan, timings: dict[str, float], bench: dict[str, Any], metrics: dict[str, Any]
) -> None:
    """OUT/report.md (pictures by relative path) and OUT/report.html (the same content in one self-contained
    file: pictures embedded, a linked table of contents)."""
    total = sum(timings.values())
    blocks: list[Block] = [
        Heading("skinaug demo report", 1),
        Paragraph(f"Plan: **{plan.name}**. Hardware: {plan.hardware}. Total {total / 60:.1f} min."),
        Table(["step", "seconds"], [[name, f"{seconds:.0f}"] for name, seconds in timings.items()]),
    ]
    if "demo" in plan.name:
        blocks.append(
            Paragraph(
                "The generator here trains for a few minutes on phantoms so the whole pipeline fits "
                "in minutes: its images are blurry and its numbers say nothing about LF-VAR's "
                "quality. Measured runs are in `benchmarks/results/`."
            )
        )
    blocks += _data_section(out) + _generator_section(out) + _classifier_section(bench) + _fidelity_section(metrics)
    blocks += [
        Heading("Files"),
        Paragraph(
            "`work/` prepared data and measurements, `generator/` the LF-VAR checkpoint "
            "(safetensors + JSON, model card), `synthetic/` the synthetic set and its "
            "manifest, `bench-classifier/report.md`, `evaluation/report.md`."
        ),
    ]
    write_text(out / "report.md", to_markdown(blocks))
    write_text(out / "report.html", to_html(blocks, "skinaug demo report", out))
