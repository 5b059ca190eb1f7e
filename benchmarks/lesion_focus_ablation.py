"""Does `--no-lesion-focus` change the tokenizer? Tokenizers trained on the same data, seed and steps with
eq. 2's lesion-focused term at several weights and without it; background and lesion fidelity on val images side
by side, for several seeds.

    python benchmarks/lesion_focus_ablation.py WORKDIR [--config tiny] [--steps 300] [--batch 16]
        [--max-train 2000] [--val-images 256] [--seeds 3 | --seed-list 3,5,7] [--weights 1,5,20] [--threads 1]
        [--merge LANE.json ...] [--report-only] [--out DIR]

WORKDIR is a prepared work directory (`skinaug prepare`; masks needed, measurements not). Every arm draws the
same batches in the same order from the same initial weights; the only difference is the weight of the
lesion-focused term (each of `--weights`, default the config's, against 0 as `--no-lesion-focus` sets it). The
term is computed in every arm (times 0 in the off arm), so they run the same computation: the table shows
seconds per step. The adversarial loss starts at half the steps, as the named configs do; no perceptual
network. Each seed draws its own train images, initial weights and batch order (the arms of a seed share them);
the val images are the same for every seed, so the difference of each weight against off is paired per seed,
and its spread over seeds is set against the seed-to-seed spread of each arm.

Resumable: an existing OUT/lesion_focus_ablation.json made with the same settings (config, size, steps, batch,
train and val images) keeps its (seed, weight) results, and only the missing ones are trained; the JSON is
rewritten after every arm. So a weight can be added to a finished table without retraining the others. To train
on several cores, give each process its own seeds (`--seed-list`) and OUT folder, then write the whole table with
`--merge` (their JSONs) and `--report-only` (nothing trained: a (seed, weight) no lane trained is left out).

Measured on val images (reconstruction = encode -> tokens -> decode, clamped): PSNR and L1 (on [0, 1]) over the
background (outside the mask), the ring of background within 8 px of the lesion, and the lesion (inside the
mask); the lesion-focused term itself (weight 1). Writes OUT/lesion_focus_ablation.md and .json (default OUT:
benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skinaug.atomic import write_json, write_text
from skinaug.classifiers.metrics import seed_paired_interval
from skinaug.data import real_dataset
from skinaug.errors import SkinaugError
from skinaug.generators.composite import dilate
from skinaug.generators.config import GeneratorConfig, OptimConfig, load_config
from skinaug.generators.tokenizer import LesionTokenizer, TokenizerTrainer, lesion_focus_loss, token_masks
from skinaug.machine import describe_hardware
from skinaug.pictures import save_figure

HERE = Path(__file__).resolve().parent
RING = 8
OFF = "--no-lesion-focus"
SETTINGS = ("config", "image_size", "steps", "batch", "train_images", "val_images")  # what must match to resume
METRICS = ("background_psnr_db", "background_l1", "ring_psnr_db", "lesion_psnr_db", "lesion_l1", "lesion_focus_term")
VAL_SEED = 0  # the val images measured: the same for every seed


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


def _spread(values: list[float]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for one value)."""
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "sd": float(arr.std(ddof=1)) if arr.size > 1 else 0.0}


