"""Does anything beat plain training on HAM10000? Arms a, b, d (and c with --synthetic) over 3 seeds.

    python benchmarks/classifier_ham10000.py                       # CPU: resnet18 at 64 px
    python benchmarks/classifier_ham10000.py --gpu                 # one GPU: resnet50 at 224 px, all arms

Prepares ../shared/data/HAM10000 (lesion-grouped 70/10/20 split), runs `bench_classifier`, and copies
report.md, results.json and the PNGs to benchmarks/results/classifier_ham10000[_gpu]/. Interrupted runs
resume (finished runs are kept in --work).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from skinaug.classifiers.bench import BenchConfig, bench_classifier
from skinaug.classifiers.train import TrainConfig
from skinaug.manifest import MANIFEST_NAME
from skinaug.prepare import prepare_dataset

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "HAM10000")
    parser.add_argument("--work", type=Path, default=Path("/tmp/skinaug-bench-ham10000"))
    parser.add_argument("--gpu", action="store_true", help="ResNet-50 at 224 px, arms abcd (needs --synthetic for c)")
    parser.add_argument("--synthetic", type=Path, default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()

    if args.gpu:
        train = TrainConfig(arch="resnet50", image_size=224, epochs=args.epochs or 30, batch_size=64, patience=6)
        arms, name = "abcd", "classifier_ham10000_gpu"
    else:
        train = TrainConfig(arch="resnet18", image_size=64, epochs=args.epochs or 10, batch_size=64, patience=4)
        arms, name = "abd" + ("c" if args.synthetic else ""), "classifier_ham10000"
    workdir = args.work / "work"
    if not (workdir / MANIFEST_NAME).exists():
        prepare_dataset("ham10000", args.data, workdir)
    config = BenchConfig(
        train=train, seeds=args.seeds, arms=arms, synthetic=str(args.synthetic) if args.synthetic else None
    )
    out = args.work / name
    bench_classifier(workdir, out, config)
    results = HERE / "results" / name
    results.mkdir(parents=True, exist_ok=True)
    for path in sorted(out.glob("*.md")) + sorted(out.glob("*.json")) + sorted(out.glob("*.png")):
        shutil.copy2(path, results / path.name)
    print(f"results in {results}")


if __name__ == "__main__":
    main()
