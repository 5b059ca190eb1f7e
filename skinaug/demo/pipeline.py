"""`skinaug demo`: prepare -> measure -> train-generator -> augment -> bench-classifier -> evaluate -> one report.

Every step resumes: a re-run after an interruption skips finished steps and continues unfinished ones.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..classifiers.arms import parse_arms
from ..classifiers.bench import BenchConfig, bench_classifier
from ..classifiers.shortcut import ShortcutConfig
from ..classifiers.report import BenchResult
from ..classifiers.train import TrainConfig
from ..evaluation import EvaluateConfig, EvaluationResult, evaluate
from ..evaluation.judges import JudgeSettings, judge_train
from ..generators.augment import AugmentConfig, augment
from ..generators.config import load_config
from ..generators.curves import plot_generator_curves
from ..generators.training import TrainOptions, train_generator
from ..generators.var import SamplingConfig
from ..machine import select_device
from ..manifest import MANIFEST_NAME
from ..measurements import measure_workdir
from ..phantoms import PhantomConfig, make_phantoms
from ..prepare import prepare_dataset
from .plans import DemoPlan, choose_plan
from .sections import write_demo_report


@dataclass
class DemoResult:
    """What one demo run did: the plan, seconds per step, the benchmark's and the evaluation's results."""

    plan: DemoPlan
    timings: dict[str, float]
    bench: BenchResult
    evaluation: EvaluationResult
    out: Path

    @property
    def notices(self) -> list[str]:
        """The benchmark's and the evaluation's notices for the user."""
        return self.bench.notices + self.evaluation.notices

    def summary_line(self) -> str:
        """'demo: 5.8 min; mean recall on real test a 0.512, ...; conditioning recall 0.345 -> OUT/report.html'."""
        parts = ", ".join(f"{arm} {self.bench.mean_recall(arm)['mean']:.3f}" for arm in self.bench.summary["arms"])
        return (
            f"demo: {sum(self.timings.values()) / 60:.1f} min; mean recall on real test {parts}; "
            f"conditioning recall {self.evaluation.conditioning_recall:.3f} -> {self.out / 'report.html'}"
        )


def _phantoms(out: Path, count: int) -> Path:
    root = out / "phantoms"
    if not (root / "HAM10000_metadata.csv").is_file():
        make_phantoms(root, PhantomConfig(n=count, seed=0))
    return root


def run_demo(
    out: str | os.PathLike[str],
    data: str | os.PathLike[str] | None = None,
    fmt: str = "ham10000",
    plan: DemoPlan | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> DemoResult:
    """Run (or resume) the whole pipeline into OUT and write OUT/report.html and OUT/report.md.

    `log` receives one line as each step starts (the CLI writes them to stderr).
    """
    out = Path(out)
    plan = plan or choose_plan(real_data=data is not None)
    work, gen_dir, syn, bench_dir, eval_dir = (
        out / "work",
        out / "generator",
        out / "synthetic",
        out / "bench-classifier",
        out / "evaluation",
    )
    timings: dict[str, float] = {}
    log(f"skinaug demo: {plan.name}; hardware: {plan.hardware}")

    def step(name: str, action: Callable[[], Any]) -> Any:
        log(f"[{len(timings) + 1}/6] {name}")
        start = time.perf_counter()
        result = action()
        timings[name] = time.perf_counter() - start
        return result

    def prepare() -> None:
        root = Path(data) if data is not None else _phantoms(out, plan.phantoms)
        if not (work / MANIFEST_NAME).is_file():
            prepare_dataset(fmt if data is not None else "ham10000", root, work)

    step("prepare" + (" (phantoms)" if data is None else f" ({fmt}: {data})"), prepare)
    step("measure", lambda: measure_workdir(work))
    config = load_config(plan.generator).with_overrides(
        tokenizer_steps=plan.tokenizer_steps, transformer_steps=plan.transformer_steps
    )
    config.tokenizer.adversarial_start = min(config.tokenizer.adversarial_start, config.tokenizer_optim.steps // 2)
    step(
        f"train-generator ({plan.generator}, {config.tokenizer_optim.steps} tokenizer + "
        f"{config.transformer_optim.steps} transformer steps)",
        lambda: train_generator(
            work,
            gen_dir,
            config,
            TrainOptions(
                resume=(gen_dir / "config.json").exists(),
                device=plan.device,
                perceptual_weights=plan.perceptual_weights,
            ),
        ),
    )
    step(
        f"augment ({plan.per_class} per class, {plan.mode})",
        lambda: augment(
            work,
            gen_dir,
            syn,
            AugmentConfig(
                per_class=plan.per_class,
                mode=plan.mode,
                sampling=SamplingConfig(cfg=plan.cfg),
                device=select_device(plan.device).type,
            ),
        ),
    )
    train = TrainConfig(
        arch=plan.classifier_arch,
        image_size=plan.classifier_size,
        epochs=plan.epochs,
        select=plan.select_epoch,
        device=plan.device,
    )
    bench = step(
        f"bench-classifier ({plan.classifier_arch} {plan.classifier_size} px, arms {plan.arms}, {plan.seeds} seed(s))",
        lambda: bench_classifier(
            work,
            bench_dir,
            BenchConfig(
                train=train,
                seeds=plan.seeds,
                arms=plan.arms,
                synthetic=str(syn),
                save_models=True,
                synthetic_shares=plan.synthetic_shares,
                top_up_to=plan.top_up_to,
                shortcut=ShortcutConfig(steps=plan.shortcut_steps) if plan.shortcut_steps else None,
                time_budget=plan.bench_time_budget,
            ),
        ),
    )
    # the judge for domain features and conditioning: arm b (class-balanced sampler) if it ran, else arm a
    judge_run = bench_dir / "runs" / ("b_seed0" if "b" in [a.name for a in parse_arms(plan.arms)] else "a_seed0")
    judge = JudgeSettings(
        judge_train(
            arch=plan.classifier_arch, image_size=plan.classifier_size, epochs=plan.judge_epochs, device=plan.device
        ),
        min_steps=plan.judge_min_steps,
    )
    metrics = step(
        "evaluate",
        lambda: evaluate(
            work,
            syn,
            eval_dir,
            EvaluateConfig(classifier=str(judge_run), judge=judge, bootstrap=plan.bootstrap, device=plan.device),
        ),
    )
    plot_generator_curves(gen_dir, out / "generator_curves.png")
    write_demo_report(out, plan, timings, bench.as_dict(), metrics.metrics)
    return DemoResult(plan, timings, bench, metrics, out)
