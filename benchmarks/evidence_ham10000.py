"""The evidence on real HAM10000: do LF-VAR's synthetic images make a classifier better on real test images?

    python benchmarks/evidence_ham10000.py                      # 2 CPU cores: hours; re-run to resume
    python benchmarks/evidence_ham10000.py --smoke --data PHANTOMS --results /tmp/evidence-smoke   # minutes

prepare -> measure -> train-generator -> augment -> bench-classifier -> evaluate on ../shared/data/HAM10000
(lesion-grouped 70/10/20 split), then the tokenizer's class-information retention. Arms: a, b, c, d, the
copies controls, the top-up arms (the paper's setting), the share-capped arms, the classifier-selected arm and
a finish arm (share0.5-finish2: synthetic images mixed in first, real images only for the last 2 epochs), every
seed; paired bootstrap CIs of every arm against b and of every generated arm against its copies
control. Every step resumes (finished runs, checkpoints and images are kept in --work). Writes report.md,
results.json and the pictures to benchmarks/results/evidence_ham10000/, with the exact command;
`--previous RESULTS_JSON` shows an earlier run's numbers beside this run's (e.g. another tokenizer).
"""

from __future__ import annotations

import argparse
import math
import platform
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from skinaug.atomic import read_json, write_json, write_text
from skinaug.classifiers.arms import control_of, unfinished_of, uses_extra
from skinaug.classifiers.report import kept_last_epoch, selection_rule
from skinaug.demo.pipeline import run_demo
from skinaug.demo.plans import DemoPlan
from skinaug.evaluation.retention import RETENTION_TARGET, reconstruction_retention
from skinaug.labels import CLASSES
from skinaug.machine import describe_hardware
from skinaug.schedules import EPOCH_SELECTIONS

HERE = Path(__file__).resolve().parent
ARMS = (
    "a,b,c,d,c-copies,topup,topup-copies,topup-sampler,topup-selected,share0.25,share0.25-copies,share0.5,share0.5-copies,"
    "share0.5-finish2,share0.5-copies-finish2"
)
# `tiny` with a 16 x 16 latent (two downsamplings, scales up to 16): the 8 x 8 latent of `tiny` keeps ~49 % of a
# real-trained classifier's recall on its reconstructions (issue 11 point 5); 4x the tokens, ~2x the step time
GENERATOR = HERE / "configs" / "tiny_l16.json"
# tables made by other benchmarks from this run's --work folder and written beside the report (linked when present)
FURTHER = (
    "reconstruct_control",
    "tokenizer_schedule",
    "tokenizer_losses",
    "guidance_diversity",
    "inpaint_consistency",
    "lesion_focus_ablation",
    "colour_outliers",
    "shortcut_probe",
    "lowpass_via32/report",
    "transformer3000/report",
    "epochs10/report",
    "epochs15/report",
    "last10/report",
    "training_length",
    "lesion_colour_error",
    "balanced/README",
    "balanced/last10/report",
    "arms_abd/README",
)


def _plan(args: argparse.Namespace) -> DemoPlan:
    size = "smoke" if args.smoke else "CPU evidence"
    return DemoPlan(
        f"{size} plan: generator {Path(args.generator).stem} ({args.tokenizer_steps} + {args.transformer_steps} "
        f"steps), ResNet-18 {args.image_size} px, {args.seeds} seed(s), {args.per_class} synthetic "
        f"images per class ({args.mode})",
        describe_hardware(),
        generator=args.generator,
        tokenizer_steps=args.tokenizer_steps,
        transformer_steps=args.transformer_steps,
        per_class=args.per_class,
        mode=args.mode,
        cfg=args.cfg,
        classifier_size=args.image_size,
        epochs=args.epochs,
        select_epoch=args.select_epoch,
        seeds=args.seeds,
        arms=args.arms,
        synthetic_shares=(),
        top_up_to=args.per_class,
        shortcut_steps=args.shortcut_steps,
        judge_epochs=args.epochs,
        bootstrap=args.bootstrap,
        bench_time_budget=args.bench_time_budget,
        perceptual_weights=args.perceptual_weights,
    )


