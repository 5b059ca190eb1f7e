"""In-painting teacher rules side by side: background fidelity near the lesion, seams, conditioning recall.

    python benchmarks/inpaint_consistency.py GENERATOR WORKDIR [--split test] [--count 64] [--mode intra|inter]
        [--classifier bench-classifier-OUT] [--keep-coarse 0.25] [--out DIR]

GENERATOR is a `train-generator` output trained on WORKDIR (e.g. the real HAM10000 work directory). For
`--count` images of `--split` that have a mask and measurements, the lesion is in-painted (intra: its own class
and measurements; inter: another class, cycling, with that class's average measurements) once per rule with
the same seed:

* ``precomputed``: kept tokens are the source's own codes (VAR's zero-shot rule, skinaug before issue 11);
* ``residual``: kept tokens re-quantize the source latent's residual against the tokens actually drawn;
* ``residual+coarse`` (with --keep-coarse X): also keeps the coarsest scales of small lesions whole.

Measured per rule:

* ring PSNR: PSNR of the DECODER's output (before the source pixels are composited back, which makes the
  background exact) against the source, on the background ring of `--ring` pixels just outside the blended
  zone (dilated + feathered mask); the tokenizer's own reconstruction of the sources on the same ring is the
  ceiling;
* seam: mean gradient magnitude of the COMPOSITED image on the blend border (the feathered pixels and the
  first untouched pixel) divided by the same on the source; 1 = no extra edge;
* conditioning recall (with --classifier, a saved real-trained classifier as `skinaug evaluate --classifier`
  takes): the share of composited images the classifier assigns to the requested class.

Writes OUT/inpaint_consistency.md and OUT/inpaint_consistency.json (default OUT: benchmarks/results).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from skinaug.atomic import write_json, write_text
from skinaug.classifiers.saved import load_classifier
from skinaug.data import eval_transform
from skinaug.evaluation.judges import describe_judge
from skinaug.generators.composite import blend_weights, composite, dilate
from skinaug.generators.data import MeasurementSpace, conditioned_split
from skinaug.generators.generator import Generator, to_uint8
from skinaug.generators.var import SamplingConfig
from skinaug.labels import CLASSES
from skinaug.machine import describe_hardware

HERE = Path(__file__).resolve().parent


def sources(gen: Generator, workdir: Path, split: str, count: int, seed: int) -> dict[str, Any]:
    """`count` images of the split with mask and measurements (a seeded choice): images, masks, labels, vectors."""
    space = MeasurementSpace.load(workdir)
    data = conditioned_split(
        workdir, split, gen.image_size, MeasurementSpace(gen.scaler, gen.class_means, space.features)
    )
    chosen = np.random.default_rng(seed).permutation(len(data))[:count]
    items = [data[int(i)] for i in chosen]
    return {
        "images": torch.stack([it["image"] for it in items]),
        "masks": torch.stack([it["mask"] > 0.5 for it in items]),
        "labels": [CLASSES[int(it["label"])] for it in items],
        "vectors": np.stack([it["measurements"].numpy() for it in items]),
    }


def requests(src: dict[str, Any], gen: Generator, mode: str) -> tuple[list[str], np.ndarray]:
    """(requested classes, measurement vectors): intra = own; inter = the next classes in turn, class averages."""
    if mode == "intra":
        return src["labels"], src["vectors"]
    wanted = [
        CLASSES[(CLASSES.index(label) + 1 + i % (len(CLASSES) - 1)) % len(CLASSES)]
        for i, label in enumerate(src["labels"])
    ]
    dim = src["vectors"].shape[1]
    return wanted, np.stack([gen.class_means.get(c, np.zeros(dim, np.float32)) for c in wanted])


def psnr(a: torch.Tensor, b: torch.Tensor, where: torch.Tensor) -> float:
    """PSNR in dB on the [0, 1] scale of images in [-1, 1] (B x 3 x H x W) over the pixels `where` (B x H x W)."""
    err = ((a.clamp(-1, 1) - b) / 2).square().mean(1)[where]
    return float("nan") if err.numel() == 0 else 10 * math.log10(1.0 / max(float(err.mean()), 1e-12))


def gradient_magnitude(images: torch.Tensor) -> torch.Tensor:
    """B x H x W: |forward differences| (x and y, mean over channels), replicate-padded at the far edges."""
    dx = F.pad(images[..., :, 1:] - images[..., :, :-1], (0, 1, 0, 0), mode="replicate")
    dy = F.pad(images[..., 1:, :] - images[..., :-1, :], (0, 0, 0, 1), mode="replicate")
    return (dx.square() + dy.square()).sqrt().mean(1)


def zones(masks: torch.Tensor, dilation: int, feather: int, ring: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(background ring just outside the blended zone, blend border) as B x H x W bool maps."""
    weight = blend_weights(masks, dilation, feather)
    blended = weight > 0
    return dilate(blended, ring) & ~blended, dilate(blended, 1) & (weight < 1)


