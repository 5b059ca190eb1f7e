"""What marks a generated image? The shortcut judge again, with one cue taken away from every image at a time.

    python benchmarks/shortcut_probe.py WORKDIR --set synthetic=SYN [--set copies=COPIES ...] [--size 64]
        [--steps 150] [--probes none,median3,blur,down2,gray,colour] [--seeds 1] [--out DIR]

The judge is `skinaug.classifiers.shortcut.real_vs_extra_auroc` (a small CNN trained to tell real train images
from a set's images, class-matched, held out by source image; AUROC on held-out images), exactly as the
evidence report's "shortcut risk" number. Here every image, real and extra alike, first goes through a probe
that removes one kind of cue, then through the usual path (training augmentations, normalisation):

- none: nothing removed (the report's number);
- median3: a 3 x 3 median filter (isolated specks of one or two pixels);
- blur: a Gaussian blur, sigma 1 px (fine texture and every high frequency);
- down2: down to half the size and back up (everything finer than 2 px);
- gray: luminance only (colour);
- colour: every channel of every image set to one mean and spread (colour cast, brightness and contrast).

If the AUROC falls from ~0.94 to near 0.5 under one probe, that cue is the mark; if it stays high under all,
the mark is in the shapes (lesion form, layout) rather than in pixels' colours or fine texture. Every probe
trains its own judge with the same seed, images and steps, so the AUROCs are side by side. Writes
OUT/shortcut_probe.md and .json (default OUT: benchmarks/results).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from skinaug.atomic import write_json, write_text
from skinaug.classifiers.shortcut import ShortcutConfig, real_vs_extra_auroc
from skinaug.data import eval_transform, real_dataset, synthetic_dataset, train_transform
from skinaug.errors import SkinaugError
from skinaug.evaluation.retention import median3
from skinaug.machine import describe_hardware

HERE = Path(__file__).resolve().parent
COLOUR_MEAN, COLOUR_SD = 128.0, 48.0  # the "colour" probe's per-channel target statistics (uint8 scale)


def _blur(image: torch.Tensor) -> torch.Tensor:
    return v2.functional.gaussian_blur(image, kernel_size=[5, 5], sigma=[1.0, 1.0])


def _down2(image: torch.Tensor) -> torch.Tensor:
    size = image.shape[-2:]
    small = F.interpolate(image[None].float(), scale_factor=0.5, mode="area")
    return F.interpolate(small, size=size, mode="bilinear", align_corners=False)[0].round().clamp(0, 255).byte()


def _gray(image: torch.Tensor) -> torch.Tensor:
    return v2.functional.rgb_to_grayscale(image, num_output_channels=3)


def _colour(image: torch.Tensor) -> torch.Tensor:
    x = image.float()
    mean, sd = x.mean(dim=(1, 2), keepdim=True), x.std(dim=(1, 2), keepdim=True).clamp_min(1.0)
    return ((x - mean) / sd * COLOUR_SD + COLOUR_MEAN).round().clamp(0, 255).byte()


PROBES: dict[str, Callable[[torch.Tensor], torch.Tensor] | None] = {
    "none": None,
    "median3": lambda image: median3(image[None])[0],
    "blur": _blur,
    "down2": _down2,
    "gray": _gray,
    "colour": _colour,
}
DESCRIBED = {
    "none": "nothing removed",
    "median3": "3 x 3 median (specks)",
    "blur": "Gaussian blur, sigma 1 px (fine texture)",
    "down2": "half size and back (detail finer than 2 px)",
    "gray": "luminance only (colour)",
    "colour": "per-image channel mean and spread equalised (cast, brightness, contrast)",
}


def with_probe(probe: str, transform: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`transform` preceded by the probe (on the uint8 C x H x W image the datasets decode)."""
    if probe not in PROBES:
        raise SkinaugError(f"probe {probe!r}: unknown; probes are {', '.join(PROBES)}")
    first = PROBES[probe]
    return transform if first is None else v2.Compose([first, transform])


