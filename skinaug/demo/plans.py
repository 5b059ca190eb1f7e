"""How big each step of the demo is: fixed for the embedded phantoms (<= 10 min on 2 CPU cores), chosen for the
hardware found on real data."""

from __future__ import annotations

from dataclasses import dataclass

from ..classifiers.train import select_device
from ..machine import describe_hardware


@dataclass
class DemoPlan:
    """Sizes of every step; `name` says which plan and why (printed and written in the report)."""

    name: str
    hardware: str
    phantoms: int = 700
    generator: str = "tiny"  # a named config or a GeneratorConfig JSON file
    tokenizer_steps: int | None = 400  # None: the generator config's own number of steps. 400, not 150: at 150 the
    # tokenizer (19 dB) cannot draw the phantoms' classes (conditioning recall 0.17, chance 0.14; 400: 25.6 dB, 0.37)
    transformer_steps: int | None = 200
    per_class: int = 30
    mode: str = "intra"
    cfg: float = 3.0
    classifier_arch: str = "resnet18"
    classifier_size: int = 64
    epochs: int = 6
    select_epoch: str = "val"  # the epoch each classifier run keeps: "val" (best real-val recall) or "last"
    seeds: int = 1
    arms: str = "a,b,c,c-copies,topup,topup-copies"  # see skinaug.classifiers.arms
    synthetic_shares: tuple[float, ...] = ()
    top_up_to: int = 500
    shortcut_steps: int = 100
    judge_epochs: int = 6
    judge_min_steps: int = 150  # CAS on a small synthetic set: at least this many steps
    bootstrap: int = 200
    device: str = "auto"
    bench_time_budget: float | None = None  # minutes; bench-classifier starts no new run after it (see BenchConfig)
    perceptual_weights: str | None = None  # train-generator --perceptual-weights: VGG16 file, pretrained or a
    # saved classifier's folder (generators/tokenizer/perceptual.py); None: off


def choose_plan(real_data: bool, device: str = "auto") -> DemoPlan:
    """Phantoms: a demo-sized plan on any hardware. Real data: the paper-sized plan on a GPU, a CPU-sized one
    otherwise. `device` (auto, cpu, cuda, ...) is what every step runs on."""
    found = describe_hardware()
    if not real_data:
        return DemoPlan("phantom demo (demo-sized training: minutes, not quality)", found, device=device)
    if select_device(device).type == "cuda":
        return DemoPlan(
            "real data, GPU plan (generator `small` at its configured steps, ResNet-50 224 px, "
            "3 seeds, 500 synthetic images per class)",
            found,
            generator="small",
            tokenizer_steps=None,
            transformer_steps=None,
            per_class=500,
            classifier_arch="resnet50",
            classifier_size=224,
            epochs=30,
            seeds=3,
            arms="a,b,c,d,c-copies,topup,topup-copies",
            synthetic_shares=(0.25, 0.5),
            shortcut_steps=300,
            judge_epochs=15,
            device=device,
        )
    return DemoPlan(
        "real data, CPU plan (generator `tiny` 64 px, ResNet-18 64 px, 1 seed, 100 synthetic images "
        "per class; hours, not minutes)",
        found,
        tokenizer_steps=1500,
        transformer_steps=3000,
        per_class=100,
        epochs=10,
        judge_epochs=10,
        device=device,
    )
