"""Do generated images carry colours that real skin images never have (a mark a classifier can learn)?

    python benchmarks/colour_outliers.py WORKDIR --set synthetic=SYN [--set copies=COPIES ...] [--size 64]
        [--out DIR]

Reference: the colour histogram (32 levels per channel) of every pixel of the real train images of WORKDIR at
SIZE px, the path the classifier sees. A pixel is out of gamut where its colour bin holds less than `RARE` of
the reference pixels (a colour real train images almost never show, e.g. the bright green specks the
classifier-perceptual tokenizer draws). Per set, and for held-out real images (the val split) as the baseline:
the share of out-of-gamut pixels, the share of images with at least `MIN_PIXELS` of them (overall and per
class), and the AUROC with which an image's out-of-gamut share alone tells the set's images from the held-out
real ones (0.5: colour gives nothing away). Writes OUT/colour_outliers.md, .json and colour_outliers_worst.png
(each set's images with the most out-of-gamut pixels, beside the same with those pixels marked magenta).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from skinaug.atomic import write_json, write_png, write_text
from skinaug.data import ManifestDataset, real_dataset, synthetic_dataset
from skinaug.errors import SkinaugError
from skinaug.labels import CLASSES
from skinaug.pictures import labelled_grid

HERE = Path(__file__).resolve().parent
LEVELS = 32  # histogram levels per channel
RARE = 1e-6  # a bin holding less than this share of the reference pixels is out of gamut
MIN_PIXELS = 3  # an image with at least this many out-of-gamut pixels is flagged
WORST = 8  # images per set in the picture
MAGENTA = np.array([255, 0, 255], dtype=np.uint8)


def _bins(images: np.ndarray) -> np.ndarray:
    """Colour bin of every pixel of N x H x W x 3 uint8 images (N x H x W ints)."""
    q = (images // (256 // LEVELS)).astype(np.int64)
    return (q[..., 0] * LEVELS + q[..., 1]) * LEVELS + q[..., 2]


def rare_bins(reference: np.ndarray) -> np.ndarray:
    """Boolean table over the LEVELS^3 colour bins: True where the reference images' pixels almost never fall."""
    counts = np.bincount(_bins(reference).ravel(), minlength=LEVELS**3)
    return counts < RARE * counts.sum()


def out_of_gamut(images: np.ndarray, rare: np.ndarray) -> np.ndarray:
    """N x H x W booleans: the pixels whose colour is out of the reference gamut."""
    return rare[_bins(images)]


def score_set(images: np.ndarray, labels: np.ndarray, rare: np.ndarray, held_out: np.ndarray | None) -> dict[str, Any]:
    """Out-of-gamut statistics of one set; with `held_out` (the real baseline's per-image shares), the AUROC."""
    mask = out_of_gamut(images, rare)
    share = mask.reshape(len(images), -1).mean(axis=1)
    flagged = mask.reshape(len(images), -1).sum(axis=1) >= MIN_PIXELS
    result: dict[str, Any] = {
        "images": int(len(images)),
        "out_of_gamut_pixel_share": float(share.mean()),
        "flagged_image_share": float(flagged.mean()),
        "flagged_per_class": {
            c: float(flagged[labels == i].mean()) if (labels == i).any() else None for i, c in enumerate(CLASSES)
        },
        "auroc_vs_real": None,
    }
    if held_out is not None:
        truth = np.r_[np.zeros(len(held_out)), np.ones(len(share))]
        result["auroc_vs_real"] = float(roc_auc_score(truth, np.r_[held_out, share]))
    result["_share"] = share
    result["_mask"] = mask
    return result


def _load(dataset: ManifestDataset) -> tuple[np.ndarray, np.ndarray]:
    """(N x S x S x 3 uint8 images, N labels) of a dataset without transform."""
    items = [dataset[i] for i in range(len(dataset))]
    images = np.stack([img.permute(1, 2, 0).numpy() for img, _ in items]).astype(np.uint8)
    return images, np.array([label for _, label in items])


