"""Conditioning against diversity for a few classifier-free-guidance scales, per class, in one table.

    python benchmarks/guidance_diversity.py GENERATOR WORKDIR --classifier BENCH_OUT/runs/b_seed0 \
        --cfg 1,2,4 --schedule linear,constant --per-class 32 --mode free --out /tmp/guidance

For each scale and schedule (`SamplingConfig.cfg_schedule`: "linear" ramps the strength up over the scales
as VAR does, "constant" guides every scale with the full strength): `augment` (free or inter-class images;
measurement vectors drawn from the class's train images) and `evaluate` with the given real-trained
classifier as judge: conditioning recall (the judge recognises the requested class), diversity (mean pairwise
distance of the images in the evaluation's feature space, beside the same for real images of the class) and
fidelity recall (share of the real images' feature manifold the synthetic set covers).
Writes OUT/guidance_diversity.md and .json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from skinaug.atomic import write_json, write_text
from skinaug.evaluation import EvaluateConfig, evaluate
from skinaug.generators.augment import MEASUREMENT_SOURCES, AugmentConfig, augment
from skinaug.generators.var import SamplingConfig
from skinaug.labels import CLASSES


def _fmt(value: float | None, spec: str) -> str:
    """A number, or '—' where the evaluation has none (e.g. fidelity recall of a class with too few images)."""
    return "—" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generator", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--classifier", type=Path, required=True, help="a saved real-trained classifier (judge)")
    parser.add_argument("--cfg", default="1,2,4")
    parser.add_argument("--schedule", default="linear", help="comma list of cfg schedules: linear, constant")
    parser.add_argument("--per-class", type=int, default=32)
    parser.add_argument("--mode", default="free", choices=["free", "inter"])
    parser.add_argument(
        "--measurements-from", default="train", choices=list(MEASUREMENT_SOURCES), help="see `skinaug augment`"
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/skinaug-guidance"))
    args = parser.parse_args()
    settings = [(float(v), s) for s in args.schedule.split(",") for v in args.cfg.split(",")]
    rows = {}
    for cfg, schedule in settings:
        key = f"{cfg:g}" if schedule == "linear" else f"{cfg:g} {schedule}"  # the table's column: "3", "3 constant"
        name = "cfg" + key.replace(" ", "-")  # its folders: cfg3, cfg3-constant
        syn = args.out / f"{args.mode}-{name}"
        sampling = SamplingConfig(cfg=cfg, cfg_schedule=schedule)
        augment(
            args.workdir,
            args.generator,
            syn,
            AugmentConfig(
                per_class=args.per_class, mode=args.mode, sampling=sampling, measurement_source=args.measurements_from
            ),
        )
        metrics = evaluate(
            args.workdir,
            syn,
            args.out / f"evaluation-{name}",
            EvaluateConfig(classifier=str(args.classifier), cas=False, bootstrap=0),
        ).metrics
        rows[key] = {
            c: {
                "conditioning_recall": metrics["conditioning"]["per_class"][c],
                "diversity_synthetic": metrics["per_class"][c]["diversity_synthetic"],
                "diversity_real": metrics["per_class"][c]["diversity_real"],
                "fidelity_recall": metrics["per_class"][c]["recall"],
            }
            for c in CLASSES
        }
        rows[key]["all"] = {
            "conditioning_recall": metrics["conditioning"]["mean_recall"],
            "diversity_synthetic": metrics["overall"]["diversity_synthetic"],
            "diversity_real": metrics["overall"]["diversity_real"],
            "fidelity_recall": metrics["overall"]["recall"],
            "features": metrics["extractor"]["label"],
        }
    lines = [
        f"# Guidance scale: conditioning against diversity ({args.mode} images, {args.per_class} per class, "
        f"measurements from {args.measurements_from})",
        "",
        f"Judge: {args.classifier}. Features: {next(iter(rows.values()))['all']['features']}. Each cell: conditioning "
        "recall / diversity of the synthetic images (real images of the class) / fidelity recall.",
        "",
        "| class | " + " | ".join(f"CFG {k}" for k in rows) + " |",
        "|---|" + "---:|" * len(rows),
    ]
    for c in (*CLASSES, "all"):
        cells = [
            f"{_fmt(v[c]['conditioning_recall'], '.2f')} / {_fmt(v[c]['diversity_synthetic'], '.1f')} "
            f"({_fmt(v[c]['diversity_real'], '.1f')}) / {_fmt(v[c]['fidelity_recall'], '.2f')}"
            for v in rows.values()
        ]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(
        args.out / "guidance_diversity.json",
        {"mode": args.mode, "per_class": args.per_class, "measurements_from": args.measurements_from, "rows": rows},
    )
    write_text(args.out / "guidance_diversity.md", "\n".join(lines) + "\n")
    print(f"-> {args.out / 'guidance_diversity.md'}")


if __name__ == "__main__":
    main()
