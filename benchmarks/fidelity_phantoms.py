"""Do the fidelity metrics rank synthetic sets correctly? Real phantoms against: train copies (near-real),
the LF-VAR generator trained by generator_phantoms.py, and two deliberately wrong sets (the same images with
every label moved to the next class).

    python benchmarks/fidelity_phantoms.py [--work /tmp/skinaug-bench-gen2] [--per-class 60] [--mode free]

Needs WORK/work (prepared + measured phantoms) and WORK/generator from benchmarks/generator_phantoms.py.
Writes benchmarks/results/fidelity_phantoms.md and fidelity_phantoms_*.png (from the LF-VAR set's evaluation).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from skinaug.atomic import write_csv, write_text
from skinaug.evaluation import EvaluateConfig, evaluate
from skinaug.generators.augment import AugmentConfig, augment
from skinaug.generators.var import SamplingConfig
from skinaug.labels import CLASSES
from skinaug.synthetic import write_copy_set

HERE = Path(__file__).resolve().parent


def shuffled_labels(source: Path, out: Path) -> Path:
    """A copy of a synthetic set whose every label is the NEXT class (akiec -> bcc, ..., vasc -> akiec)."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out)
    manifest = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    manifest["label"] = [CLASSES[(CLASSES.index(c) + 1) % len(CLASSES)] for c in manifest["label"]]
    write_csv(out / "manifest.csv", manifest)
    return out


def mean_finite(values: list[float | None]) -> float:
    finite = [v for v in values if v is not None]
    return float(np.mean(finite)) if finite else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/skinaug-bench-gen2"))
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--mode", default="free", choices=["intra", "inter", "free"])
    parser.add_argument("--cfg", type=float, default=3.0)
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()
    work, sets_dir = args.work / "work", args.work / "fidelity-sets"
    start = time.perf_counter()
    write_copy_set(work, sets_dir / "copies", args.per_class)
    augment(
        work,
        args.work / "generator",
        sets_dir / "lf-var",
        AugmentConfig(per_class=args.per_class, mode=args.mode, sampling=SamplingConfig(cfg=args.cfg)),
    )
    sets = {
        "train copies (near-real)": sets_dir / "copies",
        f"LF-VAR tiny ({args.mode})": sets_dir / "lf-var",
        "LF-VAR, labels shifted (wrong)": shuffled_labels(sets_dir / "lf-var", sets_dir / "lf-var-shifted"),
        "copies, labels shifted (wrong)": shuffled_labels(sets_dir / "copies", sets_dir / "copies-shifted"),
    }
    results, judge = {}, None
    for name, folder in sets.items():
        out = args.work / "fidelity" / folder.name
        config = EvaluateConfig(classifier=judge, bootstrap=args.bootstrap)
        results[name] = evaluate(work, folder, out, config).metrics
        judge = judge or str(out / "judge-real")  # one real-trained judge for every set
        if folder.name == "lf-var":
            for picture in ("interclass", "embedding", "grid_real_vs_synthetic"):
                shutil.copyfile(out / f"{picture}.png", HERE / "results" / f"fidelity_phantoms_{picture}.png")
    minutes = (time.perf_counter() - start) / 60
    write_text(HERE / "results" / "fidelity_phantoms.md", report(results, args, minutes))
    print((HERE / "results" / "fidelity_phantoms.md").read_text())


def report(results: dict[str, dict], args: argparse.Namespace, minutes: float) -> str:
    first = next(iter(results.values()))
    label = first["extractor"]["label"]
    rows, summary = [], {}
    for name, m in results.items():
        per_class_fid = mean_finite([m["per_class"][c]["fid"] for c in CLASSES])
        cas = m["cas"]["trained_on_synthetic"]["mean_recall"] if m["cas"] else float("nan")
        wins = m["interclass_diagonal_wins"]
        summary[name] = (per_class_fid, m["conditioning"]["mean_recall"], wins["wins"], cas)
        o = m["overall"]
        rows.append(
            f"| {name} | {o['fid']:.2f} [{o['fid_ci'][0]:.2f}, {o['fid_ci'][1]:.2f}] | {per_class_fid:.2f} | "
            f"{o['kid'] * 1000:.2f} | {o['precision']:.3f} | {o['recall']:.3f} | {wins['wins']}/{wins['rows']} | "
            f"{m['conditioning']['mean_recall']:.3f} | {cas:.3f} |"
        )
    names = list(results)
    good, gen, wrong_gen, wrong_copy = names
    checks = [
        (
            "mean per-class FID: copies < LF-VAR < LF-VAR shifted",
            summary[good][0] < summary[gen][0] < summary[wrong_gen][0],
        ),
        ("mean per-class FID: copies < copies shifted", summary[good][0] < summary[wrong_copy][0]),
        ("conditioning recall: LF-VAR > LF-VAR shifted", summary[gen][1] > summary[wrong_gen][1]),
        ("diagonal wins: LF-VAR > LF-VAR shifted", summary[gen][2] > summary[wrong_gen][2]),
        (
            "CAS: copies > LF-VAR shifted and LF-VAR > LF-VAR shifted",
            summary[good][3] > summary[wrong_gen][3] and summary[gen][3] > summary[wrong_gen][3],
        ),
    ]
    counts = first["counts"]["real"]
    lines = [
        "# Do the fidelity metrics rank synthetic sets correctly? (phantoms, CPU)",
        "",
        f"Real reference: the phantom test split ({sum(counts.values())} images: "
        + ", ".join(f"{c} {n}" for c, n in counts.items())
        + "). "
        f"Four synthetic sets of {args.per_class} images per class, all made from the train split: train copies "
        f"(flips/rotations, near-real), the LF-VAR `tiny` generator of generator_phantoms.md ({args.mode} mode, "
        f"CFG {args.cfg}), and two wrong sets: the same LF-VAR and copy images with every label moved to the next "
        "class. No Inception weights exist on this machine, so every distance is on **domain features** (a "
        "ResNet-18 trained on the real train split, the same one for every set). "
        f"Whole benchmark {minutes:.1f} min on the 2-core CPU machine.",
        "",
        f"| set | FID ({label}) [95 % CI] | mean per-class FID | KID×1000 | precision | recall | "
        "rows nearest own class | conditioning recall (real-trained judge) | CAS mean recall (train synthetic, "
        "test real) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Overall FID/KID/precision/recall ignore labels, so a label-shifted set scores the same there as its "
        "source; the per-class metrics, the inter-class matrix, the conditioning recall and the CAS are the "
        "ones that must expose it. The overall FID is not a quality ranking either: every synthetic set here is "
        "class-balanced while the reference split is two-thirds nv, so their class mixes differ; per-class FID "
        "compares like with like. Recall (real images inside the synthetic manifold) shows the generator's "
        "missing diversity.",
        "",
        "## Ranking checks",
        "",
        "| expected | holds |",
        "|---|---|",
    ]
    lines += [f"| {text} | {'yes' if ok else '**no**'} |" for text, ok in checks]
    lines += [
        "",
        "## LF-VAR set: pictures",
        "",
        "![inter-class](fidelity_phantoms_interclass.png)",
        "",
        "![embedding](fidelity_phantoms_embedding.png)",
        "",
        "![grid](fidelity_phantoms_grid_real_vs_synthetic.png)",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
