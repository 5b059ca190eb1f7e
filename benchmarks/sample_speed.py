"""Sampling speed of LF-VAR per named config and batch size, with and without the KV cache, plus FLOPs; and
side by side with FoundationVision/VAR's reference sampler against the FLOP floor.

    python benchmarks/sample_speed.py [--configs tiny small] [--batches 1 8]
    python benchmarks/sample_speed.py --configs --against-var /tmp/VAR [--var-batches 2] [--repeats 2]

Weights are freshly initialised (speed does not depend on training). FLOPs per image are counted with
torch.utils.flop_counter for one cached sampling pass (transformer + decoding), so the speed can be read
against the hardware's peak.

`--against-var PATH` (a checkout of FoundationVision/VAR, see `var_reference.py`): skinaug's `base` sampler and
VAR-d16's `autoregressive_infer_cfg` at the same shape (same scales, width, depth, heads, vocabulary), batch,
guidance (CFG 4, linear ramp), top-k 900 and top-p 0.95, tokens only (no decode on either side), float32 on
CPU and bf16 autocast on CUDA, timed in one run with the repeats interleaved (skinaug, VAR, skinaug, VAR, ...)
so that a shared machine's load falls on both alike. The FLOP floor: the sampler's FLOPs per image
(FlopCounterMode) divided by the peak of one large matrix product measured in the same run; the fraction of it
achieved = FLOPs per image x images/s / peak.

Writes benchmarks/results/sample_speed_<device>.md and .json (machine named).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from skinaug.atomic import write_json, write_text
from skinaug.generators.config import get_config
from skinaug.generators.tokenizer import LesionTokenizer
from skinaug.generators.var import SamplingConfig, VARTransformer, sample_tokens
from skinaug.machine import device_name, matmul_peak, matmul_peak_kind, select_device, synchronize

HERE = Path(__file__).resolve().parent


def build(name: str, device: torch.device) -> tuple[LesionTokenizer, VARTransformer]:
    """Randomly initialised tokenizer and transformer of a named config (64 measurement features)."""
    config = get_config(name)
    config.transformer.measurement_dim = 64
    return (
        LesionTokenizer(config.tokenizer).to(device).eval(),
        VARTransformer(config.transformer, config.tokenizer).to(device).eval(),
    )


def autocast(device: torch.device) -> Any:
    """bf16 autocast on CUDA (as `Generator` samples), plain float32 on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


@torch.no_grad()
def generate(
    tokenizer: LesionTokenizer,
    model: VARTransformer,
    batch: int,
    use_cache: bool,
    device: torch.device,
    decode: bool = True,
    sampling: SamplingConfig | None = None,
) -> torch.Tensor | list[torch.Tensor]:
    """One batch of free samples (class 0, zero measurements, CFG 4, top-k 900, top-p 0.95 unless `sampling`):
    images, or the token maps with `decode=False`."""
    labels = torch.zeros(batch, dtype=torch.long, device=device)
    measurements = torch.zeros(batch, 64, device=device)
    generator = torch.Generator().manual_seed(0)
    with autocast(device):
        tokens = sample_tokens(
            model,
            tokenizer.quantizer,
            labels,
            measurements,
            sampling or SamplingConfig(cfg=4.0),
            generator,
            use_cache=use_cache,
        )
        return tokenizer.indices_to_images(tokens) if decode else tokens


def seconds(action: Callable[[], Any], device: torch.device) -> float:
    """Wall-clock seconds of one call (the GPU's queue drained before and after)."""
    synchronize(device)
    start = time.perf_counter()
    action()
    synchronize(device)
    return time.perf_counter() - start


def images_per_second(
    tokenizer: LesionTokenizer, model: VARTransformer, batch: int, use_cache: bool, device: torch.device, repeats: int
) -> float:
    """Median-free simple rate: `repeats` timed batches after one warm-up batch."""
    generate(tokenizer, model, batch, use_cache, device)
    total = sum(seconds(lambda: generate(tokenizer, model, batch, use_cache, device), device) for _ in range(repeats))
    return batch * repeats / total


def count_flops(action: Callable[[], Any]) -> float:
    """FLOPs of one call (matrix products, attention and convolutions, as torch.utils.flop_counter counts)."""
    counter = FlopCounterMode(display=False)
    with counter:
        action()
    return float(counter.get_total_flops())


