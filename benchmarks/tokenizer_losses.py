"""Which tokenizer loss keeps the classes: tokenizers trained side by side with different extra terms, each judged
by its retention on real test images (issue 11 point 5).

    python benchmarks/tokenizer_losses.py --work WORK --judge JUDGE [--perceptual-classifier NET] \\
        [--variants base,frequency,classifier] [--steps 800] [--parallel 3] [--time-budget MIN] [--out DIR]

WORK: a prepared, measured work folder. JUDGE: a classifier saved by `bench-classifier --save-models`, trained on
WORK's real train split (e.g. its runs/b_seed0): the retention judge (skinaug.evaluation.retention). NET: another
such classifier, of another architecture, the feature network of the `classifier` variant
(generators/tokenizer/classifier_perceptual.py); never the judge, which would flatter what it taught.

Every variant trains the same config (--config, default benchmarks/configs/tiny_l16.json) for the same number of
tokenizer steps with `skinaug train-generator --stage tokenizer` in its own process (OUT/runs/<variant>,
resumable: rerun the same command), --parallel processes at a time sharing the cores equally. Then, for each, the
judge's mean recall on the reconstructions of the real test images, its retention (that over the judge's mean
recall on the real images), per-class retention, PSNR, and the paired bootstrap 95 % CI of its mean recall on
reconstructions against the first variant's (same test images). Writes OUT/tokenizer_losses.md and .json, and
tokenizer_losses_reconstructions.png (two real test images per class beside each variant's reconstruction).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# name -> (config changes: "tokenizer.<field>" or "tokenizer_optim.<field>", uses --perceptual-classifier, what it is)
VARIANTS: dict[str, tuple[dict[str, float], bool, str]] = {
    "base": ({}, False, "the config as it is (pixel L2 + L1, latent, lesion focus, codebook; no VGG16 here)"),
    "frequency": (
        {"tokenizer.frequency_weight": 1.0},
        False,
        "+ the L1 distance of the spectra, weight 1 (frequency_loss.py)",
    ),
    "classifier": (
        {},
        True,
        "+ the LPIPS-style distance on the features of a classifier trained on the real train split "
        "(classifier_perceptual.py), at the config's perceptual_weight",
    ),
    "balanced": (
        {"tokenizer_optim.class_balance": 1.0},
        True,
        "`classifier` with class-balanced draws (every class equally often: tokenizer_optim.class_balance 1)",
    ),
}


def variant_config(base: Path, changes: dict[str, float], steps: int, path: Path) -> Path:
    """The base config JSON with the variant's changes ("section.field": value) and tokenizer step count, written
    to `path`."""
    config = json.loads(base.read_text())
    for key, value in changes.items():
        section, name = key.split(".")
        config[section][name] = value
    config["tokenizer_optim"]["steps"] = steps
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=1))
    return path


def steps_done(run: Path) -> int:
    """The step of a tokenizer run's latest checkpoint (0 when none)."""
    from skinaug.generators.checkpoint import latest_checkpoint

    latest = latest_checkpoint(run / "tokenizer")
    return int(latest.name.removeprefix("step")) if latest is not None else 0


