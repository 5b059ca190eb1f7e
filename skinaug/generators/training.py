"""`skinaug train-generator`: train the tokenizer, then the transformer; checkpoint, resume, log, validate.

OUT/ holds config.json, scaler.json and class_means.json (from the work directory's train-split fit),
OUT/tokenizer/ and OUT/transformer/ (checkpoint folders, see checkpoint.py), <stage>_log.csv and
model_card.md. A run continued with `--resume` reproduces the uninterrupted run: batches depend only on
the step number (batches.py) and the checkpoint carries optimizer, schedule, RNG and log state.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import torch
import torch.distributed as dist
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from tqdm.auto import tqdm

from .. import __version__
from ..atomic import read_json, write_csv, write_json, write_text
from ..errors import SkinaugError
from ..manifest import load_prepared
from ..pretrained import wants_pretrained
from .batches import step_batch
from .checkpoint import latest_checkpoint, read_checkpoint, write_checkpoint
from .config import GeneratorConfig
from .data import ConditionedImages, MeasurementSpace, conditioned_split
from .distributed import Distributed, broadcast_module, mean_over_ranks, setup, teardown
from .state_io import pack_state, unpack_state
from .tokenizer import LesionTokenizer, TokenizerTrainer, load_perceptual
from .tokenizer.train_step import psnr
from .transformer_trainer import TransformerTrainer
from .var import VARTransformer

STAGES: tuple[str, ...] = ("tokenizer", "transformer")
VAL_IMAGES = 64


@dataclass
class TrainOptions:
    """How to run training (not what the model is: that is the GeneratorConfig)."""

    stage: str = "all"
    resume: bool = False
    device: str = "auto"
    perceptual_weights: str | None = None
    progress: bool = True


class Stage:
    """What differs between the two stages: the trainer, its batches and its validation."""

    def __init__(self, name: str, trainer: Any, steps: int, batch_size: int, checkpoint_every: int,
                 val_every: int, train_step: Callable[[dict[str, Any], int], dict[str, float]],
                 validate: Callable[[], dict[str, float]], weights: Callable[[], dict[str, torch.Tensor]]) -> None:
        self.name, self.trainer, self.steps, self.batch_size = name, trainer, steps, batch_size
        self.checkpoint_every, self.val_every = checkpoint_every, val_every
        self.train_step, self.validate, self.weights = train_step, validate, weights


def _prepare_out(out: Path, workdir: Path, config: GeneratorConfig, space: MeasurementSpace,
                 resume: bool) -> None:
    """Write config, scaler and class means to a new OUT; check them against an existing one."""
    config_path = out / "config.json"
    if config_path.exists():
        saved = read_json(config_path)
        if not resume:
            raise SkinaugError(f"{out}: already holds a generator; use --resume to continue it or another --out")
        if not isinstance(saved, dict) or saved.get("format") != "skinaug-lfvar" or saved.get("format_version") != 1:
            found = saved.get("format_version") if isinstance(saved, dict) else None
            raise SkinaugError(f"{config_path}: generator format version {found!r}; this skinaug reads skinaug-lfvar "
                               "version 1")
        if not isinstance(saved.get("model"), dict) or GeneratorConfig.from_dict(saved["model"]) != config:
            raise SkinaugError(f"{config_path}: the run was started with another config; --resume needs the same")
        for name in ("scaler.json", "class_means.json"):
            if not (out / name).exists():
                raise SkinaugError(f"{out / name}: missing; {out} is not a complete generator folder")
        return
    if any(latest_checkpoint(out / stage) is not None for stage in STAGES):
        raise SkinaugError(f"{config_path}: missing; {out} holds checkpoints but no config.json to check them against")
    prepared = load_prepared(workdir)
    space.scaler.save(out / "scaler.json")
    write_text(out / "class_means.json", (workdir / "measurements" / "class_means.json").read_text(encoding="utf-8"))
    # config.json last: it marks OUT as a generator, so a failed start leaves a folder that a re-run simply redoes
    write_json(config_path, {"format": "skinaug-lfvar", "format_version": 1, "skinaug_version": __version__,
                             "workdir": str(workdir.resolve()), "dataset": prepared.info.get("format"),
                             "model": config.to_dict()})


def _restore(stage: Stage, root: Path, ctx: Distributed) -> tuple[int, list[dict[str, Any]]]:
    """(first step, log rows) from the latest checkpoint of a stage, or (0, [])."""
    if latest_checkpoint(root) is None:
        return 0, []
    files, manifest = read_checkpoint(root)
    tree = json.loads(files["train_state.json"])
    state = unpack_state(files["train_state.safetensors"], tree, str(root / manifest["tag"]))
    stage.trainer.load_state_dict(state["trainer"])
    torch.set_rng_state(state["torch_rng"])
    return int(manifest["meta"]["step"]), state["log"]


def _save(stage: Stage, root: Path, step: int, log: list[dict[str, Any]]) -> None:
    blob, tree = pack_state({"trainer": stage.trainer.state_dict(), "torch_rng": torch.get_rng_state(),
                             "log": log})
    weights = {k: v.detach().cpu().contiguous() for k, v in stage.weights().items()}
    write_checkpoint(root, f"step{step:07d}", {
        "weights.safetensors": save_tensors(weights), "train_state.safetensors": blob,
        "train_state.json": json.dumps(tree).encode(),
    }, {"stage": stage.name, "step": step, "last": log[-1] if log else {}})


def run_stage(stage: Stage, out: Path, ctx: Distributed, resume: bool, progress: bool) -> list[dict[str, Any]]:
    """Train a stage to its last step, checkpointing as configured; returns the log rows."""
    root = out / stage.name
    start, log = _restore(stage, root, ctx) if resume else (0, [])
    if not resume and latest_checkpoint(root) is not None:
        raise SkinaugError(f"{root}: already holds checkpoints; use --resume")
    bar = tqdm(range(start, stage.steps), initial=start, total=stage.steps, desc=stage.name, unit="step",
               disable=not (progress and ctx.main))
    for step in bar:
        logs = mean_over_ranks(stage.train_step({}, step), ctx)
        done = step + 1
        if done % stage.val_every == 0 or done == stage.steps:
            logs.update(stage.validate())
        log.append({"step": done, **logs})
        bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k in ("loss", "psnr", "val_psnr", "val_loss")})
        if done % stage.checkpoint_every == 0 or done == stage.steps:
            if ctx.main:
                _save(stage, root, done, log)
                write_csv(out / f"{stage.name}_log.csv", pd.DataFrame(log))
            if ctx.enabled:
                dist.barrier()
    return log


def _average_gradients(modules: list[torch.nn.Module], ctx: Distributed) -> None:
    """Data-parallel gradients for the tokenizer and its discriminator: every gradient is averaged over ranks."""
    if not ctx.enabled:
        return
    for module in modules:
        for parameter in module.parameters():
            if parameter.requires_grad:
                parameter.register_hook(lambda grad: _all_reduce_mean(grad, ctx.world))


def _all_reduce_mean(grad: torch.Tensor, world: int) -> torch.Tensor:
    grad = grad.clone()
    dist.all_reduce(grad)
    return grad / world


def _tokenizer_stage(config: GeneratorConfig, train: ConditionedImages, val: ConditionedImages,
                     options: TrainOptions, ctx: Distributed) -> Stage:
    torch.manual_seed(config.seed)
    model = LesionTokenizer(config.tokenizer)
    trainer = TokenizerTrainer(model, config.tokenizer, config.tokenizer_optim,
                               load_perceptual(options.perceptual_weights), ctx.device)
    broadcast_module(model, ctx)
    broadcast_module(trainer.discriminator, ctx)
    _average_gradients([model, trainer.discriminator], ctx)
    optim = config.tokenizer_optim

    def train_step(_: dict[str, Any], step: int) -> dict[str, float]:
        batch = step_batch(train, optim.batch_size, config.seed, step, ctx.rank, ctx.world)
        logs = trainer.step(batch["image"], batch["mask"], step)
        broadcast_module(model.quantizer, ctx)  # codebook restarts are decided on rank 0
        return logs

    @torch.no_grad()
    def validate() -> dict[str, float]:
        batch = _val_batch(val)
        model.eval()
        recon = model.reconstruct(batch["image"].to(ctx.device))
        return {"val_psnr": psnr(recon, batch["image"].to(ctx.device))}

    return Stage("tokenizer", trainer, optim.steps, optim.batch_size, optim.checkpoint_every, optim.val_every,
                 train_step, validate, model.state_dict)


def _val_batch(val: ConditionedImages) -> dict[str, Any]:
    from .batches import collate

    return collate(val, torch.arange(min(len(val), VAL_IMAGES)).numpy(), 0, 0, flips=False)


def load_tokenizer(out: Path, config: GeneratorConfig) -> LesionTokenizer:
    """The tokenizer of the latest tokenizer checkpoint in OUT (for the transformer stage and sampling)."""
    root = out / "tokenizer"
    if latest_checkpoint(root) is None:
        raise SkinaugError(f"{root}: no trained tokenizer; run `--stage tokenizer` first")
    files, _ = read_checkpoint(root)
    model = LesionTokenizer(config.tokenizer)
    model.load_state_dict(load_tensors(files["weights.safetensors"]))
    return model.eval()


def _transformer_stage(config: GeneratorConfig, out: Path, train: ConditionedImages, val: ConditionedImages,
                       ctx: Distributed) -> Stage:
    tokenizer = load_tokenizer(out, config)
    torch.manual_seed(config.seed + 1)
    model = VARTransformer(config.transformer, config.tokenizer)
    broadcast_module(model, ctx)
    trainer = TransformerTrainer(model, tokenizer, config.transformer_optim, ctx)
    optim = config.transformer_optim

    def train_step(_: dict[str, Any], step: int) -> dict[str, float]:
        return trainer.step(step_batch(train, optim.batch_size, config.seed, step, ctx.rank, ctx.world))

    return Stage("transformer", trainer, optim.steps, optim.batch_size, optim.checkpoint_every, optim.val_every,
                 train_step, lambda: trainer.evaluate(_val_batch(val)), model.state_dict)


def train_generator(workdir: str | os.PathLike[str], out: str | os.PathLike[str], config: GeneratorConfig,
                    options: TrainOptions = TrainOptions()) -> dict[str, Any]:
    """Train (or resume) the requested stages; returns a summary for the one-line report."""
    if options.stage not in (*STAGES, "all"):
        raise SkinaugError(f"stage {options.stage!r}: choose tokenizer, transformer or all")
    workdir, out = Path(workdir), Path(out)
    ctx = setup(options.device)
    start = time.perf_counter()
    space = MeasurementSpace.load(workdir)
    config.transformer.measurement_dim = space.dim
    size = config.tokenizer.image_size
    train = conditioned_split(workdir, "train", size, space)
    val = conditioned_split(workdir, "val", size, space)
    continuing = options.resume or options.stage == "transformer"  # the transformer stage reuses OUT's tokenizer
    if ctx.main:
        _prepare_out(out, workdir, config, space, continuing)
    if ctx.enabled:
        dist.barrier()  # the other processes start once rank 0 has checked and written OUT
    logs: dict[str, list[dict[str, Any]]] = {}
    try:
        if options.stage in ("tokenizer", "all"):
            logs["tokenizer"] = run_stage(_tokenizer_stage(config, train, val, options, ctx), out, ctx,
                                          options.resume, options.progress)
        if options.stage in ("transformer", "all"):
            logs["transformer"] = run_stage(_transformer_stage(config, out, train, val, ctx), out, ctx,
                                            options.resume, options.progress)
    finally:
        teardown(ctx)
    summary = {"out": str(out), "train_images": len(train), "val_images": len(val), "world": ctx.world,
               "device": str(ctx.device), "seconds": time.perf_counter() - start,
               "last": {name: rows[-1] if rows else {} for name, rows in logs.items()}}
    if ctx.main:
        write_text(out / "model_card.md", model_card(out, config, summary, options))
    return summary


def _perceptual_card_text(weights: str | None) -> str:
    """The model card's words for --perceptual-weights."""
    if not weights:
        return "off (no local weights file)"
    if wants_pretrained(weights):
        return "torchvision VGG16_Weights.IMAGENET1K_V1 (off if they could not be had: see the training log)"
    return "local weights " + Path(weights).name