def flops_per_image(tokenizer: LesionTokenizer, model: VARTransformer, device: torch.device) -> float:
    """FLOPs of one cached sampling pass (CFG doubles the transformer batch) for one image."""
    return count_flops(lambda: generate(tokenizer, model, 1, True, device))


def against_var(
    checkout: Path, batches: list[int], repeats: int, device: torch.device, depth: int = 16
) -> dict[str, Any]:
    """skinaug `base` vs VAR-d16, tokens only, interleaved repeats per batch size; FLOP floor and fraction.
    Another `depth` d compares VAR-d with `base` at VAR-d's shape (d blocks, width 64 d, d heads)."""
    from var_reference import load_var, var_sample

    config = get_config("base")
    config.transformer.measurement_dim = 64
    config.transformer.depth, config.transformer.width, config.transformer.heads = depth, 64 * depth, depth
    tokenizer = LesionTokenizer(config.tokenizer).to(device).eval()
    model = VARTransformer(config.transformer, config.tokenizer).to(device).eval()
    var = load_var(checkout, tuple(config.tokenizer.scales), device, depth)
    sampling = SamplingConfig(cfg=4.0, cfg_schedule="linear", top_k=900, top_p=0.95)

    def ours(batch: int) -> Any:
        return generate(tokenizer, model, batch, True, device, decode=False, sampling=sampling)

    def theirs(batch: int) -> Any:
        with autocast(device):
            return var_sample(var, batch, sampling.cfg, sampling.top_k, sampling.top_p)

    peak = matmul_peak(device)
    rows = []
    for batch in batches:
        # the warm-up batches are the counted ones (FLOPs per image at this batch)
        flops_ours = count_flops(lambda: ours(batch)) / batch
        flops_var = count_flops(lambda: theirs(batch)) / batch
        if device.type == "cuda":  # and one more warm-up each outside the counter (kernels chosen, caches warm)
            ours(batch), theirs(batch)
        times: dict[str, list[float]] = {"skinaug": [], "var": []}
        for _ in range(repeats):
            times["skinaug"].append(seconds(lambda: ours(batch), device))
            times["var"].append(seconds(lambda: theirs(batch), device))
        rate = {name: batch * repeats / sum(t) for name, t in times.items()}
        row = {
            "batch": batch,
            "skinaug_images_per_s": rate["skinaug"],
            "var_images_per_s": rate["var"],
            "speedup_vs_var": rate["skinaug"] / rate["var"],
            "skinaug_gflops_per_image": flops_ours / 1e9,
            "var_gflops_per_image": flops_var / 1e9,
            "floor_seconds_per_image": flops_ours / peak,
            "skinaug_fraction_of_floor": flops_ours * rate["skinaug"] / peak,
            "var_fraction_of_floor": flops_var * rate["var"] / peak,
            "seconds_per_batch": times,
        }
        rows.append(row)
        print(
            f"{config.name} vs VAR-d{depth}, batch {batch}: skinaug {rate['skinaug']:.3f} img/s, "
            f"VAR {rate['var']:.3f} img/s "
            f"({row['speedup_vs_var']:.2f}x); floor fraction {row['skinaug_fraction_of_floor']:.1%} vs "
            f"{row['var_fraction_of_floor']:.1%}",
            flush=True,
        )
    return {
        "settings": {
            "skinaug_config": "base" if depth == 16 else f"base at VAR-d{depth}'s shape",
            "var_model": f"VAR-d{depth} (FoundationVision/VAR build_vae_var, random weights)",
            "depth": depth,
            "width": 64 * depth,
            "scales": list(config.tokenizer.scales),
            "vocab": config.tokenizer.vocab_size,
            "cfg": sampling.cfg,
            "cfg_schedule": sampling.cfg_schedule,
            "top_k": sampling.top_k,
            "top_p": sampling.top_p,
            "dtype": "bf16 autocast" if device.type == "cuda" else "float32",
            "tokens_only": True,
            "repeats": repeats,
        },
        "peak_tflops": peak / 1e12,
        "peak_kind": matmul_peak_kind(device),
        "rows": rows,
    }


