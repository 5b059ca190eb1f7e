"""`skinaug train-generator`: train the tokenizer, then the transformer; checkpoint, resume, log, validate.

OUT/ holds config.json, scaler.json and class_means.json (from the work directory's train-split fit),
OUT/tokenizer/ and OUT/transformer/ (checkpoint folders, see checkpoint.py), <stage>_log.csv (a row every
log_every steps, appended at each checkpoint, see train_log.py; TensorBoard events in OUT/tensorboard/ when
installed) and model_card.md.
A run continued with `--resume` reproduces the uninterrupted run: batches depend only on the step number
(batches.py) and the checkpoint carries optimizer, schedule and RNG state (CPU and CUDA, rng_state.py; and
the last logged row only).

Throughput: images are decoded once into OUT/cache/decoded/ (a memmap, data/cache.py) and batches are
assembled ahead by DataLoader workers (`workers`; pinned memory); the transformer stage reads its tokens from
OUT/cache/tokens-*.safetensors (token_cache.py) instead of encoding each batch; logged values are read from
the device (a host synchronisation) only on the steps that are logged, validated or checkpointed.
OUT/cache/ is rebuilt when missing and may be deleted once training is done.

`time_budget` (minutes): each stage stops after the step that spends its share (the tokenizer: the budget
times its share of the configured steps; the transformer: whatever is left of the whole budget, at least one
step), checkpoints there and logs that step, so OUT is a usable generator and `--resume` continues it. A
transformer checkpoint remembers its tokenizer's digest; resuming on a tokenizer trained further since
(a budget-stopped tokenizer continued) moves the old transformer aside (transformer.superseded-<step>/)
and trains it anew on the new tokens.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import torch.distributed as dist
from safetensors.torch import save as save_tensors
from tqdm.auto import tqdm

from ..atomic import read_json, write_text
from ..data import DecodedImageCache
from ..errors import SkinaugError
from ..fingerprints import workdir_fingerprints
from ..labels import CLASSES
from ..licences import data_licence
from ..manifest import Prepared, load_prepared
from ..pretrained import wants_pretrained
from .batches import class_draw_weights, collate, default_workers, step_batch, step_loader
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
from .data import ConditionedImages, MeasurementSpace, conditioned_split, with_decoded_cache
from .distributed import Distributed, broadcast_module, mean_over_ranks, setup, teardown
from .rng_state import capture_rng, restore_rng
from .state_io import pack_state, unpack_state
from .token_cache import CACHE_FOLDER, module_digest, token_first_batch, token_step_batch, token_table
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
    workers: int | None = None  # DataLoader processes assembling batches; None: batches.default_workers
    decoded_cache: bool = True  # images decoded once into OUT/cache/decoded/ (False: from the files each time)
    token_cache: bool = True  # transformer tokens encoded once into OUT/cache/ (False: every batch)
    sync_every_log: bool = True  # read logged values from the device only on logged steps (False: every step)
    compile: bool = False  # torch.compile the tokenizer and the transformer (for GPUs)
    time_budget: float | None = None  # minutes of wall clock for the whole call (see the module docstring)


Batches = Callable[[int, int], Iterator[tuple[int, dict[str, Any]]]]


def to_floats(values: dict[str, Any]) -> dict[str, float]:
    """Logged values as Python floats (reading tensors waits for the device: call on logged steps only)."""
    return {k: float(v) for k, v in values.items()}


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
        batches: Batches | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.name, self.trainer, self.steps, self.batch_size = name, trainer, steps, batch_size
        self.checkpoint_every, self.val_every, self.log_every = checkpoint_every, val_every, log_every
        self.train_step, self.validate, self.weights = train_step, validate, weights
        self.batches: Batches = batches or (lambda start, end: ((step, {}) for step in range(start, end)))
        self.meta = meta or {}  # saved in every checkpoint; a resume whose values differ starts the stage anew
        self.deadline: float | None = None  # time.monotonic() after which the stage stops (time budget)
        self.sync_every_log = True
        self.stopped_at: int | None = None  # the step a time budget stopped the stage at
        self.device = torch.device("cpu")


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
    restore_rng(state, ctx.device)
    meta = manifest["meta"]
    return int(meta["step"]), dict(meta.get("last") or {}), list(meta.get("log_rows") or [])


def _save(stage: Stage, root: Path, step: int, last: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """A checkpoint of weights and training state, and the log rows since the previous one (bounded size)."""
    blob, tree = pack_state({"trainer": stage.trainer.state_dict(), **capture_rng(stage.device)})
    weights = {k: v.detach().cpu().contiguous() for k, v in stage.weights().items()}
    write_checkpoint(
        root,
        f"step{step:07d}",
        {
            "weights.safetensors": save_tensors(weights),
            "train_state.safetensors": blob,
            "train_state.json": json.dumps(tree).encode(),
        },
        {"stage": stage.name, "step": step, "last": last, "log_rows": rows, **stage.meta},
    )


def _superseded(stage: Stage, root: Path) -> bool:
    """Move a stage's checkpoints aside when they were made with other stage.meta values (another tokenizer).

    A value the checkpoint does not hold (it was made by an earlier skinaug) does not count as a difference:
    moving hours of training aside on an upgrade alone would lose them for nothing measurable."""
    if not stage.meta or latest_checkpoint(root) is None:
        return False
    _, manifest = read_checkpoint(root)
    recorded = manifest["meta"]
    unrecorded = sorted(k for k in stage.meta if k not in recorded)
    if all(recorded[k] == v for k, v in stage.meta.items() if k in recorded):
        if unrecorded:  # made by a skinaug that did not record them: nothing says it differs, so it is kept
            print(
                f"{root}: made before skinaug recorded {', '.join(unrecorded)}; resumed as it is (delete the "
                "folder to train it anew)",
                file=sys.stderr,
            )
        return False
    aside = root.with_name(f"{root.name}.superseded-{int(manifest['meta']['step'])}")
    shutil.rmtree(aside, ignore_errors=True)
    os.replace(root, aside)
    print(
        f"{root}: trained on an earlier tokenizer; moved to {aside.name}, training the {stage.name} anew",
        file=sys.stderr,
    )
    return True


def _out_of_time(stage: Stage, ctx: Distributed, done: int, logged: bool) -> bool:
    """Whether the stage's time budget is spent after step `done` (several processes: decided by rank 0 on
    logged steps, so that every process stops at the same step)."""
    if stage.deadline is None:
        return False
    if not ctx.enabled:
        return time.monotonic() >= stage.deadline
    if not logged:
        return False
    flag = torch.tensor([float(time.monotonic() >= stage.deadline)], device=ctx.device)
    dist.broadcast(flag, src=0)
    return bool(flag.item())


def run_stage(stage: Stage, out: Path, ctx: Distributed, resume: bool, progress: bool) -> dict[str, Any]:
    """Train a stage to its last step, checkpointing and logging as configured; returns the last row."""
    root = out / stage.name
    if resume and ctx.main and _superseded(stage, root):
        resume = False
    if ctx.enabled:
        flag = torch.tensor([float(resume)], device=ctx.device)
        dist.broadcast(flag, src=0)  # every process learns whether rank 0 moved the checkpoints aside
        resume = bool(flag.item())
    start, last, rows = _restore(stage, root, ctx) if resume else (0, {}, [])
    if not resume and latest_checkpoint(root) is not None:
        raise SkinaugError(f"{root}: already holds checkpoints; use --resume")
    log = TrainingLog(out, stage.name, stage.log_every, start if resume else None, ctx.main)
    log.catch_up(rows)
    bar = tqdm(initial=start, total=stage.steps, desc=stage.name, unit="step", disable=not (progress and ctx.main))
    batches = stage.batches(start, stage.steps)
    try:
        for step, batch in batches:
            raw = stage.train_step(batch, step)
            done = step + 1
            bar.update()
            logged = log.due(done, stage.steps)
            stop = _out_of_time(stage, ctx, done, logged)
            final = done == stage.steps or stop
            validated = done % stage.val_every == 0 or final
            checkpoint = done % stage.checkpoint_every == 0 or final
            if validated or logged or checkpoint or not stage.sync_every_log:
                logs = mean_over_ranks(to_floats(raw), ctx)
                if validated:
                    logs.update(stage.validate())
                last = {"step": done, **logs}
                if validated or logged or stop:
                    log.write(last)
                bar.set_postfix(
                    {k: f"{v:.4g}" for k, v in logs.items() if k in ("loss", "psnr", "val_psnr", "val_loss")}
                )
            if checkpoint:
                if ctx.main:
                    _save(stage, root, done, last, log.pending)
                    log.flush()
                if ctx.enabled:
                    dist.barrier()
            if stop:
                stage.stopped_at = done
                break
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # ends DataLoader workers now, also after an interruption
        bar.close()
        log.close()
    return last


def _loader(make: Callable[[int], dict[str, Any]], options: TrainOptions, ctx: Distributed) -> Batches:
    """The stage's batches: made by options.workers DataLoader processes (pinned on CUDA), in step order."""
    workers = default_workers(ctx.device) if options.workers is None else options.workers
    return lambda start, end: step_loader(make, start, end, workers, pin_memory=ctx.device.type == "cuda")