def model_card(out: Path, config: GeneratorConfig, summary: dict[str, Any], options: TrainOptions) -> str:
    """A short Markdown description of the trained generator: data, split, steps, losses, switches."""
    info = json.loads((out / "config.json").read_text(encoding="utf-8"))
    lines = [f"# LF-VAR generator `{config.name}`", "",
             f"- Data: `{info['workdir']}` ({info.get('dataset')}); trained on the train split only "
             f"({summary['train_images']} images with a mask and measurements), validated on "
             f"{min(summary['val_images'], VAL_IMAGES)} val images.",
             f"- Image size {config.tokenizer.image_size} px; scales {list(config.tokenizer.scales)}; "
             f"vocabulary {config.tokenizer.vocab_size}; transformer depth {config.transformer.depth}, "
             f"width {config.transformer.width}.",
             f"- Lesion focus weight {config.tokenizer.lesion_focus} "
             f"({'off: --no-lesion-focus' if config.tokenizer.lesion_focus == 0 else 'on'}); "
             f"measurements: {config.transformer.measurements} ({config.transformer.measurement_dim} features); "
             f"CFG drop rates: class {config.transformer.class_drop}, measurements "
             f"{config.transformer.measurement_drop}.",
             f"- Perceptual loss: {_perceptual_card_text(options.perceptual_weights)}.",
             f"- Steps: tokenizer {config.tokenizer_optim.steps}, transformer {config.transformer_optim.steps}; "
             f"batch {config.tokenizer_optim.batch_size}/{config.transformer_optim.batch_size}; "
             f"{summary['world']} process(es) on {summary['device']}.", "", "## Last logged values", ""]
    for name, row in summary["last"].items():
        values = ", ".join(f"{k} {v:.4g}" for k, v in row.items() if isinstance(v, float) and "scale" not in k)
        lines.append(f"- {name}: step {row.get('step')}: {values}")
    return "\n".join(lines) + "\n"