def _gain(info: dict[str, Any], ref: str | None) -> dict[str, Any] | None:
    return info.get("gains", {}).get(ref, {}).get("mean_recall") if ref else None


def _num(value: float | None, spec: str = ".3f") -> str:
    """A number for a table; "—" where it is missing (None or NaN: e.g. a class with too few images)."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def _cell(gain: dict[str, Any] | None) -> str:
    """Gain [test-image CI]; [seed CI] (the second where there are 2 or more seeds)."""
    if not gain:
        return "—"
    text = f"{gain['gain']:+.3f} [{gain['ci_low']:+.3f}, {gain['ci_high']:+.3f}]"
    seeds = gain.get("over_seeds") or {}
    if seeds.get("ci_low") is not None:
        text += f"; [{seeds['ci_low']:+.3f}, {seeds['ci_high']:+.3f}]"
    return text


def _above_0(gain: dict[str, Any] | None) -> bool:
    """A gain whose test-image CI and (where there are 2 or more seeds) seed CI both lie above 0."""
    if not gain or gain["ci_low"] <= 0:
        return False
    seeds = gain.get("over_seeds") or {}
    return seeds.get("ci_low") is None or seeds["ci_low"] > 0


def training_length(runs: Path, arm: str = "b") -> list[dict[str, int]]:
    """Per seed of ARM: the epoch chosen on real val and the epochs trained (from each run's run.json; runs that
    kept their last epoch by rule are left out)."""
    rows = []
    for path in sorted(runs.glob(f"{arm}_seed*/run.json")):
        run = read_json(path)
        if kept_last_epoch(run):  # the last epoch by rule says nothing about whether it was still learning
            continue
        rows.append({"seed": int(run["seed"]), "best_epoch": int(run["best_epoch"]), "epochs": int(run["epochs_run"])})
    return rows


def verdict(
    summary: dict[str, Any],
    retention: dict[str, Any],
    evaluation: dict[str, Any],
    shortcut: dict[str, Any],
    b_training: list[dict[str, int]] | None = None,
) -> dict[str, Any]:
    """Whether a generated arm beats b with its CIs above 0 (test-image bootstrap and, with 2 or more seeds, the
    seed-paired t interval) and beats its copies control, and what limits it.

    `b_training` (see `training_length`): when arm b's best epoch is its last on every seed, the classifier is
    still learning the real images when training stops, and that is reported as a limit too."""
    arms = summary["arms"]
    generated = [a for a in arms if uses_extra(a) and not a.endswith("-copies")]
    beats_b = [a for a in generated if _above_0(_gain(arms[a], "b"))]
    beats_control = [a for a in generated if _above_0(_gain(arms[a], control_of(a)))]
    limits = []
    if retention["retention"] < RETENTION_TARGET:
        limits.append(
            f"tokenizer blur: a real-trained classifier keeps {retention['retention']:.0%} of its mean "
            f"recall on the tokenizer's reconstructions of real test images (target ≥ "
            f"{RETENTION_TARGET:.0%}); generated images cannot carry more class information"
        )
    conditioning = evaluation["conditioning"]["mean_recall"]
    if conditioning < 0.5:
        limits.append(
            f"conditioning: a real-trained classifier recognises the requested class on "
            f"{conditioning:.2f} of the generated images (chance {1 / len(CLASSES):.2f})"
        )
    if generated and not beats_control:
        limits.append(
            "no generated arm beats its copies control: at this scale the generator adds nothing "
            "that flipped/rotated copies of the train images do not"
        )
    if b_training and all(run["best_epoch"] == run["epochs"] for run in b_training):
        limits.append(
            f"training length: arm b's best epoch on real val is its last on every seed ({len(b_training)} of "
            f"{len(b_training)}, {b_training[0]['epochs']} epochs): the classifier is still learning the real "
            "images when it stops, so extra images compete with them for its steps"
        )
    auroc = shortcut.get("synthetic", {}).get("auroc")
    if isinstance(auroc, float) and auroc > 0.9:
        limits.append(f"shortcut risk: a small CNN tells synthetic from real train images with AUROC {auroc:.3f}")
    return {
        "generated_arms": generated,
        "beat_b_with_ci_above_0": beats_b,
        "beat_copies_control_with_ci_above_0": beats_control,
        "limiting_factors": limits,
    }


def _headline(results: dict[str, Any]) -> dict[str, float | None]:
    """The generator's numbers of one run's results.json that a comparison shows."""
    shortcut = results["bench"]["meta"].get("shortcut") or {}
    return {
        "tokenizer retention": results["retention"]["retention"],
        "reconstruction PSNR (dB)": results["retention"]["psnr_db"],
        "conditioning recall": results["evaluation"]["conditioning"]["mean_recall"],
        "real-vs-synthetic AUROC": shortcut.get("synthetic", {}).get("auroc"),
        "FID (all classes)": results["evaluation"]["overall"]["fid"],
    }


def compare_runs(previous: dict[str, Any], current: dict[str, Any], label: str) -> list[str]:
    """Markdown: the generator's numbers and every arm's mean recall and gain vs b, previous run beside this one.

    The runs have their own arm-b classifiers: each gain is against its own run's b (paired within the run);
    differences between the runs' recalls are not paired and carry seed-to-seed variation."""
    before, now = _headline(previous), _headline(current)
    lines = [
        "## Against the previous run",
        "",
        f"Previous: {label} ({previous['plan']['name']}). Each run's gains are against its own arm b.",
        "",
        "| | previous | this run |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {_num(before[k])} | {_num(now[k])} |" for k in now]
    lines += [
        "",
        "| Arm | previous: seeds | mean recall | vs b [95 % CI] | this run: seeds | mean recall | vs b [95 % CI] |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    old_arms, new_arms = previous["bench"]["summary"]["arms"], current["bench"]["summary"]["arms"]
    for arm in current["bench"]["summary"]["arm_order"]:
        cells = []
        for arms in (old_arms, new_arms):
            info = arms.get(arm)
            cells += (
                ["—", "—", "—"]
                if info is None
                else [str(len(info["seeds"])), f"{info['metrics']['mean_recall']['mean']:.3f}", _cell(_gain(info, "b"))]
            )
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return lines + [""]


def _markdown(
    out: Path,
    command: str,
    plan: DemoPlan,
    bench: dict[str, Any],
    evaluation: dict[str, Any],
    retention: dict[str, Any],
    decision: dict[str, Any],
    timings: dict[str, float],
    comparison: list[str] | None = None,
) -> str:
    summary, meta = bench["summary"], bench["meta"]
    arms = summary["arms"]
    lines = [
        "# Evidence on real HAM10000: do LF-VAR's synthetic images help a classifier?",
        "",
        f"Produced by `{command}` on {meta.get('device_name')} ({platform.python_version()}, "
        f"{describe_hardware()}). Plan: {plan.name}. Scored on **real test images only** "
        f"({meta['test_images']} images, lesion-grouped split); {selection_rule(bench.get('runs', []))}.",
        "",
        "## Verdict",
        "",
    ]
    if decision["beat_b_with_ci_above_0"]:
        lines.append(
            f"Arms whose mean recall beats arm b with both 95 % CIs (test images, seeds) above 0: "
            f"{', '.join(decision['beat_b_with_ci_above_0'])}."
        )
    else:
        lines.append(
            "**No synthetic arm beats arm b (real + weighted sampler) with its 95 % CIs (test images, seeds) above 0.**"
        )
    lines.append(
        "Arms that beat their copies control with both CIs above 0: "
        f"{', '.join(decision['beat_copies_control_with_ci_above_0']) or 'none'}."
    )
    if decision["limiting_factors"]:
        lines += ["", "What limits it, measured:", ""] + [f"- {f}" for f in decision["limiting_factors"]]
    lines += [
        "",
        "## Arms",
        "",
        "| Arm | Training data | Seeds | Mean recall (mean ± std) | vs b [95 % CIs] "
        "| vs its copies control [95 % CIs] |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for arm in summary["arm_order"]:
        info, recall = arms[arm], arms[arm]["metrics"]["mean_recall"]
        std = "" if math.isnan(recall["std"]) else f" ± {recall['std']:.3f}"
        lines.append(
            f"| {arm} | {info['arm_name']} | {len(info['seeds'])} | {recall['mean']:.3f}{std} | "
            f"{_cell(_gain(info, 'b'))} | {_cell(_gain(info, control_of(arm)))} |"
        )
    finished = [(a, str(unfinished_of(a))) for a in summary["arm_order"] if _gain(arms[a], unfinished_of(a))]
    if finished:
        lines += ["", "Ending on real images (the -finish arms against the same arm without the finish):", ""]
        lines += [f"- {a} vs {base}: {_cell(_gain(arms[a], base))}" for a, base in finished]
    if meta.get("not_run"):
        lines += ["", f"Not run (time budget spent; a rerun adds them): {', '.join(meta['not_run'])}."]
    lines += [
        "",
        "Gains are means over the seeds both arms share, with two 95 % intervals: [a paired bootstrap over the "
        "test images]; [a Student-t interval of the per-seed differences, which covers the training variance "
        "between seeds; absent with one seed]. An arm counts as beating another only when both lie above 0.",
    ]
    lines += [
        "",
        "Per-class recall deltas against b:",
        "",
        "| Arm | " + " | ".join(CLASSES) + " |",
        "|---|" + "---:|" * len(CLASSES),
    ]
    for arm in summary["arm_order"]:
        delta = arms[arm].get("per_class_recall_delta_vs_b")
        if delta:
            lines.append(f"| {arm} | " + " | ".join(f"{delta[c]:+.3f}" for c in CLASSES) + " |")
    lines += [
        "",
        "Synthetic shares of each arm's draws, the image path, the real-vs-synthetic AUROC and the "
        "selection's acceptance are in [bench-classifier.md](bench-classifier.md).",
        "",
        "## The generator",
        "",
        f"- Tokenizer retention: a real-trained classifier (arm b, seed 0) has mean recall "
        f"{retention['real_mean_recall']:.3f} on the real test images and {retention['reconstructed_mean_recall']:.3f} "
        f"on their tokenizer reconstructions ({retention['psnr_db']:.1f} dB PSNR): retention "
        f"**{retention['retention']:.0%}** (target ≥ {RETENTION_TARGET:.0%}). Path: {retention['path']}.",
        f"- Conditioning recall (real-trained classifier on generated images): "
        f"{evaluation['conditioning']['mean_recall']:.3f} (chance {1 / len(CLASSES):.3f}; the same classifier's "
        f"recall on real test images: {retention['real_mean_recall']:.3f}).",
        f"- {evaluation['extractor']['label']}: FID over all classes {_num(evaluation['overall']['fid'], '.1f')}; per "
        "class " + ", ".join(f"{c} {_num(evaluation['per_class'][c]['fid'], '.1f')}" for c in CLASSES) + ".",
        "- Real-vs-synthetic AUROC (shortcut risk): "
        + ", ".join(
            f"{k} {v['auroc']:.3f}"
            for k, v in (meta.get("shortcut") or {}).items()
            if isinstance(v.get("auroc"), float)
        )
        + ".",
        "",
        "| class | recall on real test | on reconstructions | retention |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {c} | {_num(v['real'])} | {_num(v['reconstructed'])} | {_num(v['retention'], '.2f')} |"
        for c, v in retention["per_class"].items()
    ]
    lines += [
        "",
        "Real images beside generated ones: the work folder's evaluation/grid_real_vs_synthetic.png (not copied "
        "here: HAM10000 images stay in ../shared).",
        "",
        "Generated images per class: the work folder's synthetic/grid.png (not copied here: intra-mode images "
        "keep the surroundings of real HAM10000 train images).",
        "",
    ]
    lines += comparison or []
    lines += [
        "## Further measurements on HAM10000",
        "",
        "Made by their own scripts (commands in [COMMANDS.md](COMMANDS.md); each names the generator or work "
        "folder it was measured on, which may be an earlier run's), where present: "
        + (", ".join(f"[{name}]({name}.md)" for name in FURTHER if (out / f"{name}.md").is_file()) or "none yet")
        + ".",
        "",
        "## Step times",
        "",
        "| step | minutes |",
        "|---|---:|",
    ] + [f"| {k} | {v / 60:.1f} |" for k, v in timings.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "HAM10000")
    parser.add_argument("--format", default="ham10000")
    parser.add_argument("--work", type=Path, default=Path("/tmp/skinaug-evidence"))
    parser.add_argument("--results", type=Path, default=HERE / "results" / "evidence_ham10000")
    parser.add_argument("--generator", default=str(GENERATOR))
    parser.add_argument("--tokenizer-steps", type=int, default=1500)
    parser.add_argument("--transformer-steps", type=int, default=3000)
    parser.add_argument("--per-class", type=int, default=500)
    parser.add_argument("--mode", default="intra", choices=["intra", "inter", "free"])
    parser.add_argument("--cfg", type=float, default=3.0)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument(
        "--select-epoch",
        default="val",
        choices=EPOCH_SELECTIONS,
        help="the epoch each classifier run keeps: the best real-val mean recall, or the last (a fixed schedule)",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--arms", default=ARMS)
    parser.add_argument("--shortcut-steps", type=int, default=200)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument(
        "--bench-time-budget",
        type=float,
        default=None,
        metavar="MIN",
        help="start no new classifier run after MIN minutes (seed 0 of every arm runs first); rerun to add the rest",
    )
    parser.add_argument(
        "--perceptual-weights",
        default=None,
        metavar="FILE|FOLDER|pretrained",
        help="the tokenizer's perceptual network (train-generator --perceptual-weights), e.g. the folder of a "
        "classifier trained on the real train split that is not the retention judge (tokenizer_losses.md)",
    )
    parser.add_argument(
        "--previous",
        type=Path,
        default=None,
        metavar="RESULTS_JSON",
        help="an earlier run's results.json: the report shows its numbers beside this run's",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script end to end in minutes")
    args = parser.parse_args()
    if args.previous is not None and not args.previous.is_file():
        parser.error(f"{args.previous}: no such file (--previous takes an earlier run's results.json)")
    if args.smoke:
        args.tokenizer_steps, args.transformer_steps, args.per_class = 4, 4, 6
        # 3 epochs: the -finish2 arms need more epochs than they finish with
        args.epochs, args.seeds, args.shortcut_steps, args.bootstrap, args.image_size = 3, 1, 3, 10, 32
    command = "python benchmarks/evidence_ham10000.py " + shlex.join(sys.argv[1:])
    plan = _plan(args)
    result = run_demo(args.work, data=args.data, fmt=args.format, plan=plan)
    bench, evaluation = result.bench.as_dict(), result.evaluation.metrics
    retention = reconstruction_retention(
        args.work / "generator", args.work / "work", args.work / "bench-classifier" / "runs" / "b_seed0"
    )
    b_training = training_length(args.work / "bench-classifier" / "runs")
    decision = verdict(bench["summary"], retention, evaluation, bench["meta"].get("shortcut") or {}, b_training)
    out = args.results
    out.mkdir(parents=True, exist_ok=True)
    for source, name in (
        (args.work / "bench-classifier" / "report.md", "bench-classifier.md"),
        (args.work / "bench-classifier" / "per_class_recall.png", "per_class_recall.png"),
        (args.work / "generator_curves.png", "generator_curves.png"),
    ):
        if source.is_file():
            shutil.copy2(source, out / name)
    results = {
        "command": command,
        "plan": vars(plan),
        "verdict": decision,
        "retention": retention,
        "bench": {"meta": bench["meta"], "summary": bench["summary"]},
        "evaluation": {k: evaluation[k] for k in ("extractor", "overall", "per_class", "conditioning", "cas")},
        "timings_s": result.timings,
        "b_training_length": b_training,
    }
    comparison = None
    if args.previous is not None:
        comparison = compare_runs(read_json(args.previous), results, f"`{args.previous}`")
    write_json(out / "results.json", results)
    write_text(
        out / "report.md",
        _markdown(out, command, plan, bench, evaluation, retention, decision, result.timings, comparison),
    )
    print(f"evidence: {'; '.join(decision['limiting_factors']) or 'see report'} -> {out / 'report.md'}")


if __name__ == "__main__":
    main()