def _tokenizer_stage(
    config: GeneratorConfig, train: ConditionedImages, val: ConditionedImages, options: TrainOptions, ctx: Distributed
) -> Stage:
    torch.manual_seed(config.seed)
    model = LesionTokenizer(config.tokenizer)
    if options.compile:
        model.compile()  # in place: the state dict keeps its names
    trainer = TokenizerTrainer(  # DDP-wrapped in several processes (tokenizer/train_step.py)
        model,
        config.tokenizer,
        config.tokenizer_optim,
        load_perceptual(options.perceptual_weights),
        ctx.device,
        distributed=ctx,
    )
    if ctx.main and options.progress and config.tokenizer.perceptual_weight > 0:
        print(f"tokenizer: {trainer.perceptual_status}", file=sys.stderr)  # on, and from what; or off
    optim = config.tokenizer_optim
    weights = class_draw_weights(train.base.labels, optim.class_balance)

    def train_step(batch: dict[str, Any], step: int) -> dict[str, Any]:
        return trainer.step(batch["image"], batch["mask"], step)  # restarts agree on all ranks (quantizer.py)

    val_batch = _val_batch(val)

    @torch.no_grad()
    def validate() -> dict[str, float]:
        batch = val_batch
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
        _loader(
            lambda step: step_batch(train, optim.batch_size, config.seed, step, ctx.rank, ctx.world, weights=weights),
            options,
            ctx,
        ),
    )


