"""Does a tokenizer keep each class's lesion colour? Per class, each class's share of the train images (what a
plain-epoch tokenizer is trained on), and per tokenizer the PSNR and the lesion's mean-colour error of its
reconstructions of the real test images (issue 11 point 5: a class whose colour no other class has, drawn on
1 % of the batches, is reconstructed in the majority's colour).

    python benchmarks/lesion_colour_error.py --work WORK --runs RUN[,RUN...] [--out DIR]

WORK: a prepared work folder with masks. RUN: generator folders holding a trained tokenizer (e.g. the runs of
tokenizer_losses.py). Lesion mean-colour error: the RGB distance (0-255 scale) between the mean colour of the
lesion pixels (the image's mask) in the reconstruction and in the real image, averaged over the class's test
images. Writes DIR/lesion_colour_error.md and .json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch


def lesion_colour_error(real: torch.Tensor, recon: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per image, the RGB distance between the mean colour of the lesion (masks: B x H x W bool) in `recon` and
    in `real` (both B x 3 x H x W, 0-255); background pixels never count."""
    weight = masks.unsqueeze(1).float()
    area = weight.sum(dim=(2, 3)).clamp_min(1.0)
    mean_real = (real.float() * weight).sum(dim=(2, 3)) / area
    mean_recon = (recon.float() * weight).sum(dim=(2, 3)) / area
    return (mean_recon - mean_real).norm(dim=1)


def measure(work: Path, runs: list[Path], batch: int = 64) -> dict[str, Any]:
    """{"train_share": {class: share}, "paths": {run: folder}, "runs": {run: {class: {psnr_db, lesion_colour_error,
    images}}}}."""
    from skinaug.data import real_dataset
    from skinaug.evaluation.retention import reconstruct_uint8
    from skinaug.generators.generator import load_trained_tokenizer
    from skinaug.labels import CLASSES

    train = np.asarray(real_dataset(work, "train").labels)
    results: dict[str, Any] = {"train_share": {c: float((train == k).mean()) for k, c in enumerate(CLASSES)}}
    results["runs"], results["paths"] = {}, {run.name: str(run) for run in runs}
    for run in runs:
        tokenizer = load_trained_tokenizer(run, "cpu")
        data = real_dataset(work, "test", tokenizer.config.image_size, with_mask=True)
        items = [data[i] for i in range(len(data))]
        real = torch.stack([item[0] for item in items])
        labels = np.asarray([item[1] for item in items])
        masks = torch.stack([item[2] for item in items]).bool()
        recon, psnr_db = reconstruct_uint8(tokenizer, real, batch)
        psnr = psnr_db.numpy()
        error = lesion_colour_error(real, recon, masks).numpy()
        has_mask = masks.flatten(1).any(dim=1).numpy()
        results["runs"][run.name] = {
            c: {
                "images": int((labels == k).sum()),
                "psnr_db": float(psnr[labels == k].mean()),
                "lesion_colour_error": float(error[(labels == k) & has_mask].mean()),
            }
            for k, c in enumerate(CLASSES)
            if ((labels == k) & has_mask).any()
        }
    return results


def report(results: dict[str, Any], work: Path) -> str:
    """The Markdown table: one row per class, two columns per tokenizer."""
    from skinaug.machine import describe_hardware

    runs = list(results["runs"])
    classes = [c for c in results["train_share"] if all(c in results["runs"][r] for r in runs)]
    lines = [
        "# Lesion colour per class: does the tokenizer keep each class's colour?",
        "",
        f"Work folder `{work}`; real test images, reconstructed by each tokenizer at its own resolution. Lesion "
        "colour error: RGB distance (0-255) between the mean lesion colour (mask pixels) of the reconstruction and "
        f"of the real image, mean over the class's test images. {describe_hardware()}. Tokenizers: "
        + ", ".join(f"`{r}` = `{path}`" for r, path in results.get("paths", {}).items())
        + ".",
        "",
        "| class | train share | test images | "
        + " | ".join(f"{r} PSNR dB | {r} lesion colour error" for r in runs)
        + " |",
        "|---|---:|---:|" + "---:|---:|" * len(runs),
    ]
    for c in classes:
        cells = " | ".join(
            f"{results['runs'][r][c]['psnr_db']:.1f} | {results['runs'][r][c]['lesion_colour_error']:.1f}" for r in runs
        )
        lines.append(f"| {c} | {results['train_share'][c]:.1%} | {results['runs'][runs[0]][c]['images']} | {cells} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from skinaug.atomic import write_json, write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="prepared work folder with masks")
    parser.add_argument("--runs", required=True, help="comma-separated generator folders with a trained tokenizer")
    parser.add_argument("--out", type=Path, default=Path("/tmp/lesion-colour"))
    args = parser.parse_args()
    runs = [Path(r) for r in args.runs.split(",")]
    results = measure(args.work, runs)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "lesion_colour_error.json", results)
    write_text(args.out / "lesion_colour_error.md", report(results, args.work))
    print(
        json.dumps(
            {r: {c: round(v["lesion_colour_error"], 1) for c, v in d.items()} for r, d in results["runs"].items()}
        )
    )


if __name__ == "__main__":
    main()
