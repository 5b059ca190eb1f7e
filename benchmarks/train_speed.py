"""Generator training throughput and model FLOPs utilisation, with and without each fast path, in one run.

    python benchmarks/train_speed.py [--configs tiny,small] [--steps 4] [--batch-size N] [--smoke]

For the tokenizer and the transformer stage of each config, times training steps as `train-generator` runs
them (its Stage objects: batches, train_step, reading logged values), once per variant, side by side:
  baseline         images decoded from the files per item, no loader workers, values read every step
  +cache+workers   decoded-image memmap (OUT/cache/decoded) and DataLoader workers (pinned on CUDA; as many
                   as train-generator uses on the device: none on a CPU, unless --workers)
  +token cache     (transformer) tokens read from the token-index cache instead of encoded per batch
  +sync every log  logged values read from the device only every log_every steps (all paths on)
Model FLOPs per step are counted once with torch.utils.flop_counter.FlopCounterMode on a step of the
all-on variant (for the transformer: without encoding, the model's own work); MFU = FLOPs/step x steps/s
over the machine's peak, measured here with a large matmul (fp32 on CPU, bf16 on CUDA). Data: phantom
lesion images at HAM10000's 200x150 (prepared and measured in a temporary folder), or --workdir.
Writes benchmarks/results/train_speed_<device>.md and .json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from skinaug.atomic import write_json, write_text
from skinaug.generators import training
from skinaug.generators.batches import default_workers
from skinaug.generators.config import load_config
from skinaug.generators.data import MeasurementSpace, conditioned_split, with_decoded_cache
from skinaug.generators.distributed import setup
from skinaug.generators.token_cache import CACHE_FOLDER
from skinaug.machine import device_name, matmul_peak, matmul_peak_kind, synchronize
from skinaug.data import DecodedImageCache

HERE = Path(__file__).resolve().parent
VARIANTS = {  # name -> (decoded cache + workers, token cache, sync only on logged steps)
    "tokenizer": {
        "baseline": (False, False, False),
        "+cache+workers": (True, False, False),
        "+sync every log": (True, False, True),
    },
    "transformer": {
        "baseline": (False, False, False),
        "+cache+workers": (True, False, False),
        "+token cache": (True, True, False),
        "+sync every log": (True, True, True),
    },
}


def phantom_workdir(root: Path, images: int) -> Path:
    """A prepared, measured phantom work directory with images at HAM10000's 200 x 150."""
    from skinaug.measurements import measure_workdir
    from skinaug.phantoms import PhantomConfig, make_phantoms
    from skinaug.prepare import prepare_dataset

    make_phantoms(root / "ph", PhantomConfig(n=images, seed=1, width=200, height=150), progress=False)
    prepare_dataset("ham10000", root / "ph", root / "work", progress=False)
    measure_workdir(root / "work", workers=1, progress=False)
    return root / "work"


def time_stage(stage: training.Stage, steps: int, every_step: bool, device: torch.device) -> float:
    """Seconds per step over `steps` steps after one warm-up step (values read each step or every log_every); in
    the token-cache rows the warm-up step builds the token cache."""
    batches = stage.batches(0, steps + 1)
    try:
        step, batch = next(batches)
        training.to_floats(stage.train_step(batch, step))
        synchronize(device)
        start = time.perf_counter()
        for step, batch in batches:
            raw = stage.train_step(batch, step)
            if every_step or (step + 1) % stage.log_every == 0:
                training.to_floats(raw)
        synchronize(device)
        return (time.perf_counter() - start) / steps
    finally:
        close = getattr(batches, "close", None)
        if close:
            close()


def step_flops(stage: training.Stage) -> int:
    """FLOPs of one training step (forward and backward), counted by FlopCounterMode."""
    step, batch = next(iter(stage.batches(50, 51)))
    with FlopCounterMode(display=False) as counter:
        training.to_floats(stage.train_step(batch, step))
    return int(counter.get_total_flops())