def var_section(result: dict[str, Any], machine: str, shared_note: str) -> list[str]:
    """The markdown of the side-by-side run."""
    s = result["settings"]
    lines = [
        f"## skinaug `{s['skinaug_config']}` vs FoundationVision/VAR's `autoregressive_infer_cfg` ({s['var_model']})",
        "",
        f"Machine: {machine}. Same shape on both sides (scales {s['scales']}, width {s['width']}, {s['depth']} "
        f"blocks and heads, vocabulary {s['vocab']}), random weights, CFG {s['cfg']:g} ({s['cfg_schedule']} ramp), "
        f"top-k {s['top_k']}, top-p {s['top_p']}, {s['dtype']}, tokens only (no VQVAE decode on either side); "
        f"{s['repeats']} timed batches per side after a warm-up, interleaved (skinaug, VAR, skinaug, VAR, ...) in "
        f"one run.{shared_note}",
        "",
        f"FLOPs per image: torch.utils.flop_counter over the warm-up batch. Matrix-product peak measured in the same "
        f"run ({result.get('peak_kind', 'matrix products')}): {result['peak_tflops'] * 1e3:.1f} GFLOP/s; FLOP floor "
        "= FLOPs per image / peak; fraction of the floor "
        "= FLOPs per image x images/s / peak.",
        "",
        "| batch | skinaug img/s | VAR img/s | skinaug / VAR | GFLOP / image (skinaug, VAR) | floor s / image "
        "| fraction of floor (skinaug, VAR) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['batch']} | {row['skinaug_images_per_s']:.3f} | {row['var_images_per_s']:.3f} | "
            f"{row['speedup_vs_var']:.2f}x | {row['skinaug_gflops_per_image']:.1f}, {row['var_gflops_per_image']:.1f} "
            f"| {row['floor_seconds_per_image']:.3f} | {row['skinaug_fraction_of_floor']:.1%}, "
            f"{row['var_fraction_of_floor']:.1%} |"
        )
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=["tiny", "small"], help="none: skip the per-config table")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--against-var", type=Path, default=None, metavar="PATH", help="a FoundationVision/VAR checkout"
    )
    parser.add_argument("--var-batches", nargs="+", type=int, default=[2])
    parser.add_argument("--var-depth", type=int, default=16, help="VAR-d of the comparison (16 = VAR-d16 = base)")
    parser.add_argument("--shared-note", default="", help="a sentence on the machine's load, added to the report")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    device = select_device("auto")
    out = args.out or HERE / "results" / f"sample_speed_{device.type}.md"
    machine = f"{device_name(device)} ({device.type}); torch {torch.__version__}"
    note = f" {args.shared_note}" if args.shared_note else ""
    report: dict[str, Any] = {"machine": machine, "note": args.shared_note}
    lines = ["# LF-VAR sampling speed", ""]

    def save() -> None:
        write_text(out, "\n".join(lines) + "\n")
        write_json(out.with_suffix(".json"), report)

    if args.against_var is not None:
        report["against_var"] = against_var(args.against_var, args.var_batches, args.repeats, device, args.var_depth)
        lines += var_section(report["against_var"], machine, note)
        save()  # the side by side is kept even if the per-config rows are cut short (a time limit)
    rows = []
    for name in args.configs:
        tokenizer, model = build(name, device)
        gflops = flops_per_image(tokenizer, model, device) / 1e9
        for batch in args.batches:
            cached = images_per_second(tokenizer, model, batch, True, device, args.repeats)
            uncached = images_per_second(tokenizer, model, batch, False, device, args.repeats)
            rows.append((name, get_config(name).tokenizer.image_size, batch, cached, uncached, gflops))
            print(f"{name} batch {batch}: {cached:.2f} img/s cached, {uncached:.2f} uncached", flush=True)
    if rows:
        report["configs"] = [
            dict(zip(("config", "px", "batch", "cached_images_per_s", "uncached_images_per_s", "gflops_per_image"), r))
            for r in rows
        ]
        lines += [
            "## Per config, with and without the KV cache (decoding included)",
            "",
            f"Machine: {machine}. Free sampling with CFG (2x transformer batch), top-k 900 / top-p 0.95, decoding "
            f"included; {args.repeats} timed batches after a warm-up, all rows side by side in one run. Random "
            f"weights: speed does not depend on training.{note}",
            "",
            "| config | px | batch | images/s (KV cache) | images/s (no cache) | cache speed-up | GFLOPs / image |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, px, batch, cached, uncached, gflops in rows:
            lines.append(
                f"| {name} | {px} | {batch} | {cached:.2f} | {uncached:.2f} | {cached / uncached:.2f}x | {gflops:.2f} |"
            )
    save()
    print(f"wrote {out} and {out.with_suffix('.json').name}")


if __name__ == "__main__":
    main()
