"""`skinaug train-generator`: train the tokenizer, then the transformer; checkpoint, resume, log, validate.

OUT/ holds config.json, scaler.json and class_means.json (from the work directory's train-split fit),
OUT/tokenizer/ and OUT/transformer/ (checkpoint folders, see checkpoint.py), <stage>_log.csv (a row every
log_every steps, appended at each checkpoint, see train_log.py; TensorBoard events in OUT/tensorboard/ when
installed) and model_card.md.
A run continued with `--resume` reproduces the uninterrupted run: batches depend only on the step number
(batches.py) and the checkpoint carries optimizer, schedule and RNG state (and the last logged row only).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
from safetensors.torch import save as save_tensors
from tqdm.auto import tqdm

from ..atomic import read_json, write_text
from ..errors import SkinaugError
from ..fingerprints import workdir_fingerprints
from ..labels import CLASSES
from ..licences import data_licence
from ..manifest import Prepared, load_prepared
from ..pretrained import wants_pretrained
from .batches import step_batch
from .checkpoint import latest_checkpoint, read_checkpoint, write_checkpoint
from .config import GeneratorConfig
from .folder import (
    CLASS_MEANS_NAME,
    CONFIG_NAME,
    SCALER_NAME,
    STAGES,
    load_tokenizer,
    read_generator_info,
    write_generator_folder,
)
from .data import ConditionedImages, MeasurementSpace, conditioned_split
from .distributed import Distributed, broadcast_module, mean_over_ranks, setup, teardown
from .state_io import pack_state, unpack_state
from .tokenizer import LesionTokenizer, TokenizerTrainer, load_perceptual
from .tokenizer.train_step import psnr
from .train_log import TrainingLog
from .transformer_trainer import TransformerTrainer
from .var import VARTransformer

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

    def __init__(
        self,
        name: str,
        trainer: Any,
        steps: int,
        batch_size: int,
        checkpoint_every: int,
        val_every: int,
        train_step: Callable[[dict[str, Any], int], dict[str, float]],
        validate: Callable[[], dict[str, float]],
        weights: Callable[[], dict[str, torch.Tensor]],
        log_every: int = 1,
    ) -> None:
        self.name, self.trainer, self.steps, self.batch_size = name, trainer, steps, batch_size
        self.checkpoint_every, self.val_every, self.log_every = checkpoint_every, val_every, log_every
        self.train_step, self.validate, self.weights = train_step, validate, weights


def _prepare_out(
    out: Path, workdir: Path, config: GeneratorConfig, space: MeasurementSpace, resume: bool, train: ConditionedImages
) -> None:
    """Write config, scaler and class means to a new OUT; check them against an existing one."""
    config_path = out / CONFIG_NAME
    if config_path.exists():
        if not resume:
            raise SkinaugError(f"{out}: already holds a generator; use --resume to continue it or another --out")
        _, saved = read_generator_info(out)
        if saved != config:
            raise SkinaugError(f"{config_path}: the run was started with another config; --resume needs the same")
        for name in (SCALER_NAME, CLASS_MEANS_NAME):
            if not (out / name).exists():
                raise SkinaugError(f"{out / name}: missing; {out} is not a complete generator folder")
        return
    if any(latest_checkpoint(out / stage) is not None for stage in STAGES):
        raise SkinaugError(f"{config_path}: missing; {out} holds checkpoints but no config.json to check them against")
    prepared = load_prepared(workdir)
    write_generator_folder(
        out,
        workdir,
        config,
        space.scaler,
        prepared.info.get("format"),
        {"made_from": workdir_fingerprints(prepared), "data": training_data_summary(prepared, train)},
    )


def training_data_summary(prepared: Prepared, train: ConditionedImages) -> dict[str, Any]:
    """Data set, licence and images per class the generator learned from (for config.json and model cards)."""
    counts = train.base.frame["label"].value_counts()
    return {
        "format": prepared.info.get("format"),
        "license": data_licence(prepared.info),
        "split": prepared.info.get("split"),
        "train_images": int(len(train)),
        "train_images_per_class": {c: int(counts.get(c, 0)) for c in CLASSES},
    }


def _restore(stage: Stage, root: Path, ctx: Distributed) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    """(first step, last row, rows logged since the previous checkpoint) from a stage's latest checkpoint."""
    if latest_checkpoint(root) is None:
        return 0, {}, []
    files, manifest = read_checkpoint(root)
    tree = json.loads(files["train_state.json"])
    state = unpack_state(files["train_state.safetensors"], tree, str(root / manifest["tag"]))
    stage.trainer.load_state_dict(state["trainer"])
    torch.set_rng_state(state["torch_rng"])
    meta = manifest["meta"]
    return int(meta["step"]), dict(meta.get("last") or {}), list(meta.get("log_rows") or [])