def run(
    workdir: Path,
    sets: dict[str, Path],
    out: Path,
    size: int = 64,
    probes: Sequence[str] = tuple(PROBES),
    config: ShortcutConfig = ShortcutConfig(),
    seeds: Sequence[int] = (0,),
) -> dict[str, Any]:
    """Judge every set under every probe (one judge per probe, set and seed); write the table and the JSON."""
    for probe in probes:
        with_probe(probe, eval_transform())  # unknown names fail before any training
    rows: list[dict[str, Any]] = []
    for name, folder in sets.items():
        for probe in probes:
            for seed in seeds:
                train_t, eval_t = with_probe(probe, train_transform(size)), with_probe(probe, eval_transform())
                start = time.perf_counter()
                result = real_vs_extra_auroc(
                    real_dataset(workdir, "train", size, train_t),
                    real_dataset(workdir, "train", size, eval_t),
                    synthetic_dataset(folder, workdir, size, train_t),
                    synthetic_dataset(folder, workdir, size, eval_t),
                    ShortcutConfig(**{**config.__dict__, "seed": seed}),
                    device="cpu",
                )
                rows.append({"set": name, "probe": probe, "seed": seed, **result})
                print(
                    f"{name} / {probe} / seed {seed}: AUROC {result['auroc']:.3f} "
                    f"({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
                report = _report(workdir, sets, size, config, seeds, rows)
                write_json(out / "shortcut_probe.json", report)
                write_text(out / "shortcut_probe.md", markdown(report))
    return report


def _report(
    workdir: Path, sets: dict[str, Path], size: int, config: ShortcutConfig, seeds: Sequence[int], rows: list
) -> dict[str, Any]:
    return {
        "workdir": str(workdir),
        "sets": {k: str(v) for k, v in sets.items()},
        "size": size,
        "judge": {"arch": config.arch, "steps": config.steps, "batch_size": config.batch_size},
        "seeds": list(seeds),
        "threads": torch.get_num_threads(),
        "machine": describe_hardware(),
        "rows": rows,
    }


def markdown(report: dict[str, Any]) -> str:
    """One row per set and probe: AUROC per seed and their mean."""
    judge = report["judge"]
    lines = [
        "# What marks a generated image: the shortcut judge with one cue removed at a time",
        "",
        f"Judge: {judge['arch']}, {judge['steps']} steps of batch {judge['batch_size']}, {report['size']} px, real "
        f"train images of `{report['workdir']}` against each set (class-matched, held out by source image); "
        f"seeds {', '.join(map(str, report['seeds']))}. {report['machine']}, {report['threads']} torch thread(s). "
        "Every image, real and extra, goes through the probe before the usual augmentations.",
        "",
        "| set | probe | what it removes | AUROC per seed | mean AUROC |",
        "|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[float]] = {}
    for row in report["rows"]:
        groups.setdefault((row["set"], row["probe"]), []).append(row["auroc"])
    for (name, probe), values in groups.items():
        mean = sum(values) / len(values)
        lines.append(
            f"| {name} | {probe} | {DESCRIBED[probe]} | {', '.join(f'{v:.3f}' for v in values)} | {mean:.3f} |"
        )
    lines += [
        "",
        "0.5: the judge cannot tell the set from real images; 1.0: every image carries a learnable mark. A probe "
        "that brings the AUROC near 0.5 removes the mark; one that leaves it high shows the mark is elsewhere.",
        "",
    ]
    return "\n".join(lines)


def _parse_sets(values: list[str], parser: argparse.ArgumentParser) -> dict[str, Path]:
    sets: dict[str, Path] = {}
    for value in values:
        name, sep, folder = value.partition("=")
        if not sep or not name or not folder:
            parser.error(f"--set {value}: expected NAME=FOLDER, e.g. synthetic=work/synthetic")
        sets[name] = Path(folder)
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--set", action="append", default=[], required=True, help="NAME=FOLDER of an extra set")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--probes", default=",".join(PROBES))
    parser.add_argument("--seeds", type=int, default=1, help="judge seeds 0..N-1 per probe")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sets = _parse_sets(args.set, parser)
    try:
        report = run(
            args.workdir,
            sets,
            args.out,
            args.size,
            [p.strip() for p in args.probes.split(",") if p.strip()],
            ShortcutConfig(steps=args.steps),
            tuple(range(args.seeds)),
        )
    except SkinaugError as err:
        parser.exit(2, f"error: {err}\n")
    print(markdown(report))


if __name__ == "__main__":
    main()