def _worst(images: np.ndarray, score: dict[str, Any]) -> list[np.ndarray]:
    """The WORST images with most out-of-gamut pixels, then the same with those pixels marked."""
    order = np.argsort(-score["_share"], kind="stable")[:WORST]
    marked = [np.where(score["_mask"][i][..., None], MAGENTA, images[i]) for i in order]
    return [images[i] for i in order] + marked


def run(workdir: Path, sets: dict[str, Path], out: Path, size: int = 64) -> dict[str, Any]:
    """Score every set and the held-out real images against the real train images' gamut; write the results."""
    if not sets:
        raise SkinaugError("no set to score: give at least one --set NAME=FOLDER")
    reference, _ = _load(real_dataset(workdir, "train", size))
    rare = rare_bins(reference)
    real_images, real_labels = _load(real_dataset(workdir, "val", size))
    scores = {"real (val)": score_set(real_images, real_labels, rare, None)}
    pictures: list[tuple[str, list[np.ndarray]]] = []
    for name, folder in sets.items():
        images, labels = _load(synthetic_dataset(folder, workdir, size))
        scores[name] = score_set(images, labels, rare, scores["real (val)"]["_share"])
        worst = _worst(images, scores[name])
        pictures += [(name, worst[:WORST]), (f"{name} marked", worst[WORST:])]
    report = {
        "workdir": str(workdir),
        "sets": {name: str(folder) for name, folder in sets.items()},
        "size": size,
        "levels": LEVELS,
        "rare": RARE,
        "min_pixels": MIN_PIXELS,
        "reference_pixels": int(reference.shape[0] * size * size),
        "rare_bins": int(rare.sum()),
        "scores": {k: {f: v for f, v in s.items() if not f.startswith("_")} for k, s in scores.items()},
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "colour_outliers.json", report)
    write_text(out / "colour_outliers.md", markdown(report))
    write_png(out / "colour_outliers_worst.png", labelled_grid(pictures, tile=96, label_width=120))
    return report


def markdown(report: dict[str, Any]) -> str:
    """The table per set and per class."""
    lines = [
        "# Colour outliers: do generated images show colours real images never have?",
        "",
        f"Reference gamut: the {report['reference_pixels']:,} pixels of the real train images of "
        f"`{report['workdir']}` at {report['size']} px, {report['levels']} levels per channel; a colour bin holding "
        f"less than {report['rare']:g} of them is out of gamut ({report['rare_bins']} of {report['levels'] ** 3} "
        f"bins). Flagged: an image with at least {report['min_pixels']} out-of-gamut pixels. AUROC: how well an "
        "image's out-of-gamut share alone tells the set's images from the held-out real (val) images.",
        "",
        "| set | images | out-of-gamut pixels | flagged images | AUROC vs real (val) | "
        + " | ".join(f"flagged {c}" for c in CLASSES)
        + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(CLASSES),
    ]
    for name, s in report["scores"].items():
        auroc = "—" if s["auroc_vs_real"] is None else f"{s['auroc_vs_real']:.3f}"
        per_class = " | ".join(
            "—" if s["flagged_per_class"][c] is None else f"{s['flagged_per_class'][c]:.0%}" for c in CLASSES
        )
        lines.append(
            f"| {name} | {s['images']} | {s['out_of_gamut_pixel_share']:.3%} | {s['flagged_image_share']:.0%} | "
            f"{auroc} | {per_class} |"
        )
    lines += [
        "",
        "![each set's images with the most out-of-gamut pixels, and the same with them marked magenta]"
        "(colour_outliers_worst.png)",
        "",
    ]
    return "\n".join(lines)


def _named(value: str) -> tuple[str, Path]:
    name, sep, folder = value.partition("=")
    if not sep or not name or not folder:
        raise argparse.ArgumentTypeError(f"{value!r}: expected NAME=FOLDER")
    return name, Path(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--set", dest="sets", type=_named, action="append", default=[], metavar="NAME=FOLDER")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    try:
        report = run(args.workdir, dict(args.sets), args.out, args.size)
    except SkinaugError as exc:
        raise SystemExit(f"colour_outliers: {exc}") from None
    print(markdown(report))


if __name__ == "__main__":
    main()
