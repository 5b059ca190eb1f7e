"""Classifier training throughput with and without the decoded-image cache, side by side in one run.

    python benchmarks/classifier_throughput.py [--data ../shared/data/HAM10000] [--arch resnet18] [--size 64]

Measures, on the real HAM10000 training split: (1) the data loader alone, (2) full training steps
(forward, backward, AdamW), each once reading the decoded-image cache and once decoding every JPEG per
item. Writes benchmarks/results/classifier_throughput.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from skinaug.atomic import write_text
from skinaug.classifiers.models import create_classifier
from skinaug.classifiers.train import make_loader
from skinaug.machine import device_name, select_device
from skinaug.data import DecodedImageCache, real_dataset, train_transform
from skinaug.prepare import prepare_dataset

HERE = Path(__file__).resolve().parent


def images_per_second(loader: torch.utils.data.DataLoader, batches: int, step=None) -> float:  # noqa: ANN001
    """Images/s over `batches` batches after one warm-up batch; `step(images, labels)` trains if given."""
    iterator = iter(loader)
    images, labels = next(iterator)
    if step:
        step(images, labels)
    count, start = 0, time.perf_counter()
    for _ in range(batches):
        images, labels = next(iterator)
        if step:
            step(images, labels)
        count += len(labels)
    return count / (time.perf_counter() - start)


def training_step(arch: str, device: torch.device):  # noqa: ANN201
    """A closure doing one AdamW step of a fresh model on a batch."""
    model, _ = create_classifier(arch, 7)
    model = model.to(device).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    )

    def step(images: torch.Tensor, labels: torch.Tensor) -> None:
        images = images.to(device).contiguous(memory_format=torch.channels_last)
        with autocast:
            loss = torch.nn.functional.cross_entropy(model(images), labels.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "HAM10000")
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "classifier_throughput.md")
    args = parser.parse_args()
    device = select_device("auto")
    torch.manual_seed(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / "work"
        prepare_dataset("ham10000", args.data, workdir, progress=False)
        cache = DecodedImageCache(Path(tmp) / "decoded")
        for what, step in (("data loader only", None), (f"training {args.arch}", training_step(args.arch, device))):
            for label, use_cache in (("decoded-image cache", True), ("JPEG decode per item", False)):
                dataset = real_dataset(
                    workdir, "train", args.size, train_transform(args.size), cache if use_cache else None
                )
                loader = make_loader(dataset, args.batch_size, args.workers, shuffle=True, seed=0)
                rate = images_per_second(loader, args.batches, step)
                rows.append((what, label, rate))
                print(f"{what}, {label}: {rate:.0f} images/s", flush=True)
    lines = [
        "# Classifier training throughput: decoded-image cache vs JPEG decode per item",
        "",
        f"Real HAM10000 train split (200x150 JPEGs) at {args.size} px, batch {args.batch_size}, "
        f"{args.workers} DataLoader worker(s), {args.batches} timed batches after a warm-up batch, "
        "standard augmentation (flips, rotation, resized crop, colour jitter).",
        "",
        f"Machine: {device_name(device)} ({device}). All rows measured side by side in one run "
        "(`benchmarks/classifier_throughput.py`).",
        "",
        "| what | images from | images/s | cache speed-up |",
        "|---|---|---:|---:|",
    ]
    for index in range(0, len(rows), 2):
        cached, decoded = rows[index], rows[index + 1]
        for what, label, rate in (cached, decoded):
            ratio = f"{cached[2] / decoded[2]:.2f}x" if label.startswith("decoded") else ""
            lines.append(f"| {what} | {label} | {rate:.0f} | {ratio} |")
    lines += [
        "",
        "The cache is built once (not counted above); the files here are small 200x150 JPEGs, so the "
        "gain grows with the source resolution (ISIC originals are 600x450 to 6000x4000).",
        "",
    ]
    write_text(args.out, "\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