def conditioning_recall(
    classifier: torch.nn.Module | None, size: int, images: np.ndarray, wanted: list[str]
) -> float | None:
    """Share of uint8 images the classifier assigns to the requested class (None without a classifier)."""
    if classifier is None:
        return None
    batch = torch.stack([eval_transform()(torch.from_numpy(im).permute(2, 0, 1)) for im in images])
    if batch.shape[-1] != size:
        batch = F.interpolate(batch, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    with torch.no_grad():
        predicted = classifier(batch).argmax(1).numpy()
    return float(np.mean(predicted == np.array([CLASSES.index(c) for c in wanted])))


def run(
    generator: Path,
    workdir: Path,
    out: Path,
    split: str = "test",
    count: int = 64,
    mode: str = "intra",
    classifier: Path | None = None,
    keep_coarse: float = 0.0,
    seed: int = 0,
    cfg: float = 4.0,
    dilation: int = 2,
    feather: int = 3,
    ring: int = 4,
    batch: int = 16,
) -> dict[str, Any]:
    """Measure every rule; write the Markdown table and the JSON; return the JSON's content."""
    gen = Generator.load(generator)
    src = sources(gen, workdir, split, count, seed)
    wanted, vectors = requests(src, gen, mode)
    judge, judge_size = None, 0
    if classifier is not None:
        judge, meta = load_classifier(classifier)
        judge_size = int(meta["image_size"])
    sampling = SamplingConfig(cfg=cfg)
    ring_zone, border = zones(src["masks"], dilation, feather, ring)
    with torch.no_grad():
        recon = torch.cat(
            [gen.tokenizer.reconstruct(src["images"][i : i + batch]) for i in range(0, len(wanted), batch)]
        )
    source_grad = gradient_magnitude(src["images"])[border].mean()
    arms = {"precomputed": ("precomputed", 0.0), "residual": ("residual", 0.0)}
    if keep_coarse > 0:
        arms["residual+coarse"] = ("residual", keep_coarse)
    results: dict[str, Any] = {}
    for name, (teacher, coarse) in arms.items():
        start = time.perf_counter()
        decoded = torch.cat(
            [
                gen.inpaint_decoded(
                    src["images"][i : i + batch],
                    src["masks"][i : i + batch],
                    wanted[i : i + batch],
                    vectors[i : i + batch],
                    seed + i,
                    sampling,
                    teacher,
                    coarse,
                )
                for i in range(0, len(wanted), batch)
            ]
        )
        mixed = composite(src["images"], decoded, src["masks"], dilation, feather)
        results[name] = {
            "ring_psnr_db": psnr(decoded, src["images"], ring_zone),
            "seam_ratio": float(gradient_magnitude(mixed)[border].mean() / source_grad),
            "conditioning_recall": conditioning_recall(judge, judge_size, to_uint8(mixed), wanted),
            "seconds": time.perf_counter() - start,
        }
    report = {
        "generator": str(generator),
        "workdir": str(workdir),
        "split": split,
        "images": len(wanted),
        "mode": mode,
        "seed": seed,
        "cfg": cfg,
        "dilation": dilation,
        "feather": feather,
        "ring_pixels": ring,
        "keep_coarse": keep_coarse,
        "image_size": gen.image_size,
        "classifier": describe_judge(classifier) if classifier is not None else None,
        "reconstruction_ring_psnr_db": psnr(recon, src["images"], ring_zone),
        "machine": f"{describe_hardware()}, {torch.get_num_threads()} torch thread(s)",
        "rules": results,
    }
    write_json(out / "inpaint_consistency.json", report)
    write_text(out / "inpaint_consistency.md", markdown(report))
    return report


def markdown(report: dict[str, Any]) -> str:
    """The side-by-side table."""

    def cell(value: float | None, fmt: str) -> str:
        return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)

    lines = [
        f"# In-painting: teacher rules side by side ({report['mode']}-class)",
        "",
        f"Generator `{report['generator']}` ({report['image_size']} px) on {report['images']} "
        f"{report['split']} images of `{report['workdir']}`; guidance {report['cfg']}, seed {report['seed']}; "
        f"{report['machine']}.",
        "",
        "| rule | ring PSNR (dB, decoder output) | seam (border gradient / source's) | conditioning recall | s |",
        "|---|---|---|---|---|",
    ]
    for name, r in report["rules"].items():
        lines.append(
            f"| {name} | {cell(r['ring_psnr_db'], '.2f')} | {cell(r['seam_ratio'], '.3f')} | "
            f"{cell(r['conditioning_recall'], '.3f')} | {r['seconds']:.1f} |"
        )
    lines += [
        "",
        f"Ring: the {report['ring_pixels']} background pixels just outside the blended zone (mask dilated "
        f"by {report['dilation']}, feathered over {report['feather']}); the tokenizer's own reconstruction "
        f"of the sources reaches {cell(report['reconstruction_ring_psnr_db'], '.2f')} dB there. Seam: 1 = no "
        "extra edge at the blend border. Recall judge: "
        f"{report['classifier'] or 'none given (--classifier)'}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generator", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--split", default="test")
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--mode", choices=("intra", "inter"), default="intra")
    parser.add_argument("--classifier", type=Path, default=None)
    parser.add_argument("--keep-coarse", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cfg", type=float, default=4.0)
    args = parser.parse_args()
    report = run(
        args.generator,
        args.workdir,
        args.out,
        args.split,
        args.count,
        args.mode,
        args.classifier,
        args.keep_coarse,
        args.seed,
        args.cfg,
    )
    print(markdown(report))


if __name__ == "__main__":
    main()