def bench_config(
    name: str,
    workdir: Path,
    root: Path,
    args: argparse.Namespace,
    device: torch.device,
    peak: float,
    stage_done: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Rows (one per stage and variant) for one config; `stage_done` gets the rows so far after each stage (a
    report written then survives a time limit that ends the run early)."""
    config = load_config(name).with_overrides(batch_size=args.batch_size)
    space = MeasurementSpace.load(workdir)
    config.transformer.measurement_dim = space.dim
    size = config.tokenizer.image_size
    plain = conditioned_split(workdir, "train", size, space), conditioned_split(workdir, "val", size, space)
    out = root / f"gen-{name}"
    cached = tuple(
        with_decoded_cache(s, DecodedImageCache(out / CACHE_FOLDER / "decoded", progress=False)) for s in plain
    )
    ctx = setup(args.device)
    workers = loader_workers(args, device)
    rows: list[dict[str, Any]] = []
    for stage_name, variants in VARIANTS.items():
        flops = 0
        for variant, (fast_data, tokens, logged_sync) in variants.items():
            options = training.TrainOptions(
                progress=False, workers=workers if fast_data else 0, decoded_cache=fast_data, token_cache=tokens
            )
            train, val = cached if fast_data else plain
            start = time.perf_counter()
            if stage_name == "tokenizer":
                stage = training._tokenizer_stage(config, train, val, options, ctx)
            else:
                stage = training._transformer_stage(config, out, train, val, options, ctx)
            setup_s = time.perf_counter() - start
            seconds = time_stage(stage, args.steps, not logged_sync, device)
            if variant == "+sync every log":
                flops = step_flops(stage)
                if stage_name == "tokenizer":  # the transformer stage reads this tokenizer's weights
                    training._save(stage, out / "tokenizer", 1, {}, [])
            batch = (
                config.tokenizer_optim.batch_size if stage_name == "tokenizer" else config.transformer_optim.batch_size
            )
            rows.append(
                {
                    "config": name,
                    "px": size,
                    "batch": batch,
                    "stage": stage_name,
                    "variant": variant,
                    "s_per_step": seconds,
                    "images_per_s": batch / seconds,
                    "setup_s": setup_s,
                }
            )
            print(f"{name} {stage_name} {variant}: {batch / seconds:.2f} images/s", file=sys.stderr)
        for row in rows:
            if row["stage"] == stage_name and row["config"] == name:
                row["gflops_per_step"] = flops / 1e9
                row["mfu"] = flops / row["s_per_step"] / peak
        if stage_done is not None:
            stage_done(rows)
    return rows


def loader_workers(args: argparse.Namespace, device: torch.device) -> int:
    """Loader processes of the fast rows: --workers, else what train-generator uses here (0 on a CPU: there the
    cores that would decode are the cores that train)."""
    return args.workers if args.workers is not None else default_workers(device)


def report(rows: list[dict[str, Any]], device: torch.device, peak: float, args: argparse.Namespace) -> str:
    """The Markdown table, speed-ups relative to each stage's baseline."""
    lines = [
        "# LF-VAR generator training speed",
        "",
        f"Machine: {device_name(device)}; torch {torch.__version__}. {args.note}",
        f"Measured matmul peak: {peak / 1e9:.1f} GFLOP/s ({matmul_peak_kind(device)}). "
        f"{args.steps} timed steps per row after a warm-up step, random initial weights, "
        + (f"the images of the work directory `{args.workdir}`" if args.workdir else "phantom images at 200x150")
        + " (`benchmarks/train_speed.py`; variants are cumulative, see its docstring). The tokenizer rows "
        "include its discriminator only once adversarial training starts (not within these steps). Loader "
        f"workers of the '+cache+workers' rows: {loader_workers(args, device)} (train-generator's default here"
        f"{'' if args.workers is None else '; set by --workers'}).",
        "",
        "| config | px | batch | stage | variant | images/s | speed-up | GFLOPs/step | MFU | setup s |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    base: dict[tuple[str, str], float] = {}
    for r in rows:
        key = (r["config"], r["stage"])
        base.setdefault(key, r["images_per_s"])
        lines.append(
            f"| {r['config']} | {r['px']} | {r['batch']} | {r['stage']} | {r['variant']} | {r['images_per_s']:.2f} | "
            f"{r['images_per_s'] / base[key]:.2f}x | {r['gflops_per_step']:.2f} | {100 * r['mfu']:.2f} % | "
            f"{r['setup_s']:.1f} |"
        )
    lines += [
        "",
        "Setup s: building the stage. The token cache (all train and val images encoded once per tokenizer) is "
        "built in the first step of the token-cache rows: the untimed warm-up step.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="tiny,small", help="comma-separated config names")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per row")
    parser.add_argument("--batch-size", type=int, default=None, help="override the configs' batch")
    parser.add_argument("--images", type=int, default=96, help="phantom images (without --workdir)")
    parser.add_argument("--workdir", type=Path, default=None, help="a prepared, measured work directory")
    parser.add_argument("--workers", type=int, default=None, help="loader workers of the fast rows")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--smoke", action="store_true", help="tiny only, batch 4, 2 steps, 40 images")
    parser.add_argument("--note", default="", help="a sentence for the report (e.g. what else used the machine)")
    parser.add_argument("--out", type=Path, default=None, help="report path [default: results/train_speed_<device>.md]")
    args = parser.parse_args()
    if args.smoke:
        args.configs, args.steps, args.batch_size, args.images = "tiny", 2, args.batch_size or 4, 40
    device = setup(args.device).device
    torch.manual_seed(0)
    peak = matmul_peak(device)
    out = args.out or HERE / "results" / f"train_speed_{device.type}.md"

    def save(rows: list[dict[str, Any]]) -> None:
        write_text(out, report(rows, device, peak, args))
        write_json(
            out.with_suffix(".json"),
            {"device": device_name(device), "peak_flops": peak, "note": args.note, "rows": rows},
        )

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or phantom_workdir(Path(tmp), args.images)
        for name in args.configs.split(","):  # the callback runs before `rows` grows: rows + new is all so far
            rows += bench_config(name.strip(), workdir, Path(tmp), args, device, peak, lambda new: save(rows + new))
    save(rows)
    print(out)


if __name__ == "__main__":
    main()
