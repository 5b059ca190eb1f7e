"""The `skinaug` command line. Progress goes to stderr, the one-line summary of each command to stdout."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .errors import SkinaugError, describe_os_error
from .readers import READERS
from .schedules import EPOCH_SELECTIONS


def _friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SkinaugError and OSError (disk full, unreadable file) into one line on stderr and exit status 1
    (2 for a bug, 130 for Ctrl-C)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SkinaugError as exc:
            _close_progress_bars()
            click.echo(f"skinaug: error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            _close_progress_bars()
            click.echo("skinaug: interrupted; finished work is kept, run the command again to resume", err=True)
            sys.exit(130)
        except OSError as exc:
            if os.environ.get("SKINAUG_DEBUG"):
                raise
            _close_progress_bars()
            click.echo(f"skinaug: error: {describe_os_error(exc)}", err=True)
            sys.exit(1)
        except Exception as exc:
            if os.environ.get("SKINAUG_DEBUG"):
                raise
            _close_progress_bars()
            click.echo(
                f"skinaug: internal error: {type(exc).__name__}: {exc} "
                "(set SKINAUG_DEBUG=1 for the traceback and please report it)",
                err=True,
            )
            sys.exit(2)

    return wrapper


def _notices(notices: list[str]) -> None:
    """What a command returned for the user to know, one `skinaug: notice:` line each on stderr."""
    for notice in notices:
        click.echo(f"skinaug: notice: {notice}", err=True)


def _close_progress_bars() -> None:
    """End the progress bars an error left open, so that the error starts its own line and is the last one."""
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="skinaug")
def main() -> None:
    """skinaug: synthetic dermoscopy (LF-VAR) and an honest test of whether it helps classifiers."""


@main.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--n",
    "count",
    default=700,
    show_default=True,
    type=click.IntRange(min=7),
    help="Number of images (7 classes with HAM10000's imbalance).",
)
@click.option("--seed", default=0, show_default=True, help="Seed: the same seed gives the same files.")
@click.option("--size", default="200x150", show_default=True, help="Image size WIDTHxHEIGHT.")
@_friendly_errors
def phantom(out: Path, count: int, seed: int, size: str) -> None:
    """Make a phantom dermoscopy data set in the HAM10000 layout in OUT (read it with --format ham10000)."""
    from .phantoms import PhantomConfig, make_phantoms

    width, height = _parse_size(size)
    table = make_phantoms(out, PhantomConfig(n=count, seed=seed, width=width, height=height))
    counts = table["dx"].value_counts()
    per_class = " ".join(f"{c}={int(counts.get(c, 0))}" for c in sorted(counts.index))
    click.echo(f"phantom: {len(table)} images, {table['lesion_id'].nunique()} lesions ({per_class}) -> {out}")


def _parse_size(size: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise SkinaugError(f"--size {size!r}: expected WIDTHxHEIGHT, e.g. 200x150") from None
    if min(width, height) < 32:
        raise SkinaugError(f"--size {size!r}: each side must be at least 32 px")
    return width, height


@main.command()
@click.option("--format", "fmt", required=True, type=click.Choice(sorted(READERS)), help="Layout of ROOT.")
@click.argument("root", type=click.Path(path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Work directory to write manifest.csv, dataset.json and problems.csv to.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the lesion-grouped split.")
@click.option("--split", "fractions", default="0.7,0.1,0.2", show_default=True, help="Train,val,test fractions.")
@click.option(
    "--train-keep",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0, min_open=True),
    help="Keep this share of each class's train lesions (a data-scarce experiment); val and test are unchanged.",
)
@_friendly_errors
def prepare(fmt: str, root: Path, out: Path, seed: int, fractions: str, train_keep: float) -> None:
    """Read a data set, check every image and mask, split by lesion, and write the manifest."""
    from .prepare import prepare_dataset
    from .splits import SplitConfig

    try:
        train, val, test = (float(v) for v in fractions.split(","))
    except ValueError:
        raise SkinaugError(f"--split {fractions!r}: expected three numbers, e.g. 0.7,0.1,0.2") from None
    result = prepare_dataset(fmt, root, out, SplitConfig(train, val, test, seed, train_keep))
    _notices(result.notices)
    for problem in result.problems.head(20).itertuples(index=False):
        click.echo(f"skinaug: {problem.action}: {problem.problem}", err=True)
    if len(result.problems) > 20:
        click.echo(f"skinaug: ... {len(result.problems) - 20} more in {out / 'problems.csv'}", err=True)
    click.echo(result.summary())


@main.command()
@click.argument("workdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Processes for feature extraction [default: all cores]."
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Measurement cache (shareable between work directories) [default: WORKDIR/measurements/cache].",
)
@_friendly_errors
def measure(workdir: Path, workers: int | None, cache_dir: Path | None) -> None:
    """Measure every lesion of a prepared WORKDIR (pyradiomics + colour), fit the scaler on train."""
    from .measurements import measure_workdir

    result = measure_workdir(workdir, workers=workers, cache_dir=cache_dir)
    failures = result.failures
    for row in failures.head(20).itertuples(index=False):
        click.echo(f"skinaug: not measured: {row.reason}", err=True)
    if len(failures) > 20:
        click.echo(f"skinaug: ... {len(failures) - 20} more in {result.out_dir / 'features.csv'}", err=True)
    click.echo(result.summary())


@main.command()
@click.option(
    "--out",
    default=Path("demo-output"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for everything the demo makes.",
)
@click.option(
    "--data",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="A real data set to run on instead of the embedded phantoms.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(READERS)),
    default="ham10000",
    show_default=True,
    help="Layout of --data.",
)
@click.option(
    "--n",
    "count",
    default=None,
    type=click.IntRange(min=70),
    help="Phantom images to make (without --data) [default: the phantom plan's, skinaug.demo.plans.DemoPlan].",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, ...")
@_friendly_errors
def demo(out: Path, data: Path | None, fmt: str, count: int | None, device: str) -> None:
    """The whole pipeline: prepare, measure, train-generator, augment, bench-classifier, evaluate -> report.html.

    Without --data it runs on embedded phantoms in about 10 minutes on 2 CPU cores; with --data the sizes are
    chosen for the hardware found (GPU or CPU) and the report says which. Re-running resumes.
    """
    from .demo import choose_plan, run_demo

    plan = choose_plan(real_data=data is not None, device=device)
    if count is not None:
        plan.phantoms = count
    result = run_demo(out, data, fmt, plan, log=lambda line: click.echo(line, err=True))
    _notices(result.notices)
    click.echo(result.summary_line())


@main.command("bench-classifier")
@click.argument("workdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--synthetic",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Synthetic set (augment format) for arm c; its sources must be train images of WORKDIR.",
)
@click.option("--arch", default="resnet50", show_default=True, help="Any timm architecture.")
@click.option(
    "--seeds",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Training runs per arm (seeds 0..N-1); the report gives mean ± std over them.",
)
@click.option(
    "--arms",
    default="abcd",
    show_default=True,
    help="Letters (a real only, b real + weighted sampler, c real + synthetic pooled + sampler, d real + "
    "random oversampling) or comma-separated names: also topup, topup-sampler, share<P>, each "
    "optionally with -copies (control: flipped/rotated train copies mixed the same way) or -selected "
    "(synthetic images a real-trained classifier assigns to their class), then optionally -finish<K> (the "
    "last K epochs real images only, as b), e.g. a,b,c,c-copies,topup,share0.5-finish2.",
)
@click.option(
    "--synthetic-share",
    "synthetic_shares",
    default="",
    show_default=False,
    help="Comma-separated caps on the synthetic share of each class's draws, e.g. 0.25,0.5: one share<P> "
    "arm each (for every extra source already asked for).",
)
@click.option(
    "--top-up-to",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="topup arms: fill every class to this many images with extra ones (classes above get none).",
)
@click.option(
    "--copies",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Copy set for the -copies control arms [default: made in OUT/copy-set, as many per class as "
    "the synthetic set].",
)
@click.option(
    "--resolution-chain",
    default="match",
    show_default=True,
    help="match: when synthetic images are smaller than --image-size, every image (real too) goes through "
    "their resolution first, so real and synthetic images reach the classifier the same way; direct: resized "
    "once; via<N> (e.g. via32): every image through N px first, a low-pass for real and extra images alike.",
)
@click.option(
    "--shortcut-steps",
    default=150,
    show_default=True,
    type=click.IntRange(min=0),
    help="Steps of the real-vs-extra judge whose held-out AUROC measures the shortcut risk (0: skip).",
)
@click.option(
    "--image-size",
    default=224,
    show_default=True,
    type=click.IntRange(min=16),
    help="Side in px images are resized to (ViTs and other fixed-size models are built for it).",
)
@click.option("--epochs", default=30, show_default=True, type=click.IntRange(min=1), help="Most epochs per run.")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1), help="Images per step.")
@click.option(
    "--lr",
    default=1e-3,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Peak learning rate (AdamW).",
)
@click.option(
    "--patience",
    default=6,
    show_default=True,
    type=click.IntRange(min=1),
    help="Early stopping: epochs without a better validation mean recall (with --select-epoch val).",
)
@click.option(
    "--select-epoch",
    "select_epoch",
    default="val",
    show_default=True,
    type=click.Choice(EPOCH_SELECTIONS),
    help="The epoch each run keeps: the best real-val mean recall (early stopping), or the last one "
    "(a fixed schedule; no choice made on a small val split).",
)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE|pretrained",
    help="Weights to start from: a local file (.safetensors or state-dict .pth), or 'pretrained' "
    "(timm's published weights from the Hugging Face cache, downloaded once; offline: from "
    "scratch, said so); default: from scratch.",
)
@click.option(
    "--test-manifest",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Another prepared WORKDIR to test on (cross-dataset), classes both data sets have.",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, ...")
@click.option("--workers", type=click.IntRange(min=0), default=None, help="DataLoader workers [default: cores-1].")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder [default: WORKDIR/bench-classifier].",
)
@click.option("--save-models", is_flag=True, help="Keep every run's model (arm a, seed 0 is always kept).")
@click.option(
    "--time-budget",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="MIN",
    help="Start no new run after MIN minutes; report what finished (seed 0 of every arm first); rerun to add the rest.",
)
@_friendly_errors
def bench_classifier(
    workdir: Path,
    synthetic: Path | None,
    arch: str,
    seeds: int,
    arms: str,
    synthetic_shares: str,
    top_up_to: int,
    copies: Path | None,
    resolution_chain: str,
    shortcut_steps: int,
    image_size: int,
    epochs: int,
    batch_size: int,
    lr: float,
    patience: int,
    select_epoch: str,
    weights: Path | None,
    test_manifest: Path | None,
    device: str,
    workers: int | None,
    out: Path | None,
    save_models: bool,
    time_budget: float | None,
) -> None:
    """Does synthetic data help? Train each arm per seed on train, select on real val, report on real test."""
    from .classifiers.bench import BenchConfig, bench_classifier as run_bench
    from .classifiers.shortcut import ShortcutConfig
    from .classifiers.train import TrainConfig

    train = TrainConfig(
        arch=arch,
        image_size=image_size,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        patience=patience,
        select=select_epoch,
        workers=workers,
        device=device,
    )
    config = BenchConfig(
        train=train,
        seeds=seeds,
        arms=arms,
        weights=str(weights) if weights else None,
        synthetic=str(synthetic) if synthetic else None,
        test_manifest=str(test_manifest) if test_manifest else None,
        save_models=save_models,
        synthetic_shares=_floats(synthetic_shares, "--synthetic-share"),
        copies=str(copies) if copies else None,
        top_up_to=top_up_to,
        resolution_chain=resolution_chain,
        shortcut=ShortcutConfig(steps=shortcut_steps) if shortcut_steps else None,
        time_budget=time_budget,
    )
    out = out or workdir / "bench-classifier"
    result = run_bench(workdir, out, config)
    _notices(result.notices)
    click.echo(result.summary_line())


def _floats(text: str, option: str) -> tuple[float, ...]:
    """'0.25,0.5' -> (0.25, 0.5); a clear error for anything else."""
    try:
        values = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise SkinaugError(f"{option} {text!r}: expected numbers between 0 and 1 separated by commas") from None
    if any(not 0.0 <= v <= 1.0 for v in values):
        raise SkinaugError(f"{option} {text!r}: every value must be between 0 and 1")
    return values


@main.command("train-generator")
@click.argument("workdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--config",
    "config_name",
    default="tiny",
    show_default=True,
    help="tiny | small | base | 512, or a JSON file of a GeneratorConfig.",
)
@click.option(
    "--stage",
    type=click.Choice(["tokenizer", "transformer", "all"]),
    default="all",
    show_default=True,
    help="Train only the tokenizer, only the transformer (needs a trained tokenizer in OUT), or both.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Generator folder [default: WORKDIR/generator-CONFIG].",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its latest checkpoint.")
@click.option("--no-lesion-focus", is_flag=True, help="Ablation: train the tokenizer without the lesion-focused term.")
@click.option(
    "--measurements",
    type=click.Choice(["none", "fixed", "adaptive"]),
    default=None,
    help="Ablation of the measurement condition [default: the config's, adaptive].",
)
@click.option(
    "--tokenizer-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Tokenizer training steps [default: the config's].",
)
@click.option(
    "--transformer-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Transformer training steps [default: the config's].",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Global batch (all processes).")
@click.option(
    "--perceptual-weights",
    type=click.Path(path_type=Path),
    default=None,
    metavar="FILE|FOLDER|pretrained",
    help="VGG16 weights for the perceptual loss: a local file (torchvision's vgg16-397923af.pth or a "
    ".safetensors copy) or 'pretrained' (torchvision's VGG16_Weights.IMAGENET1K_V1 via torch hub's "
    "cache; offline: off, said so); or the folder of a classifier saved by bench-classifier --save-models, "
    "trained on the real train split (never the one that judges): its features; off without.",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, ...")
@click.option(
    "--time-budget",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="MIN",
    help="Stop cleanly after MIN minutes of wall clock, with a checkpoint and a usable generator (the tokenizer "
    "gets the budget's share of its configured steps, the transformer the rest); --resume continues.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="DataLoader processes assembling batches [default: 0 on CPU, up to 4 beside a GPU].",
)
@click.option(
    "--compile", "compile_models", is_flag=True, help="torch.compile the tokenizer and transformer (for GPUs)."
)
@_friendly_errors
def train_generator_command(
    workdir: Path,
    config_name: str,
    stage: str,
    out: Path | None,
    resume: bool,
    no_lesion_focus: bool,
    measurements: str | None,
    tokenizer_steps: int | None,
    transformer_steps: int | None,
    batch_size: int | None,
    perceptual_weights: Path | None,
    device: str,
    time_budget: float | None,
    workers: int | None,
    compile_models: bool,
) -> None:
    """Train LF-VAR (tokenizer, then transformer) on the train split of a prepared, measured WORKDIR.

    Several processes: torchrun --nproc-per-node N -m skinaug train-generator WORKDIR ...
    """
    from .generators.config import load_config
    from .generators.training import TrainOptions, train_generator

    config = load_config(config_name).with_overrides(
        tokenizer_steps=tokenizer_steps,
        transformer_steps=transformer_steps,
        batch_size=batch_size,
        lesion_focus=0.0 if no_lesion_focus else None,
        measurements=measurements,
    )
    out = out or workdir / f"generator-{config.name}"
    weights = str(perceptual_weights) if perceptual_weights else None
    options = TrainOptions(
        stage, resume, device, weights, workers=workers, compile=compile_models, time_budget=time_budget
    )
    result = train_generator(workdir, out, config, options)
    if int(os.environ.get("RANK", "0")) == 0:
        click.echo(result.summary_line())


@main.command("augment")
@click.argument("workdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--generator",
    "generator_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder written by train-generator.",
)
@click.option(
    "--per-class", default=500, show_default=True, type=click.IntRange(min=0), help="Synthetic images per class."
)
@click.option(
    "--mode",
    type=click.Choice(["intra", "inter", "free", "reconstruct"]),
    default="intra",
    show_default=True,
    help="intra: regenerate a train lesion as its own class; inter: as another class; free: no source; "
    "reconstruct: the control of intra (same sources): the lesion replaced by the tokenizer's reconstruction.",
)
@click.option(
    "--measurements-from",
    "measurement_source",
    type=click.Choice(["train", "class-mean"]),
    default="train",
    show_default=True,
    help="free/inter: each image's measurements are those of a train image of its "
    "class, drawn with its seed (train), or the class's mean (class-mean).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the synthetic set (re-running tops it up).",
)
@click.option("--seed", default=0, show_default=True, help="Seed: which sources and tokens are drawn.")
@click.option("--cfg", default=4.0, show_default=True, help="Classifier-free guidance at the last scale.")
@click.option("--top-k", default=900, show_default=True, help="Sample among the k most likely tokens.")
@click.option(
    "--top-p",
    default=0.95,
    show_default=True,
    help="Nucleus sampling: the smallest set of tokens whose probabilities sum to p.",
)
@click.option(
    "--batch-size",
    default=16,
    show_default=True,
    type=click.IntRange(min=1),
    help="Images sampled together (one class per batch); shards of one set must use the same.",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto (a CUDA GPU when there is one, sampling in bf16), cpu, cuda, cuda:1, ...",
)
@click.option(
    "--shard",
    default=None,
    metavar="I/N",
    help="Make only shard I of N (I counts from 0), e.g. one per GPU or machine; the shards are merged "
    "into OUT when the last one finishes (or with `skinaug merge-shards OUT`).",
)
@_friendly_errors
def augment_command(
    workdir: Path,
    generator_dir: Path,
    per_class: int,
    mode: str,
    measurement_source: str,
    out: Path,
    seed: int,
    cfg: float,
    top_k: int,
    top_p: float,
    batch_size: int,
    device: str,
    shard: str | None,
) -> None:
    """Fill a class-balanced synthetic set (PNG images + masks + manifest) from train-split sources."""
    from .generators.augment import AugmentConfig, augment
    from .generators.var import SamplingConfig

    config = AugmentConfig(
        per_class=per_class,
        mode=mode,
        seed=seed,
        batch_size=batch_size,
        sampling=SamplingConfig(cfg=cfg, top_k=top_k, top_p=top_p),
        device=device,
        measurement_source=measurement_source,
        shard=shard,
    )
    result = augment(workdir, generator_dir, out, config)
    syn, made = result
    if syn.root != out.resolve():
        click.echo(
            f"augment: shard {shard}: {len(syn.manifest)} images; {made} generated now -> {syn.root}; "
            "merged into OUT once every shard is finished"
        )
        return
    click.echo(result.summary_line())


def _set_summary(command: str, syn: Any, out: Path, what: str) -> str:
    counts = syn.manifest["label"].value_counts()
    per = " ".join(f"{c}={int(counts.get(c, 0))}" for c in sorted(counts.index))
    return f"{command}: {len(syn.manifest)} images ({per}); {what} -> {out} (grid: {out / 'grid.png'})"


@main.command("export-generator")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--evaluation",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="An `evaluate` metrics.json whose scores go into the model card.",
)
@_friendly_errors
def export_generator_command(run_dir: Path, out: Path, evaluation: Path | None) -> None:
    """Write a trained generator to share: weights only (safetensors), config, scaler, class means, README.md card."""
    from .generators.pretrained import export_generator

    export_generator(run_dir, out, evaluation)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    click.echo(
        f"export-generator: {run_dir} -> {out} ({size / 1e6:.1f} MB; load with Generator.from_pretrained({str(out)!r}))"
    )


@main.command("merge-shards")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@_friendly_errors
def merge_shards_command(out: Path) -> None:
    """Merge the shard folders OUT/shards/I-of-N/ of `augment --shard` into the synthetic set OUT."""
    from .atomic import write_png
    from .generators.augment import sample_grid
    from .generators.shards import merge_shards

    syn = merge_shards(out)
    assert syn is not None  # required=True raises instead
    write_png(out / "grid.png", sample_grid(syn))
    click.echo(_set_summary("merge-shards", syn, out, "merged"))


@main.command("evaluate")
@click.argument("workdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--synthetic",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Synthetic set (augment format) made from WORKDIR's train split.",
)
@click.option(
    "--reference-split",
    type=click.Choice(["test", "val", "train"]),
    default="test",
    show_default=True,
    help="Real images to compare with.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder [default: WORKDIR/evaluation/SYNTHETIC-NAME].",
)
@click.option(
    "--inception-weights",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE|pretrained",
    help="Inception-v3 FID weights: a local file (torch-fidelity's), or 'pretrained' (torch-fidelity's, "
    "downloaded once into torch's hub cache; offline: domain features, said so); default: torch's "
    "hub cache, else domain features.",
)
@click.option(
    "--classifier",
    type=click.Path(path_type=Path),
    default=None,
    help="Saved classifier for domain features (bench-classifier OUT, a run folder or model.safetensors); "
    "default: train one on the real train split.",
)
@click.option(
    "--image-size",
    type=click.IntRange(min=16),
    default=None,
    help="Compare at this size [default: the synthetic images' size].",
)
@click.option(
    "--judge-size",
    default=64,
    show_default=True,
    type=click.IntRange(min=16),
    help="Image size of the classifiers evaluate trains (domain features, CAS).",
)
@click.option("--judge-arch", default="resnet18", show_default=True, help="timm architecture of those classifiers.")
@click.option(
    "--judge-epochs", default=15, show_default=True, type=click.IntRange(min=1), help="Epochs of those classifiers."
)
@click.option(
    "--judge-min-steps",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="Small training sets get more epochs, up to at least this many steps.",
)
@click.option(
    "--bootstrap",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="Bootstrap replicates of the FID/KID intervals.",
)
@click.option("--no-cas", is_flag=True, help="Skip the train-on-synthetic, test-on-real classifier.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, ...")
@_friendly_errors
def evaluate_command(
    workdir: Path,
    synthetic: Path,
    reference_split: str,
    out: Path | None,
    inception_weights: Path | None,
    classifier: Path | None,
    image_size: int | None,
    judge_size: int,
    judge_arch: str,
    judge_epochs: int,
    judge_min_steps: int,
    bootstrap: int,
    no_cas: bool,
    device: str,
) -> None:
    """FID/KID/IS/precision-recall per class, inter-class matrix, CAS, plots -> report.md + metrics.json."""
    from .evaluation import EvaluateConfig, evaluate
    from .evaluation.judges import JudgeSettings, judge_train

    judge = JudgeSettings(
        judge_train(arch=judge_arch, image_size=judge_size, epochs=judge_epochs, device=device),
        min_steps=judge_min_steps,
    )
    config = EvaluateConfig(
        reference_split=reference_split,
        image_size=image_size,
        inception_weights=str(inception_weights) if inception_weights else None,
        classifier=str(classifier) if classifier else None,
        judge=judge,
        bootstrap=bootstrap,
        cas=not no_cas,
        device=device,
    )
    out = out or workdir / "evaluation" / synthetic.resolve().name
    result = evaluate(workdir, synthetic, out, config)
    _notices(result.notices)
    click.echo(result.summary_line())