def train(args: argparse.Namespace, names: list[str]) -> dict[str, float]:
    """Train the variants, --parallel at a time; returns each process's wall seconds per step it trained (this
    call; variants that had nothing left to train are absent)."""
    threads = max(1, (os.cpu_count() or 1) // args.parallel)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    pending, running, seconds = list(names), {}, {}
    while pending or running:
        while pending and len(running) < args.parallel:
            name = pending.pop(0)
            changes, perceptual, _ = VARIANTS[name]
            config = variant_config(args.config, changes, args.steps, args.out / "configs" / f"{name}.json")
            command = [sys.executable, "-m", "skinaug", "train-generator", str(args.work), "--config", str(config)]
            command += ["--stage", "tokenizer", "--out", str(args.out / "runs" / name), "--resume", "--device", "cpu"]
            if perceptual:
                command += ["--perceptual-weights", str(args.perceptual_classifier)]
            if args.time_budget:
                command += ["--time-budget", str(args.time_budget)]
            log = open(args.out / "runs" / f"{name}.log", "a")
            before = steps_done(args.out / "runs" / name)
            process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
            running[name] = (process, time.perf_counter(), log, before)
            print(f"started {name} ({threads} thread(s)): {' '.join(command)}", file=sys.stderr, flush=True)
        time.sleep(5)
        for name, (process, start, log, before) in list(running.items()):
            if process.poll() is not None:
                log.close()
                del running[name]
                if process.returncode:
                    sys.exit(f"{name}: train-generator failed (exit {process.returncode}); see {log.name}")
                done = steps_done(args.out / "runs" / name)
                if done > before:
                    seconds[name] = (time.perf_counter() - start) / (done - before)
                print(f"{name}: stopped at step {done}", file=sys.stderr, flush=True)
    return seconds


def judge(args: argparse.Namespace, names: list[str]) -> dict[str, dict[str, Any]]:
    """Retention of each variant's tokenizer (also with real and reconstructed images 3 x 3 median-filtered: is
    what it keeps carried by isolated specks?), and the paired CI of its reconstructions' mean recall vs the
    first's."""
    from skinaug.classifiers.metrics import paired_bootstrap
    from skinaug.evaluation.retention import reconstruction_retention

    results = {
        name: reconstruction_retention(args.out / "runs" / name, args.work, args.judge, keep_probabilities=True)
        for name in names
    }
    first = results[names[0]]["probabilities"]
    for name in names:
        probabilities = results[name].pop("probabilities")
        results[name]["steps"] = steps_done(args.out / "runs" / name)
        results[name]["median_filtered"] = {
            k: v
            for k, v in reconstruction_retention(
                args.out / "runs" / name, args.work, args.judge, median_filter=True
            ).items()
            if k in ("real_mean_recall", "reconstructed_mean_recall", "retention")
        }
        if name != names[0]:
            results[name]["vs_first"] = paired_bootstrap(
                first["labels"], [probabilities["reconstructed"]], [first["reconstructed"]], n_boot=args.bootstrap
            )
    return results


def reconstruction_grid(args: argparse.Namespace, names: list[str], path: Path, per_class: int = 2) -> None:
    """A picture: `per_class` real test images of every class (drawn with seed 0) and each variant's reconstruction."""
    import numpy as np
    import torch

    from skinaug.atomic import write_png
    from skinaug.data import real_dataset
    from skinaug.generators.generator import from_uint8, load_trained_tokenizer, to_uint8
    from skinaug.labels import CLASSES
    from skinaug.pictures import labelled_grid

    tokenizers = [load_trained_tokenizer(args.out / "runs" / name, "cpu") for name in names]
    size = tokenizers[0].config.image_size
    data = real_dataset(args.work, "test", size)
    labels = np.asarray(data.labels)
    rng = np.random.default_rng(0)
    pick = [
        int(i)
        for c in range(len(CLASSES))
        if (labels == c).any()
        for i in rng.choice(np.flatnonzero(labels == c), min(per_class, int((labels == c).sum())), replace=False)
    ]
    real = torch.stack([data[i][0] for i in pick])
    with torch.no_grad():
        columns = [real.permute(0, 2, 3, 1).numpy()] + [to_uint8(t.reconstruct(from_uint8(real))) for t in tokenizers]
    rows = [(CLASSES[labels[index]], [column[i] for column in columns]) for i, index in enumerate(pick)]
    write_png(path, labelled_grid(rows, tile=size, label_width=44, header=["real", *names]))


def report(args: argparse.Namespace, names: list[str], results: dict[str, dict[str, Any]], seconds: dict) -> str:
    """The Markdown table: one row per variant, then per-class retention."""
    from skinaug.evaluation.retention import RETENTION_TARGET
    from skinaug.labels import CLASSES
    from skinaug.machine import describe_hardware

    head = results[names[0]]
    lines = [
        "# Tokenizer losses side by side: which keeps the classes (issue 11 point 5)",
        "",
        f"Config `{args.config.name}`, tokenizer only, {args.steps} steps each (cosine schedule to 0 over them), "
        f"trained {min(args.parallel, len(names))} at a time on {describe_hardware()}, sharing it equally. Judge: "
        f"`{args.judge}` (trained on the real train split), on the {head['images']} real test images; path: "
        f"{head['path']}. Target: retention >= {RETENTION_TARGET:.0%}. Perceptual network of `classifier`: "
        f"`{args.perceptual_classifier}`.",
        "",
        "| variant | what | steps | PSNR dB | mean recall on reconstructions | retention | vs "
        f"{names[0]} [95 % CI] | retention, 3 x 3 median | s/step |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for name in names:
        r = results[name]
        gain = r.get("vs_first")
        ci = "—" if gain is None else f"{gain['gain']:+.3f} [{gain['ci_low']:+.3f}, {gain['ci_high']:+.3f}]"
        per_step = f"{seconds[name]:.1f}" if name in seconds else "—"
        lines.append(
            f"| {name} | {VARIANTS[name][2]} | {r['steps']} | {r['psnr_db']:.1f} | "
            f"{r['reconstructed_mean_recall']:.3f} | **{r['retention']:.0%}** | {ci} | "
            f"{r['median_filtered']['retention']:.0%} | {per_step} |"
        )
    lines += [
        "",
        f"Judge's mean recall on the real test images: {head['real_mean_recall']:.3f}. Per class, retention "
        "(recall on reconstructions / on real images):",
        "",
        "| class | real recall | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for c in CLASSES:
        cells = " | ".join(f"{results[n]['per_class'][c]['retention']:.2f}" for n in names)
        lines.append(f"| {c} | {head['per_class'][c]['real']:.2f} | {cells} |")
    lines += [
        "",
        "The CI is a paired bootstrap over the test images (class-stratified), one tokenizer per variant: it does "
        "not include the seed-to-seed variation of tokenizer training. Retention, 3 x 3 median: the same with "
        "real and reconstructed images both median-filtered before the judge (isolated specks removed): close to "
        "the plain retention where the classes are not carried by specks. s/step: wall seconds of the last "
        "invocation's process per step it trained, start-up included (— when it had nothing left to train).",
        "",
        "![Two real test images per class (seed 0) and their reconstructions by each variant]"
        "(tokenizer_losses_reconstructions.png)",
        "",
        "Command: `python benchmarks/tokenizer_losses.py " + " ".join(sys.argv[1:]) + "`",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="prepared, measured work folder")
    parser.add_argument("--judge", type=Path, required=True, help="saved classifier: the retention judge")
    parser.add_argument("--perceptual-classifier", type=Path, default=None, help="saved classifier (not the judge)")
    parser.add_argument("--config", type=Path, default=HERE / "configs" / "tiny_l16.json")
    parser.add_argument("--variants", default="base,frequency,classifier", help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--parallel", type=int, default=3, help="training processes at a time")
    parser.add_argument("--time-budget", type=float, default=None, metavar="MIN", help="per process; rerun resumes")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/tokenizer-losses"))
    parser.add_argument("--results", type=Path, default=None, help="also copy the .md, .json and .png here")
    args = parser.parse_args()
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"--variants: unknown {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    if any(VARIANTS[n][1] for n in names) and args.perceptual_classifier is None:
        sys.exit("--variants classifier needs --perceptual-classifier (a saved classifier that is not the judge)")
    if args.perceptual_classifier is not None and args.perceptual_classifier.resolve() == args.judge.resolve():
        sys.exit("--perceptual-classifier is the judge: the tokenizer would learn the judge's features")
    (args.out / "runs").mkdir(parents=True, exist_ok=True)
    seconds = train(args, names)
    results = judge(args, names)
    from skinaug.atomic import write_json, write_text

    text = report(args, names, results, seconds)
    payload = {"command": sys.argv, "steps": args.steps, "variants": names, "seconds": seconds, "results": results}
    picture = args.out / "tokenizer_losses_reconstructions.png"
    reconstruction_grid(args, names, picture)
    for folder in [args.out] + ([args.results] if args.results else []):
        write_text(folder / "tokenizer_losses.md", text)
        write_json(folder / "tokenizer_losses.json", payload)
        if folder != args.out:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(picture, folder / picture.name)
    print(text)


if __name__ == "__main__":
    main()