def arm_name(weight: float) -> str:
    """The table's name of the arm trained with lesion-focus weight `weight` (0 = `--no-lesion-focus`)."""
    return OFF if weight == 0 else f"lesion focus {weight:g}"


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per arm (by weight, off first): each metric's mean and sd over seeds; per weighted arm and metric: the
    paired arm - off difference over the seeds that have both."""
    weights = sorted({a["weight"] for r in runs for a in r["arms"].values()})
    arms: dict[str, Any] = {}
    for weight in weights:
        name = arm_name(weight)
        have = [r["arms"][name] for r in runs if name in r["arms"]]
        arms[name] = {
            "weight": weight,
            "seeds": len(have),
            "seconds_per_step": _spread([a["seconds_per_step"] for a in have])["mean"],
            **{m: _spread([a[m] for a in have]) for m in METRICS},
        }
    difference: dict[str, Any] = {}
    for name in arms:
        paired = [r for r in runs if name in r["arms"] and OFF in r["arms"]]
        if name == OFF or not paired:
            continue
        difference[name] = {}
        for m in METRICS:
            per_seed = [r["arms"][name][m] - r["arms"][OFF][m] for r in paired]
            interval = seed_paired_interval([r["arms"][name][m] for r in paired], [r["arms"][OFF][m] for r in paired])
            difference[name][m] = {
                **_spread(per_seed),
                "ci_low": interval["ci_low"],
                "ci_high": interval["ci_high"],
                "seeds": [r["seed"] for r in paired],
                "per_seed": per_seed,
                "same_sign": len({d > 0 for d in per_seed}) == 1,
            }
    return {"arms": arms, "difference_vs_off": difference}


def _previous_runs(path: Path, settings: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Per seed, the arms of an earlier JSON at `path` made with the same settings (empty if none or others)."""
    if not path.exists():
        return {}
    try:
        earlier = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise SkinaugError(f"{path}: not valid JSON ({err.msg}); move it away to start afresh") from None
    if any(earlier.get(k) != v for k, v in settings.items()):
        return {}
    # arms are re-keyed by weight, so JSON written before --weights (arm "lesion focus on") is reused too; an arm
    # from before arms recorded their machine was trained on the one its JSON names
    return {
        int(r["seed"]): {arm_name(a["weight"]): {"machine": earlier.get("machine"), **a} for a in r["arms"].values()}
        for r in earlier.get("runs", [])
    }


