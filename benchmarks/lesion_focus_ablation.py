"""Does `--no-lesion-focus` change the tokenizer? Two tokenizers, same data, seed and steps, with and without
eq. 2's lesion-focused term; background and lesion fidelity on val images side by side.

    python benchmarks/lesion_focus_ablation.py WORKDIR [--config tiny] [--steps 300] [--batch 16]
        [--max-train 2000] [--val-images 256] [--seed 0] [--threads 1] [--out DIR]

WORKDIR is a prepared work directory (`skinaug prepare`; masks needed, measurements not). Both arms draw the
same batches in the same order from the same initial weights; the only difference is the weight of the
lesion-focused term (the config's, default 1, against 0 as `--no-lesion-focus` sets it). The term is computed
in both arms (times 0 in the off arm), so they run the same computation: the table shows seconds per step.
The adversarial loss starts at half the steps, as the named configs do; no perceptual network.

Measured on val images (reconstruction = encode -> tokens -> decode, clamped): PSNR and L1 (on [0, 1]) over the
background (outside the mask), the ring of background within 8 px of the lesion, and the lesion (inside the
mask); the lesion-focused term itself (weight 1). Writes OUT/lesion_focus_ablation.md and .json (default OUT:
benchmarks/results).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skinaug.atomic import write_json, write_text
from skinaug.data import real_dataset
from skinaug.errors import SkinaugError
from skinaug.generators.composite import dilate
from skinaug.generators.config import GeneratorConfig, OptimConfig, load_config
from skinaug.generators.tokenizer import LesionTokenizer, TokenizerTrainer, lesion_focus_loss, token_masks
from skinaug.machine import describe_hardware

HERE = Path(__file__).resolve().parent
RING = 8


def masked_images(workdir: Path, split: str, size: int, limit: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images float N x 3 x S x S in [-1, 1], masks bool N x S x S) of up to `limit` images with a mask."""
    data = real_dataset(workdir, split, size, with_mask=True)
    usable = np.flatnonzero(data.has_mask)
    if usable.size == 0:
        raise SkinaugError(f"{workdir}: no {split} image has a lesion mask")
    chosen = np.sort(np.random.default_rng(seed).permutation(usable)[:limit])
    items = [data[int(i)] for i in chosen]
    return torch.stack([it[0] for it in items]).float() / 127.5 - 1.0, torch.stack([it[2] for it in items])


