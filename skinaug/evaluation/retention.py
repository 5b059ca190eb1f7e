"""How much class information the tokenizer keeps: a real-trained classifier on real images and on their
tokenizer reconstructions.

Generated images cannot carry more class information than the tokenizer's reconstructions keep, so the
ratio of a real-trained classifier's mean recall on reconstructions of real test images to its mean recall
on the real test images themselves bounds what the generator can add ("retention").
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from ..classifiers.metrics import classification_metrics
from ..classifiers.saved import load_classifier, saved_normalisation
from ..data import eval_transform, real_dataset
from ..data.transforms import Normalisation
from ..labels import CLASSES

if TYPE_CHECKING:
    from ..generators.tokenizer import LesionTokenizer

RETENTION_TARGET = 0.85  # the share of real-test mean recall reconstructions should keep (skinaug's target)


def _probabilities(
    model: torch.nn.Module, images: torch.Tensor, size: int, batch: int, normalisation: Normalisation
) -> np.ndarray:
    """Softmax of uint8 N x 3 x S x S images resized to `size` (bilinear, antialiased) and normalised."""
    normalise = eval_transform(normalisation)
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            chunk = images[i : i + batch]
            if chunk.shape[-1] != size:
                chunk = (
                    F.interpolate(
                        chunk.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
                    )
                    .round()
                    .clamp(0, 255)
                    .to(torch.uint8)
                )
            out.append(torch.softmax(model(normalise(chunk)).float(), dim=1))
    return torch.cat(out).numpy()


def median3(images: torch.Tensor) -> torch.Tensor:
    """3 x 3 median of every channel of uint8 N x 3 x S x S images (edges replicated): removes isolated specks
    of one or two pixels and keeps flat regions and edges."""
    padded = F.pad(images.float(), (1, 1, 1, 1), mode="replicate")
    patches = padded.unfold(2, 3, 1).unfold(3, 3, 1)  # N x 3 x S x S x 3 x 3
    return patches.reshape(*patches.shape[:4], 9).median(dim=-1).values.round().to(torch.uint8)


@torch.no_grad()
def reconstruct_uint8(
    tokenizer: LesionTokenizer, real: torch.Tensor, batch: int = 64
) -> tuple[torch.Tensor, torch.Tensor]:
    """The tokenizer's reconstructions of `real` (uint8 B x 3 x H x W, at the tokenizer's resolution), in chunks of
    `batch`, as uint8 B x 3 x H x W, and each image's PSNR (dB) against `real`."""
    from ..generators.generator import from_uint8, to_uint8

    on = next(tokenizer.parameters()).device
    chunks = [
        torch.from_numpy(to_uint8(tokenizer.reconstruct(from_uint8(real[i : i + batch]).to(on))))
        .permute(0, 3, 1, 2)
        .contiguous()
        for i in range(0, len(real), batch)
    ]
    recon = torch.cat(chunks)
    mse = ((recon.float() - real.float()) ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-10)
    return recon, 10 * torch.log10(255.0**2 / mse)


def reconstruction_retention(
    generator_dir: str | os.PathLike[str],
    workdir: str | os.PathLike[str],
    classifier: str | os.PathLike[str],
    split: str = "test",
    batch: int = 64,
    device: str = "cpu",
    keep_probabilities: bool = False,
    median_filter: bool = False,
) -> dict[str, Any]:
    """{"real": metrics, "reconstructed": metrics, "retention": recon mean recall / real mean recall,
    "psnr_db": mean PSNR of the reconstructions, "per_class_retention": {...}} on the real `split` images;
    with `keep_probabilities` also "probabilities": {"labels", "real", "reconstructed"} (numpy arrays, not
    JSON: for paired comparisons between tokenizers on the same images).

    Both inputs take the same path: decoded at the generator's resolution, then resized to the classifier's.
    `median_filter`: both also pass a 3 x 3 median filter first (`median3`), to check that what the
    reconstructions keep of the classes is not carried by isolated specks (PSNR is of the unfiltered images).
    """
    from ..generators.generator import load_trained_tokenizer

    tokenizer = load_trained_tokenizer(generator_dir, device)
    image_size = tokenizer.config.image_size
    model, meta = load_classifier(classifier)
    model.eval()
    size, norm = int(meta["image_size"]), saved_normalisation(meta)
    data = real_dataset(workdir, split, image_size)
    real = torch.stack([data[i][0] for i in range(len(data))])
    recon, psnr = reconstruct_uint8(tokenizer, real, batch)
    labels = np.asarray(data.labels)
    shown = median3 if median_filter else (lambda images: images)
    proba_real = _probabilities(model, shown(real), size, batch, norm)
    proba_recon = _probabilities(model, shown(recon), size, batch, norm)
    on_real = classification_metrics(labels, proba_real, CLASSES)
    on_recon = classification_metrics(labels, proba_recon, CLASSES)
    per_class = {}
    for c in CLASSES:
        base = on_real["per_class"][c]["recall"]
        per_class[c] = {
            "real": base,
            "reconstructed": on_recon["per_class"][c]["recall"],
            "retention": on_recon["per_class"][c]["recall"] / base if base else float("nan"),
        }
    result: dict[str, Any] = {
        "split": split,
        "images": int(len(labels)),
        "classifier": str(classifier),
        "path": f"decoded at {image_size} px (the generator's resolution), "
        + ("3 x 3 median filter, " if median_filter else "")
        + f"resized to {size} px",
        "real_mean_recall": float(on_real["mean_recall"]),
        "reconstructed_mean_recall": float(on_recon["mean_recall"]),
        "retention": float(on_recon["mean_recall"] / on_real["mean_recall"])
        if on_real["mean_recall"]
        else float("nan"),
        "psnr_db": float(psnr.mean()),
        "per_class": per_class,
    }
    if keep_probabilities:
        result["probabilities"] = {"labels": labels, "real": proba_real, "reconstructed": proba_recon}
    return result
