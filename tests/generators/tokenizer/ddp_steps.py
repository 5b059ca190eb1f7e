"""Run by test_ddp.py in a fresh process: a few TokenizerTrainer steps with dead-code restarts at every step
and the adversarial phase from step 2, either as one process on each step's whole global batch
(`ddp_steps.py OUT 0 1`) or as rank RANK of WORLD gloo processes on its contiguous share of it
(`ddp_steps.py OUT RANK WORLD STORE_FILE`). Writes OUT/rank{RANK}.safetensors (tokenizer and discriminator
state, buffers included) and OUT/rank{RANK}.json (the logged rows)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import save_file

from skinaug.generators.config import OptimConfig, TokenizerConfig
from skinaug.generators.distributed import Distributed
from skinaug.generators.tokenizer import LesionTokenizer, TokenizerTrainer
from skinaug.generators.training import to_floats

STEPS = 5
# AdamW's default eps (1e-8) turns float32 rounding noise into full learning-rate steps: the first step moves
# every weight by about lr * g / (|g| + eps), so an (almost) zero gradient entry of 1e-9 whose sign depends on
# the summation order (4 samples in one process, or 2 + 2 and an all-reduce) moves by +-lr either way (seen:
# 9e-4 apart after 5 steps, on conv biases). A larger eps keeps updates proportional to the gradients, so
# the comparison measures the data-parallel arithmetic, not that amplification.
ADAM_EPS = 1e-5
GLOBAL_BATCH = 4
CONFIG = TokenizerConfig(
    image_size=32,
    channels=16,
    channel_mult=(1, 2, 2),
    latent_dim=8,
    vocab_size=64,
    scales=(1, 2, 4, 8),
    dead_code_steps=1,  # codes unused in a step are restarted after it: restarts at every step
    dead_code_check_every=1,
    adversarial_start=2,
    disc_channels=8,
    disc_layers=2,
)


def global_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images in [-1, 1] and random rectangular lesion masks, the same in every process."""
    g = torch.Generator().manual_seed(100 + step)
    images = torch.rand(GLOBAL_BATCH, 3, 32, 32, generator=g) * 2 - 1
    masks = torch.zeros(GLOBAL_BATCH, 32, 32, dtype=torch.bool)
    for i, (y, x) in enumerate(torch.randint(4, 20, (GLOBAL_BATCH, 2), generator=g).tolist()):
        masks[i, y : y + 10, x : x + 12] = True
    return images, masks


def main(out: Path, rank: int, world: int, store: str | None) -> None:
    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    torch.manual_seed(rank)  # rank 1 starts from other weights: DDP must copy rank 0's (buffers included)
    trainer = TokenizerTrainer(
        LesionTokenizer(CONFIG),
        CONFIG,
        OptimConfig(lr=1e-3, warmup_steps=1, steps=STEPS),
        distributed=Distributed(rank, world, torch.device("cpu")),
    )
    for opt in (trainer.opt_g, trainer.opt_d):
        for group in opt.param_groups:
            group["eps"] = ADAM_EPS
    share = slice(rank * GLOBAL_BATCH // world, (rank + 1) * GLOBAL_BATCH // world)
    rows = []
    for step in range(STEPS):
        images, masks = global_batch(step)
        rows.append(to_floats(trainer.step(images[share], masks[share], step)))
    state = {f"model.{k}": v for k, v in trainer.model.state_dict().items()}
    state.update({f"discriminator.{k}": v for k, v in trainer.discriminator.state_dict().items()})
    save_file({k: v.detach().contiguous() for k, v in state.items()}, str(out / f"rank{rank}.safetensors"))
    (out / f"rank{rank}.json").write_text(json.dumps(rows))
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None)