def run(
    workdir: Path,
    out: Path,
    config: GeneratorConfig,
    steps: int = 300,
    batch: int = 16,
    max_train: int = 2000,
    val_images: int = 256,
    seeds: Sequence[int] = (0, 1, 2),
    weights: Sequence[float] | None = None,
    merge: Sequence[Path] = (),
    train: bool = True,
) -> dict[str, Any]:
    """Train the off arm and one arm per weight (default: the config's, or 1) for every seed, reusing the
    (seed, weight) results of an earlier JSON in `out` and of the JSONs in `merge` (other lanes of the same
    table) made with the same settings; measure, write the Markdown table and the JSON (after every arm); return
    the JSON's content. `train=False` trains nothing: the table of what the JSONs hold."""
    if weights is None:
        weights = (config.tokenizer.lesion_focus if config.tokenizer.lesion_focus > 0 else 1.0,)
    if any(w <= 0 for w in weights):
        raise SkinaugError(
            f"--weights {','.join(f'{w:g}' for w in weights)}: every weight must be > 0 (0 is the off arm)"
        )
    size = config.tokenizer.image_size
    val = masked_images(workdir, "val", size, val_images, VAL_SEED)
    trains: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def train_set(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The seed's train images, decoded only when one of its arms trains (or for the count, seed 0)."""
        if seed not in trains:
            trains[seed] = masked_images(workdir, "train", size, max_train, seed)
        return trains[seed]

    settings = {
        "config": config.name,
        "image_size": size,
        "steps": steps,
        "batch": batch,
        "train_images": len(train_set(seeds[0])[0]),
        "val_images": len(val[0]),
    }
    json_path = out / "lesion_focus_ablation.json"
    done = _previous_runs(json_path, settings)
    for path in merge:
        lane = _previous_runs(Path(path), settings)
        if not lane:
            raise SkinaugError(f"{path}: no runs made with these settings ({settings}); nothing to merge")
        for seed, arms in lane.items():
            done.setdefault(seed, {}).update(arms)
    runs: list[dict[str, Any]] = [{"seed": seed, "arms": dict(done.get(seed, {}))} for seed in seeds]
    report: dict[str, Any] = {}
    for weight in (0.0, *weights):  # off first: every weight is paired against it
        for run_ in runs:
            name = arm_name(weight)
            if name in run_["arms"] or not train:
                continue
            print(f"seed {run_['seed']}: training {name}", file=sys.stderr, flush=True)
            arm_config = GeneratorConfig.from_dict(config.to_dict())
            model, per_step = train_arm(arm_config, weight, *train_set(run_["seed"]), steps, batch, run_["seed"])
            run_["arms"][name] = {
                "weight": weight,
                "seconds_per_step": per_step,
                "machine": describe_hardware(),
                **fidelity(model, *val),
            }
            report = _write(out, workdir, settings, seeds, runs)
    return report or _write(out, workdir, settings, seeds, runs)


def _write(
    out: Path, workdir: Path, settings: dict[str, Any], seeds: Sequence[int], runs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Summarise the runs so far and write the JSON and the Markdown table atomically; return the JSON's content."""
    report = {
        "workdir": str(workdir),
        **settings,
        "seeds": list(seeds),
        "threads": torch.get_num_threads(),
        "machine": describe_hardware(),
        "runs": runs,
        **summarise(runs),
    }
    write_json(out / "lesion_focus_ablation.json", report)
    write_text(out / "lesion_focus_ablation.md", markdown(report))
    if report["difference_vs_off"]:
        plot(report, out / "lesion_focus_ablation.png")
    return report


def measurable(difference: dict[str, Any]) -> bool:
    """A paired difference is measurable when it has one sign on every seed (at least 3) and its mean is at least
    twice its sd over seeds."""
    return (
        len(difference["per_seed"]) >= 3 and difference["same_sign"] and abs(difference["mean"]) >= 2 * difference["sd"]
    )


def interval_excludes_zero(difference: dict[str, Any]) -> bool:
    """The 95 % Student-t interval of the mean paired difference over seeds lies on one side of 0."""
    low, high = difference.get("ci_low"), difference.get("ci_high")
    return low is not None and high is not None and (low > 0 or high < 0)


SHOWN = ("background_psnr_db", "ring_psnr_db", "lesion_psnr_db", "background_l1", "lesion_focus_term")


def _digits(metric: str) -> str:
    """Format of a metric's differences: the lesion-focus term is an order of magnitude smaller."""
    return ".5f" if metric == "lesion_focus_term" else ".4f"


def trained_on(report: dict[str, Any]) -> str:
    """The machine the arms were trained on; with several, each with the seeds it trained."""
    seeds_of: dict[str, list[int]] = {}
    for run_ in report["runs"]:
        for arm in run_["arms"].values():
            machine = arm.get("machine") or report["machine"]
            if run_["seed"] not in seeds_of.setdefault(machine, []):
                seeds_of[machine].append(run_["seed"])
    if len(seeds_of) <= 1:
        return next(iter(seeds_of), report["machine"])
    return "Trained on " + "; ".join(f"{m} (seeds {', '.join(map(str, s))})" for m, s in seeds_of.items())


def markdown(report: dict[str, Any]) -> str:
    """The side-by-side table (mean +- sd over seeds) and the paired difference of every weight and seed."""
    n = len(report["seeds"])
    lines = [
        "# Lesion-focus ablation: tokenizer fidelity with eq. 2's non-lesion term at several weights and without it",
        "",
        f"`{report['config']}` tokenizer ({report['image_size']} px), {report['steps']} steps of batch "
        f"{report['batch']}, {n} seed(s) ({', '.join(map(str, report['seeds']))}), {report['train_images']} train "
        f"images with a mask from `{report['workdir']}` (drawn per seed); measured on the same "
        f"{report['val_images']} val images. {trained_on(report)}, {report['threads']} torch thread(s).",
        "",
        "Mean +- sd over seeds:",
        "",
        "| arm | weight | seeds | background PSNR (dB) | background L1 | ring PSNR (dB) | lesion PSNR (dB) | lesion L1 "
        "| lesion-focus term | s/step |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(v: dict[str, float], spec: str) -> str:
        return f"{v['mean']:{spec}} +- {v['sd']:{spec}}"

    for name, a in report["arms"].items():
        lines.append(
            f"| {name} | {a['weight']:g} | {a['seeds']} | {cell(a['background_psnr_db'], '.2f')} | "
            f"{cell(a['background_l1'], '.4f')} | {cell(a['ring_psnr_db'], '.2f')} | "
            f"{cell(a['lesion_psnr_db'], '.2f')} | {cell(a['lesion_l1'], '.4f')} | "
            f"{cell(a['lesion_focus_term'], '.5f')} | {a['seconds_per_step']:.3f} |"
        )
    lines += [
        "",
        "Paired difference, arm - off, per seed (same train images, initial weights and batches); **measurable**: "
        "one sign on every seed (>= 3) and |mean| >= 2 sd; 95 % CI: Student-t interval of the mean paired "
        "difference over seeds, **excludes 0** marked:",
        "",
        "| arm | seed | " + " | ".join(SHOWN) + " |",
        "|---|---|" + "---|" * len(SHOWN),
    ]
    for name, diff in report["difference_vs_off"].items():
        for i, seed in enumerate(diff[SHOWN[0]]["seeds"]):
            lines.append(
                f"| {name} | {seed} | " + " | ".join(f"{diff[m]['per_seed'][i]:+{_digits(m)}}" for m in SHOWN) + " |"
            )

        def summary(m: str) -> str:
            mark = " **measurable**" if measurable(diff[m]) else ""
            return f"{diff[m]['mean']:+{_digits(m)}} +- {diff[m]['sd']:{_digits(m)}}{mark}"

        def interval(m: str) -> str:
            low, high = diff[m].get("ci_low"), diff[m].get("ci_high")
            if low is None or high is None:
                return "n/a"
            mark = " **excludes 0**" if interval_excludes_zero(diff[m]) else ""
            return f"[{low:+{_digits(m)}}, {high:+{_digits(m)}}]{mark}"

        lines.append(f"| {name} | mean +- sd | " + " | ".join(summary(m) for m in SHOWN) + " |")
        lines.append(f"| {name} | 95 % CI | " + " | ".join(interval(m) for m in SHOWN) + " |")
    lines += [
        "",
        f"Background: every pixel outside the lesion mask; ring: background within {RING} px of the lesion; "
        "lesion-focus term: eq. 2's non-lesion term on the val reconstructions (weight 1). Every arm computes "
        "the term (times 0 when off), with the same data order and initial weights, so s/step differs only by "
        "what else ran on the machine at the time (arms resumed from an earlier table ran beside other jobs). Plot: "
        "[lesion_focus_ablation.png](lesion_focus_ablation.png) (paired differences against the weight).",
        "",
    ]
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    """Paired arm - off differences of background, ring and lesion PSNR against the weight: one dot per seed,
    the mean as a line."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.add_subplot()
    diffs = report["difference_vs_off"]
    weights = [report["arms"][name]["weight"] for name in diffs]
    for metric, colour in zip(("background_psnr_db", "ring_psnr_db", "lesion_psnr_db"), ("C0", "C1", "C2")):
        for w, name in zip(weights, diffs):
            values = diffs[name][metric]["per_seed"]
            ax.scatter([w] * len(values), values, color=colour, s=14, alpha=0.6)
        means = [diffs[name][metric]["mean"] for name in diffs]
        ax.plot(weights, means, color=colour, marker="o", label=metric.replace("_psnr_db", " PSNR"))
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("lesion-focus weight (log scale)")
    ax.set_ylabel("arm - off (dB), per seed")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--config", default="tiny", help="a named generator config or a JSON file")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--val-images", type=int, default=256)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument(
        "--seed-list",
        default=None,
        help="these seeds instead of 0..N-1, comma-separated (e.g. 3,5,7: one lane of a table trained in parallel)",
    )
    parser.add_argument(
        "--weights",
        default=None,
        help="lesion-focus weights to train beside off, comma-separated (default: the config's)",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=(),
        help="JSONs of other lanes (same settings, other OUT folders) whose runs join this table",
    )
    parser.add_argument("--report-only", action="store_true", help="train nothing: the table of what the JSONs hold")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    try:
        weights = tuple(float(w) for w in args.weights.split(",")) if args.weights else None
    except ValueError:
        parser.error(f"--weights {args.weights}: expected numbers separated by commas, e.g. 1,5,20")
    try:
        seeds = tuple(int(s) for s in args.seed_list.split(",")) if args.seed_list else tuple(range(args.seeds))
    except ValueError:
        parser.error(f"--seed-list {args.seed_list}: expected whole numbers separated by commas, e.g. 3,5,7")
    torch.set_num_threads(args.threads)
    try:
        report = run(
            args.workdir,
            args.out,
            load_config(args.config),
            args.steps,
            args.batch,
            args.max_train,
            args.val_images,
            seeds,
            weights,
            args.merge,
            not args.report_only,
        )
    except SkinaugError as err:
        parser.exit(2, f"error: {err}\n")
    print(markdown(report))


if __name__ == "__main__":
    main()