def _val_batch(val: ConditionedImages) -> dict[str, Any]:
    return collate(val, torch.arange(min(len(val), VAL_IMAGES)).numpy(), 0, 0, flips=False)


def _token_tables(
    out: Path, tokenizer: LesionTokenizer, train: ConditionedImages, val: ConditionedImages, ctx: Distributed
) -> tuple[Any, Any]:
    """(train, val) token tables of OUT/cache/ (built by rank 0, read by the others)."""
    from .batches import FLIP_VARIANTS

    folder = out / CACHE_FOLDER
    tokenizer = tokenizer.to(ctx.device)
    tables: tuple[Any, Any] = (None, None)
    for turn in ("build", "read"):
        if (turn == "build") == ctx.main:
            tables = (
                token_table(folder / "tokens-train", tokenizer, train, FLIP_VARIANTS, build=ctx.main),
                token_table(folder / "tokens-val", tokenizer, val, (0,), VAL_IMAGES, build=ctx.main),
            )
        if ctx.enabled and turn == "build":
            dist.barrier()
    return tables


def _transformer_stage(
    config: GeneratorConfig,
    out: Path,
    train: ConditionedImages,
    val: ConditionedImages,
    options: TrainOptions,
    ctx: Distributed,
) -> Stage:
    tokenizer = load_tokenizer(out, config)
    torch.manual_seed(config.seed + 1)
    model = VARTransformer(config.transformer, config.tokenizer)
    broadcast_module(model, ctx)
    if options.compile:
        model.compile()  # in place: the state dict keeps its names
    trainer = TransformerTrainer(model, tokenizer, config.transformer_optim, ctx)
    optim = config.transformer_optim
    weights = class_draw_weights(train.base.labels, optim.class_balance)
    digest = module_digest(tokenizer)
    if options.token_cache:
        tables: dict[str, Any] = {}

        def tokens() -> dict[str, Any]:
            """The token tables, made at the first step: a finished stage that is resumed encodes nothing."""
            if not tables:
                tables["train"], val_tokens = _token_tables(out, trainer.tokenizer, train, val, ctx)
                tables["val_batch"] = token_first_batch(val_tokens, val, VAL_IMAGES)
            return tables

        batches: Batches = lambda start, end: (  # noqa: E731  # table look-ups: no worker needed
            (
                step,
                token_step_batch(
                    tokens()["train"], train, optim.batch_size, config.seed, step, ctx.rank, ctx.world, weights
                ),
            )
            for step in range(start, end)
        )
        validate: Callable[[], dict[str, float]] = lambda: trainer.evaluate(tokens()["val_batch"])  # noqa: E731
    else:
        val_batch = _val_batch(val)
        batches = _loader(
            lambda step: step_batch(train, optim.batch_size, config.seed, step, ctx.rank, ctx.world, weights=weights),
            options,
            ctx,
        )
        validate = lambda: trainer.evaluate(val_batch)  # noqa: E731

    def train_step(batch: dict[str, Any], step: int) -> dict[str, Any]:
        return trainer.step(batch)

    return Stage(
        "transformer",
        trainer,
        optim.steps,
        optim.batch_size,
        optim.checkpoint_every,
        optim.val_every,
        train_step,
        validate,
        model.state_dict,
        optim.log_every,
        batches,
        {"tokenizer_sha256": digest},
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
    stopped: dict[str, int] = field(default_factory=dict)  # stage -> step where the time budget stopped it

    def summary_line(self) -> str:
        """'trained tiny on 120 images (tokenizer step 6 loss 0.1234; ...) -> OUT'."""
        parts = [
            f"{name} step {row.get('step')}{' (time budget spent)' if name in self.stopped else ''} "
            f"loss {row.get('loss', float('nan')):.4f}"
            for name, row in self.last.items()
        ]
        return f"trained {self.config_name} on {self.train_images} images ({'; '.join(parts)}) -> {self.out}"


def stage_deadlines(
    config: GeneratorConfig, stage: str, minutes: float | None, start: float
) -> dict[str, float | None]:
    """time.monotonic() deadlines per stage: the tokenizer gets the budget's share of its configured steps
    (all of it when trained alone), the transformer the whole budget's end (what the tokenizer left)."""
    if minutes is None:
        return {"tokenizer": None, "transformer": None}
    seconds = 60.0 * minutes
    steps = config.tokenizer_optim.steps, config.transformer_optim.steps
    share = steps[0] / sum(steps) if stage == "all" else 1.0
    return {"tokenizer": start + seconds * share, "transformer": start + seconds}


def train_generator(
    workdir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: GeneratorConfig,
    options: TrainOptions = TrainOptions(),
) -> TrainResult:
    """Train (or resume) the requested stages; returns what was done, with the one-line summary."""
    if options.stage not in (*STAGES, "all"):
        raise SkinaugError(f"stage {options.stage!r}: choose tokenizer, transformer or all")
    if options.time_budget is not None and options.time_budget <= 0:
        raise SkinaugError(f"--time-budget {options.time_budget}: must be a positive number of minutes")
    workdir, out = Path(workdir), Path(out)
    deadlines = stage_deadlines(config, options.stage, options.time_budget, time.monotonic())
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
    if options.decoded_cache:
        train, val = _decoded(out, train, val, options, ctx)
    last: dict[str, dict[str, Any]] = {}
    stopped: dict[str, int] = {}
    try:
        for name in STAGES:
            if options.stage not in (name, "all"):
                continue
            if name == "tokenizer":
                stage = _tokenizer_stage(config, train, val, options, ctx)
            else:
                stage = _transformer_stage(config, out, train, val, options, ctx)
            stage.deadline, stage.sync_every_log, stage.device = deadlines[name], options.sync_every_log, ctx.device
            last[name] = run_stage(stage, out, ctx, options.resume, options.progress)
            if stage.stopped_at is not None:
                stopped[name] = stage.stopped_at
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
        stopped=stopped,
    )
    if ctx.main:
        write_text(out / "model_card.md", model_card(out, config, summary, options))
    return summary