def _save(stage: Stage, root: Path, step: int, last: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """A checkpoint of weights and training state, and the log rows since the previous one (bounded size)."""
    blob, tree = pack_state({"trainer": stage.trainer.state_dict(), "torch_rng": torch.get_rng_state()})
    weights = {k: v.detach().cpu().contiguous() for k, v in stage.weights().items()}
    write_checkpoint(
        root,
        f"step{step:07d}",
        {
            "weights.safetensors": save_tensors(weights),
            "train_state.safetensors": blob,
            "train_state.json": json.dumps(tree).encode(),
        },
        {"stage": stage.name, "step": step, "last": last, "log_rows": rows},
    )


def run_stage(stage: Stage, out: Path, ctx: Distributed, resume: bool, progress: bool) -> dict[str, Any]:
    """Train a stage to its last step, checkpointing and logging as configured; returns the last row."""
    root = out / stage.name
    start, last, rows = _restore(stage, root, ctx) if resume else (0, {}, [])
    if not resume and latest_checkpoint(root) is not None:
        raise SkinaugError(f"{root}: already holds checkpoints; use --resume")
    log = TrainingLog(out, stage.name, stage.log_every, start if resume else None, ctx.main)
    log.catch_up(rows)
    bar = tqdm(
        range(start, stage.steps),
        initial=start,
        total=stage.steps,
        desc=stage.name,
        unit="step",
        disable=not (progress and ctx.main),
    )
    try:
        for step in bar:
            logs = mean_over_ranks(stage.train_step({}, step), ctx)
            done = step + 1
            validated = done % stage.val_every == 0 or done == stage.steps
            if validated:
                logs.update(stage.validate())
            last = {"step": done, **logs}
            if validated or log.due(done, stage.steps):
                log.write(last)
            bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k in ("loss", "psnr", "val_psnr", "val_loss")})
            if done % stage.checkpoint_every == 0 or done == stage.steps:
                if ctx.main:
                    _save(stage, root, done, last, log.pending)
                    log.flush()
                if ctx.enabled:
                    dist.barrier()
    finally:
        log.close()
    return last


def _tokenizer_stage(
    config: GeneratorConfig, train: ConditionedImages, val: ConditionedImages, options: TrainOptions, ctx: Distributed
) -> Stage:
    torch.manual_seed(config.seed)
    model = LesionTokenizer(config.tokenizer)
    trainer = TokenizerTrainer(  # DDP-wrapped in several processes (tokenizer/train_step.py)
        model,
        config.tokenizer,
        config.tokenizer_optim,
        load_perceptual(options.perceptual_weights),
        ctx.device,
        distributed=ctx,
    )
    optim = config.tokenizer_optim

    def train_step(_: dict[str, Any], step: int) -> dict[str, float]:
        batch = step_batch(train, optim.batch_size, config.seed, step, ctx.rank, ctx.world)
        return trainer.step(batch["image"], batch["mask"], step)

    @torch.no_grad()
    def validate() -> dict[str, float]:
        batch = _val_batch(val)
        model.eval()
        recon = model.reconstruct(batch["image"].to(ctx.device))
        return {"val_psnr": psnr(recon, batch["image"].to(ctx.device))}

    return Stage(
        "tokenizer",
        trainer,
        optim.steps,
        optim.batch_size,
        optim.checkpoint_every,
        optim.val_every,
        train_step,
        validate,
        model.state_dict,
        optim.log_every,
    )


def _val_batch(val: ConditionedImages) -> dict[str, Any]:
    from .batches import collate

    return collate(val, torch.arange(min(len(val), VAL_IMAGES)).numpy(), 0, 0, flips=False)


