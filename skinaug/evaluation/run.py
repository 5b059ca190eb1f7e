"""`skinaug evaluate`: how close is a synthetic set to real images, class by class, and does its class
conditioning work? Writes OUT/report.md, OUT/metrics.json and the PNGs; returns the same numbers."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import __version__
from ..atomic import jsonable, write_json
from ..classifiers.metrics import classification_metrics
from ..classifiers.saved import classifier_folder, load_classifier, saved_normalisation
from ..data import ManifestDataset, real_dataset, synthetic_dataset
from ..errors import SkinaugError
from ..labels import CLASSES
from ..machine import select_device
from ..manifest import load_prepared
from ..synthetic import SyntheticSet, check_sources, load_synthetic
from . import distances, plots
from .extractors import (
    ExtractorChoice,
    domain_choice,
    extract_features,
    find_inception_weights,
    inception_choice,
    load_extractor,
)
from .judges import JudgeSettings, describe_judge, real_judge, real_test_predictions, synthetic_judge
from .report import write_evaluation_report

SPLITS = ("train", "val", "test")


@dataclass
class EvaluateConfig:
    """What `evaluate` compares and how."""

    reference_split: str = "test"  # the real images the synthetic set is compared with
    image_size: int | None = None  # both sets resized to this; default: the synthetic images' size
    inception_weights: str | None = None  # local Inception-v3 FID weights; default: torch hub cache, else domain
    classifier: str | None = None  # a saved classifier (bench-classifier OUT or run folder); default: train
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    bootstrap: int = 200  # replicates of the FID/KID 95 % intervals (0 = none)
    kid_subsets: int = 100
    cas: bool = True  # train on synthetic only, test on real test
    min_reference: int = 50  # fewer real reference images of a class than this -> a warning
    batch_size: int = 64
    device: str = "auto"
    seed: int = 0


@dataclass
class EvaluationResult:
    """The numbers `evaluate` wrote to OUT/metrics.json, and OUT."""

    metrics: dict[str, Any]
    out: Path
    notices: list[str] = field(default_factory=list)  # for the user (e.g. no Inception weights)

    @property
    def conditioning_recall(self) -> float:
        """Mean recall of the requested class when the judge labels the synthetic images."""
        return float(self.metrics["conditioning"]["mean_recall"])

    def summary_line(self) -> str:
        """'evaluate: FID (label) 12.34; conditioning recall 0.567; 5/7 classes nearest their own -> OUT/report.md'."""
        overall, label = self.metrics["overall"], self.metrics["extractor"]["label"]
        fid = "n/a" if overall["fid"] is None else f"{overall['fid']:.2f}"
        wins = self.metrics["interclass_diagonal_wins"]
        return (
            f"evaluate: FID ({label}) {fid}; conditioning recall {self.conditioning_recall:.3f}; "
            f"{wins['wins']}/{wins['rows']} classes nearest their own -> {self.out / 'report.md'}"
        )


def _images(dataset: ManifestDataset, what: str, progress: bool) -> torch.Tensor:
    return torch.stack(
        [
            dataset[i][0]
            for i in tqdm(range(len(dataset)), desc=f"loading {what}", unit="img", disable=not progress, leave=False)
        ]
    )


def _synthetic_size(syn: SyntheticSet) -> int:
    """The longer side of the synthetic set's first image."""
    from PIL import Image

    with Image.open(syn.image_file(syn.manifest.iloc[0])) as image:
        return int(max(image.size))


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _set_metrics(
    gen: dict[str, torch.Tensor],
    real: dict[str, torch.Tensor],
    choice: ExtractorChoice,
    config: EvaluateConfig,
    seed: int,
) -> dict[str, Any]:
    """FID, KID (+ bootstrap CIs), IS of both sets, precision/recall of one generated vs one real set."""
    g, r = gen[choice.fid_layer], real[choice.fid_layer]
    kid_mean, kid_std = distances.kid(g, r, config.kid_subsets, seed)
    fid_ci = distances.bootstrap_interval(distances.frechet_distance, g.numpy(), r.numpy(), config.bootstrap, seed)
    kid_ci = distances.kid_bootstrap_interval(g.numpy(), r.numpy(), config.bootstrap, seed)
    is_gen, is_gen_std = distances.inception_score(gen[choice.isc_layer], seed)
    is_real, _ = distances.inception_score(real[choice.isc_layer], seed)
    precision, recall = distances.precision_recall(g, r)
    return {
        "n_synthetic": len(g),
        "n_real": len(r),
        "fid": distances.fid(g, r),
        "fid_ci": fid_ci,
        "kid": kid_mean,
        "kid_std": kid_std,
        "kid_ci": kid_ci,
        "kid_subset_size": distances.kid_subset_size(len(g), len(r)),
        "is_synthetic": is_gen,
        "is_synthetic_std": is_gen_std,
        "is_real": is_real,
        "precision": precision,
        "recall": recall,
        "diversity_synthetic": distances.mean_pairwise_distance(g, seed=seed),
        "diversity_real": distances.mean_pairwise_distance(r, seed=seed),
    }