def train_arm(
    config: GeneratorConfig, weight: float, images: torch.Tensor, masks: torch.Tensor, steps: int, batch: int, seed: int
) -> tuple[LesionTokenizer, float]:
    """A tokenizer trained `steps` steps with lesion-focus weight `weight`; (model, seconds per step)."""
    tcfg = config.tokenizer
    tcfg.lesion_focus = weight
    tcfg.adversarial_start = steps // 2
    optim = OptimConfig(
        **{
            **config.tokenizer_optim.__dict__,
            "steps": steps,
            "batch_size": batch,
            "warmup_steps": min(config.tokenizer_optim.warmup_steps, steps // 10),
        }
    )
    torch.manual_seed(seed)
    trainer = TokenizerTrainer(LesionTokenizer(tcfg), tcfg, optim)
    order = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for step in range(steps):
        idx = torch.randint(len(images), (batch,), generator=order)
        trainer.step(images[idx], masks[idx], step)
    return trainer.model.eval(), (time.perf_counter() - start) / max(steps, 1)


def fidelity(model: LesionTokenizer, images: torch.Tensor, masks: torch.Tensor) -> dict[str, float]:
    """PSNR / L1 on [0, 1] over background, near-lesion ring and lesion; the lesion-focused term (weight 1)."""
    with torch.no_grad():
        recon = torch.cat([model.reconstruct(images[i : i + 32]) for i in range(0, len(images), 32)])
        focus = float(lesion_focus_loss(recon, images, model.scales, token_masks(masks, model.scales)))
    err = ((recon - images) / 2).abs()
    regions = {"background": ~masks, "ring": dilate(masks, RING) & ~masks, "lesion": masks}
    out: dict[str, float] = {"lesion_focus_term": focus}
    for name, where in regions.items():
        pixels = err.permute(0, 2, 3, 1)[where]
        mse = float(pixels.square().mean()) if pixels.numel() else float("nan")
        out[f"{name}_psnr_db"] = 10 * math.log10(1 / mse) if mse > 0 else float("inf")
        out[f"{name}_l1"] = float(pixels.mean()) if pixels.numel() else float("nan")
    return out


def run(
    workdir: Path,
    out: Path,
    config: GeneratorConfig,
    steps: int = 300,
    batch: int = 16,
    max_train: int = 2000,
    val_images: int = 256,
    seed: int = 0,
) -> dict[str, Any]:
    """Train both arms, measure, write the Markdown table and the JSON; return the JSON's content."""
    size = config.tokenizer.image_size
    train = masked_images(workdir, "train", size, max_train, seed)
    val = masked_images(workdir, "val", size, val_images, seed)
    weight_on = config.tokenizer.lesion_focus if config.tokenizer.lesion_focus > 0 else 1.0
    arms: dict[str, Any] = {}
    for name, weight in (("lesion focus on", weight_on), ("--no-lesion-focus", 0.0)):
        arm_config = GeneratorConfig.from_dict(config.to_dict())
        model, per_step = train_arm(arm_config, weight, *train, steps, batch, seed)
        arms[name] = {"weight": weight, "seconds_per_step": per_step, **fidelity(model, *val)}
    report = {
        "workdir": str(workdir),
        "config": config.name,
        "image_size": size,
        "steps": steps,
        "batch": batch,
        "seed": seed,
        "train_images": len(train[0]),
        "val_images": len(val[0]),
        "threads": torch.get_num_threads(),
        "machine": describe_hardware(),
        "arms": arms,
    }
    write_json(out / "lesion_focus_ablation.json", report)
    write_text(out / "lesion_focus_ablation.md", markdown(report))
    return report


def markdown(report: dict[str, Any]) -> str:
    """The side-by-side table."""
    lines = [
        "# Lesion-focus ablation: tokenizer fidelity with and without eq. 2's non-lesion term",
        "",
        f"`{report['config']}` tokenizer ({report['image_size']} px), {report['steps']} steps of batch "
        f"{report['batch']}, seed {report['seed']}, {report['train_images']} train images with a mask from "
        f"`{report['workdir']}`; measured on {report['val_images']} val images. {report['machine']}, "
        f"{report['threads']} torch thread(s).",
        "",
        "| arm | weight | background PSNR (dB) | background L1 | ring PSNR (dB) | lesion PSNR (dB) | lesion L1 "
        "| lesion-focus term | s/step |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, a in report["arms"].items():
        lines.append(
            f"| {name} | {a['weight']:g} | {a['background_psnr_db']:.2f} | {a['background_l1']:.4f} | "
            f"{a['ring_psnr_db']:.2f} | {a['lesion_psnr_db']:.2f} | {a['lesion_l1']:.4f} | "
            f"{a['lesion_focus_term']:.5f} | {a['seconds_per_step']:.3f} |"
        )
    lines += [
        "",
        f"Background: every pixel outside the lesion mask; ring: background within {RING} px of the lesion; "
        "lesion-focus term: eq. 2's non-lesion term on the val reconstructions (weight 1). Both arms compute "
        "the term (times 0 when off), with the same data order and initial weights.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--config", default="tiny", help="a named generator config or a JSON file")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--val-images", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report = run(
        args.workdir,
        args.out,
        load_config(args.config),
        args.steps,
        args.batch,
        args.max_train,
        args.val_images,
        args.seed,
    )
    print(markdown(report))


if __name__ == "__main__":
    main()