def _transformer_stage(
    config: GeneratorConfig, out: Path, train: ConditionedImages, val: ConditionedImages, ctx: Distributed
) -> Stage:
    tokenizer = load_tokenizer(out, config)
    torch.manual_seed(config.seed + 1)
    model = VARTransformer(config.transformer, config.tokenizer)
    broadcast_module(model, ctx)
    trainer = TransformerTrainer(model, tokenizer, config.transformer_optim, ctx)
    optim = config.transformer_optim

    def train_step(_: dict[str, Any], step: int) -> dict[str, float]:
        return trainer.step(step_batch(train, optim.batch_size, config.seed, step, ctx.rank, ctx.world))

    return Stage(
        "transformer",
        trainer,
        optim.steps,
        optim.batch_size,
        optim.checkpoint_every,
        optim.val_every,
        train_step,
        lambda: trainer.evaluate(_val_batch(val)),
        model.state_dict,
        optim.log_every,
    )


@dataclass
class TrainResult:
    """What one `train-generator` call did: images, processes, device, time and each stage's last log row."""

    out: Path
    config_name: str
    train_images: int
    val_images: int
    world: int
    device: str
    seconds: float
    last: dict[str, dict[str, Any]]

    def summary_line(self) -> str:
        """'trained tiny on 120 images (tokenizer step 6 loss 0.1234; ...) -> OUT'."""
        parts = [
            f"{name} step {row.get('step')} loss {row.get('loss', float('nan')):.4f}" for name, row in self.last.items()
        ]
        return f"trained {self.config_name} on {self.train_images} images ({'; '.join(parts)}) -> {self.out}"


def train_generator(
    workdir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: GeneratorConfig,
    options: TrainOptions = TrainOptions(),
) -> TrainResult:
    """Train (or resume) the requested stages; returns what was done, with the one-line summary."""
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
        _prepare_out(out, workdir, config, space, continuing, train)
    if ctx.enabled:
        dist.barrier()  # the other processes start once rank 0 has checked and written OUT
    last: dict[str, dict[str, Any]] = {}
    try:
        if options.stage in ("tokenizer", "all"):
            last["tokenizer"] = run_stage(
                _tokenizer_stage(config, train, val, options, ctx), out, ctx, options.resume, options.progress
            )
        if options.stage in ("transformer", "all"):
            last["transformer"] = run_stage(
                _transformer_stage(config, out, train, val, ctx), out, ctx, options.resume, options.progress
            )
    finally:
        teardown(ctx)
    summary = TrainResult(
        out=out,
        config_name=config.name,
        train_images=len(train),
        val_images=len(val),
        world=ctx.world,
        device=str(ctx.device),
        seconds=time.perf_counter() - start,
        last=last,
    )
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


def model_card(out: Path, config: GeneratorConfig, summary: TrainResult, options: TrainOptions) -> str:
    """A short Markdown description of the trained generator: data, split, steps, losses, switches."""
    info = read_json(out / CONFIG_NAME)
    lines = [
        f"# LF-VAR generator `{config.name}`",
        "",
        f"- Data: `{info['workdir']}` ({info.get('dataset')}); trained on the train split only "
        f"({summary.train_images} images with a mask and measurements), validated on "
        f"{min(summary.val_images, VAL_IMAGES)} val images.",
        f"- Image size {config.tokenizer.image_size} px; scales {list(config.tokenizer.scales)}; "
        f"vocabulary {config.tokenizer.vocab_size}; transformer depth {config.transformer.depth}, "
        f"width {config.transformer.width}.",
        f"- Lesion focus weight {config.tokenizer.lesion_focus} "
        f"({'off: --no-lesion-focus' if config.tokenizer.lesion_focus == 0 else 'on'}); "
        f"measurements: {config.transformer.measurements} ({config.transformer.measurement_dim} features); "
        f"CFG drop rates: both (unconditional) {config.transformer.joint_drop}, class only "
        f"{config.transformer.class_drop}, measurements only {config.transformer.measurement_drop}.",
        f"- Perceptual loss: {_perceptual_card_text(options.perceptual_weights)}.",
        f"- Steps: tokenizer {config.tokenizer_optim.steps}, transformer {config.transformer_optim.steps}; "
        f"batch {config.tokenizer_optim.batch_size}/{config.transformer_optim.batch_size}; "
        f"{summary.world} process(es) on {summary.device}.",
        "",
        "## Last logged values",
        "",
    ]
    for name, row in summary.last.items():
        values = ", ".join(f"{k} {v:.4g}" for k, v in row.items() if isinstance(v, float) and "scale" not in k)
        lines.append(f"- {name}: step {row.get('step')}: {values}")
    return "\n".join(lines) + "\n"