def _interclass(
    gen: torch.Tensor, gen_labels: np.ndarray, real: torch.Tensor, real_labels: np.ndarray, config: EvaluateConfig
) -> dict[str, np.ndarray]:
    fid = np.full((len(CLASSES), len(CLASSES)), np.nan)
    kid = np.full_like(fid, np.nan)
    for i in range(len(CLASSES)):
        for j in range(len(CLASSES)):
            g, r = gen[gen_labels == i], real[real_labels == j]
            if min(len(g), len(r)) >= distances.MIN_IMAGES:
                fid[i, j] = distances.frechet_distance(g.numpy(), r.numpy())
                kid[i, j] = distances.kid(g, r, max(1, config.kid_subsets // 5), config.seed)[0]
    return {"fid": fid, "kid": kid}


def _choose_extractor(
    config: EvaluateConfig, judge_folder: Path, judge_text: str, notices: list[str]
) -> ExtractorChoice:
    weights = find_inception_weights(config.inception_weights)
    if weights is not None:
        return inception_choice(weights)
    notices.append(
        "no Inception weights (--inception-weights FILE or pretrained, or torch's hub cache): "
        f"FID/KID/IS/PR are computed on domain features ({judge_text})"
    )
    return domain_choice(judge_folder, judge_text)


def evaluate(
    workdir: str | os.PathLike[str],
    synthetic: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: EvaluateConfig | None = None,
    progress: bool = True,
) -> EvaluationResult:
    """Compare a synthetic set with real images of `config.reference_split`; write and return the metrics."""
    config = config or EvaluateConfig()
    if config.reference_split not in SPLITS:
        raise SkinaugError(f"--reference-split {config.reference_split!r}: choose one of {', '.join(SPLITS)}")
    out = Path(out)
    prepared = load_prepared(workdir)
    syn = load_synthetic(synthetic)
    check_sources(syn, prepared)
    if syn.manifest.empty:
        raise SkinaugError(f"{syn.root}: the synthetic set has no images")
    device = select_device(config.device)
    size = config.image_size or _synthetic_size(syn)
    warnings: list[str] = []
    if config.reference_split == "train":
        warnings.append(
            "the reference split is train, the split the synthetic images were made from: distances are optimistic"
        )

    if config.classifier:
        judge_folder = classifier_folder(config.classifier)
    else:
        judge_folder = real_judge(workdir, out / "judge-real", config.judge, config.seed, progress)
    judge_text = describe_judge(judge_folder)
    notices: list[str] = []
    choice = _choose_extractor(config, judge_folder, judge_text, notices)
    domain = domain_choice(judge_folder, judge_text)

    real_set = real_dataset(workdir, config.reference_split, size)
    syn_set = synthetic_dataset(syn.root, workdir, size)
    real_images, syn_images = _images(real_set, "real images", progress), _images(syn_set, "synthetic images", progress)
    real_labels, syn_labels = np.asarray(real_set.labels), np.asarray(syn_set.labels)
    extractor = load_extractor(choice, device)
    real_features = extract_features(extractor, real_images, config.batch_size, progress)
    syn_features = extract_features(extractor, syn_images, config.batch_size, progress)
    syn_domain = (
        syn_features
        if choice == domain
        else extract_features(load_extractor(domain, device), syn_images, config.batch_size)
    )

    overall = _set_metrics(syn_features, real_features, choice, config, config.seed)
    per_class: dict[str, Any] = {}
    for k, name in enumerate(tqdm(CLASSES, desc="per-class metrics", disable=not progress, leave=False)):
        gen = {layer: f[syn_labels == k] for layer, f in syn_features.items()}
        real = {layer: f[real_labels == k] for layer, f in real_features.items()}
        per_class[name] = _set_metrics(gen, real, choice, config, config.seed + k + 1)
        n_real, n_gen = int((real_labels == k).sum()), int((syn_labels == k).sum())
        if n_real < config.min_reference and n_gen:
            warnings.append(
                f"{name}: only {n_real} real reference image(s) (< {config.min_reference}); its FID/KID "
                "are noisy and FID is biased upwards at this size, read them with their intervals"
            )
        if n_gen == 0:
            warnings.append(f"{name}: the synthetic set has no images of this class")
    matrices = _interclass(
        syn_features[choice.fid_layer], syn_labels, real_features[choice.fid_layer], real_labels, config
    )

    conditioning = classification_metrics(syn_labels, torch.softmax(syn_domain["logits"], 1).numpy())
    cas: dict[str, Any] | None = None
    if config.cas:
        judge_model, judge_meta = load_classifier(judge_folder)
        judge_model = judge_model.to(device)  # loaded on the CPU; its test predictions run where the rest does
        y_true, real_proba = real_test_predictions(
            judge_model, workdir, int(judge_meta["image_size"]), normalisation=saved_normalisation(judge_meta)
        )
        syn_model = synthetic_judge(workdir, syn.root, config.judge, config.seed, progress)
        y_syn, syn_proba = real_test_predictions(syn_model, workdir, config.judge.train.image_size)
        cas = {
            "trained_on_synthetic": classification_metrics(y_syn, syn_proba),
            "trained_on_real": classification_metrics(y_true, real_proba),
            "synthetic_judge": config.judge.record(),
            "real_judge": judge_text,
        }

    out.mkdir(parents=True, exist_ok=True)
    plots.real_vs_synthetic_grid(
        out / "grid_real_vs_synthetic.png",
        real_images.permute(0, 2, 3, 1).numpy(),
        real_labels,
        syn_images.permute(0, 2, 3, 1).numpy(),
        syn_labels,
    )
    plots.interclass_heatmap(
        out / "interclass.png", {"FID": matrices["fid"], "KID×1000": matrices["kid"] * 1000}, choice.label
    )
    plots.embedding_plot(
        out / "embedding.png",
        real_features[choice.fid_layer].numpy(),
        real_labels,
        syn_features[choice.fid_layer].numpy(),
        syn_labels,
        choice.label,
        config.seed,
    )
    has_strips = plots.inpainting_strips(out / "inpainting.png", syn, prepared)

    counts = syn.manifest["label"].value_counts()
    metrics = {
        "skinaug_version": __version__,
        "workdir": str(prepared.workdir.resolve()),
        "synthetic": str(syn.root),
        "generator": syn.info.get("generator", {}).get("name", ""),
        "generator_folder": syn.info.get("generator", {}).get("folder"),
        "modes": sorted(syn.manifest["mode"].unique().tolist()),
        "reference_split": config.reference_split,
        "image_size": size,
        "extractor": {
            "name": choice.name,
            "label": choice.label,
            "note": choice.note,
            "fid_layer": choice.fid_layer,
            "isc_layer": choice.isc_layer,
        },
        "counts": {
            "synthetic": {c: int(counts.get(c, 0)) for c in CLASSES},
            "real": {c: int((real_labels == k).sum()) for k, c in enumerate(CLASSES)},
        },
        "overall": overall,
        "per_class": per_class,
        "interclass": matrices,
        "interclass_diagonal_wins": _diagonal_wins(matrices["fid"]),
        "conditioning": {
            "judge": judge_text,
            "mean_recall": conditioning["mean_recall"],
            "per_class": {c: v["recall"] for c, v in conditioning["per_class"].items()},
        },
        "cas": cas,
        "warnings": warnings,
        "config": asdict(config),
        "pictures": {
            "grid": "grid_real_vs_synthetic.png",
            "interclass": "interclass.png",
            "embedding": "embedding.png",
            "inpainting": "inpainting.png" if has_strips else None,
        },
    }
    metrics = jsonable(metrics)
    write_json(out / "metrics.json", metrics)
    write_evaluation_report(out / "report.md", metrics)
    return EvaluationResult(metrics, out, notices)


def _diagonal_wins(fid: np.ndarray) -> dict[str, Any]:
    """How many synthetic classes are nearest (lowest FID) to their own real class."""
    rows = [i for i in range(len(fid)) if np.isfinite(fid[i]).any() and np.isfinite(fid[i, i])]
    wins = [CLASSES[i] for i in rows if int(np.nanargmin(fid[i])) == i]
    return {"wins": len(wins), "rows": len(rows), "classes": wins}
