"""Sampling speed of LF-VAR per named config and batch size, with and without the KV cache, plus FLOPs.

    python benchmarks/sample_speed.py [--configs tiny small] [--batches 1 8]

Weights are freshly initialised (speed does not depend on training). FLOPs per image are counted with
torch.utils.flop_counter for one cached sampling pass (transformer + decoding), so the speed can be read
against the hardware's peak. Writes benchmarks/results/sample_speed.md (machine named).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from skinaug.atomic import write_text
from skinaug.generators.config import get_config
from skinaug.generators.tokenizer import LesionTokenizer
from skinaug.generators.var import SamplingConfig, VARTransformer, sample_tokens
from skinaug.machine import device_name, select_device

HERE = Path(__file__).resolve().parent


def build(name: str, device: torch.device) -> tuple[LesionTokenizer, VARTransformer]:
    """Randomly initialised tokenizer and transformer of a named config (64 measurement features)."""
    config = get_config(name)
    config.transformer.measurement_dim = 64
    return (
        LesionTokenizer(config.tokenizer).to(device).eval(),
        VARTransformer(config.transformer, config.tokenizer).to(device).eval(),
    )


@torch.no_grad()
def generate(
    tokenizer: LesionTokenizer, model: VARTransformer, batch: int, use_cache: bool, device: torch.device
) -> torch.Tensor:
    """One batch of free samples (class 0, zero measurements, CFG on)."""
    labels = torch.zeros(batch, dtype=torch.long, device=device)
    measurements = torch.zeros(batch, 64, device=device)
    generator = torch.Generator().manual_seed(0)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    )
    with autocast:
        tokens = sample_tokens(
            model, tokenizer.quantizer, labels, measurements, SamplingConfig(cfg=4.0), generator, use_cache=use_cache
        )
        return tokenizer.indices_to_images(tokens)


def images_per_second(
    tokenizer: LesionTokenizer, model: VARTransformer, batch: int, use_cache: bool, device: torch.device, repeats: int
) -> float:
    """Median-free simple rate: `repeats` timed batches after one warm-up batch."""
    generate(tokenizer, model, batch, use_cache, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        generate(tokenizer, model, batch, use_cache, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * repeats / (time.perf_counter() - start)


def flops_per_image(tokenizer: LesionTokenizer, model: VARTransformer, device: torch.device) -> float:
    """FLOPs of one cached sampling pass (CFG doubles the transformer batch) for one image."""
    counter = FlopCounterMode(display=False)
    with counter:
        generate(tokenizer, model, 1, True, device)
    return float(counter.get_total_flops())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["tiny", "small"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    device = select_device("auto")
    out = args.out or HERE / "results" / f"sample_speed_{device.type}.md"
    rows = []
    for name in args.configs:
        tokenizer, model = build(name, device)
        gflops = flops_per_image(tokenizer, model, device) / 1e9
        for batch in args.batches:
            cached = images_per_second(tokenizer, model, batch, True, device, args.repeats)
            uncached = images_per_second(tokenizer, model, batch, False, device, args.repeats)
            rows.append((name, get_config(name).tokenizer.image_size, batch, cached, uncached, gflops))
            print(f"{name} batch {batch}: {cached:.2f} img/s cached, {uncached:.2f} uncached", flush=True)
    lines = [
        "# LF-VAR sampling speed",
        "",
        f"Machine: {device_name(device)} ({device.type}); torch {torch.__version__}. Free sampling with CFG "
        f"(2x transformer batch), top-k 900 / top-p 0.95, decoding included; {args.repeats} timed batches after "
        "a warm-up, all rows side by side in one run (`benchmarks/sample_speed.py`). Random weights: speed "
        "does not depend on training.",
        "",
        "| config | px | batch | images/s (KV cache) | images/s (no cache) | cache speed-up | GFLOPs / image |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, px, batch, cached, uncached, gflops in rows:
        lines.append(
            f"| {name} | {px} | {batch} | {cached:.2f} | {uncached:.2f} | {cached / uncached:.2f}x | {gflops:.2f} |"
        )
    write_text(out, "\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