def _decoded(
    out: Path, train: ConditionedImages, val: ConditionedImages, options: TrainOptions, ctx: Distributed
) -> tuple[ConditionedImages, ConditionedImages]:
    """Both splits read from OUT/cache/decoded/ (rank 0 decodes; the others wait, then map the files)."""
    cache = DecodedImageCache(out / CACHE_FOLDER / "decoded", progress=options.progress and ctx.main)
    if ctx.enabled and not ctx.main:
        dist.barrier()
    cached = with_decoded_cache(train, cache), with_decoded_cache(val, cache)
    if ctx.enabled and ctx.main:
        dist.barrier()
    return cached


def _perceptual_card_text(weights: str | None) -> str:
    """The model card's words for --perceptual-weights."""
    if not weights:
        return "off (no local weights file)"
    if wants_pretrained(weights):
        return "torchvision VGG16_Weights.IMAGENET1K_V1 (off if they could not be had: see the training log)"
    if Path(weights).is_dir():
        return f"features of the classifier in {weights} (trained on the real train split)"
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
        f"{summary.world} process(es) on {summary.device}; class-balanced draws (0 plain epochs, 1 every class "
        f"equally often): tokenizer {config.tokenizer_optim.class_balance}, "
        f"transformer {config.transformer_optim.class_balance}.",
        *[
            f"- Stopped by the time budget (--time-budget {options.time_budget} min) at {name} step {step}; "
            "`--resume` continues it."
            for name, step in summary.stopped.items()
        ],
        "",
        "## Last logged values",
        "",
    ]
    for name, row in summary.last.items():
        values = ", ".join(f"{k} {v:.4g}" for k, v in row.items() if isinstance(v, float) and "scale" not in k)
        lines.append(f"- {name}: step {row.get('step')}: {values}")
    return "\n".join(lines) + "\n"
