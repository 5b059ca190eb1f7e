"""The result files of `benchmarks/gpu_run.sh`: at most 8 files of at most 16 MB in OUT (what the device tool
brings back), named in letters, digits, '.', '_' and '-':

    gpu_run.md              mode, machine, every step's exit status and seconds, mean recall per arm, the
                            evaluation's headline, the sample_speed and train_speed tables
    gpu_run.log             everything the steps printed (its last 16 MB)
    bench_report.md         bench-classifier's report.md
    bench_results.json      bench-classifier's results.json
    evaluation_report.md    evaluate's report.md
    evaluation_metrics.json evaluate's metrics.json
    sample_speed.json       sample_speed.py's rows (and the VAR side by side)
    extras.tar.gz           the generator's config, logs and model card, dataset.json, the synthetic set's
                            manifest and grid, the train_speed files, steps.tsv

A file over 16 MB goes gzipped (name.gz) or, still too big, is left out and named in gpu_run.md. Exits 1 when a
required step (all but the speed rows) failed or was skipped, or a required result file is missing, after writing
everything it has.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

MAX_BYTES = 16 * 1024 * 1024
OPTIONAL_STEPS = {"sample-speed", "train-speed", "install"}
COPIES = (
    ("bench/report.md", "bench_report.md"),
    ("bench/results.json", "bench_results.json"),
    ("evaluation/report.md", "evaluation_report.md"),
    ("evaluation/metrics.json", "evaluation_metrics.json"),
)
EXTRAS = (
    "generator/config.json",
    "generator/model_card.md",
    "generator/tokenizer_log.csv",
    "generator/transformer_log.csv",
    "work/dataset.json",
    "synthetic/manifest.csv",
    "synthetic/grid.png",
    "steps.tsv",
)


def read_steps(path: Path) -> list[tuple[str, str, str]]:
    """(name, exit status or 'skipped'/'missing', seconds) per step, in order."""
    if not path.is_file():
        return []
    return [tuple(line.split("\t")) for line in path.read_text().splitlines() if line.count("\t") == 2]  # type: ignore[misc]


def place(source: Path, target: Path, notes: list[str]) -> None:
    """Copy source to target, gzipped when over 16 MB; left out (noted) when still over."""
    if not source.is_file():
        notes.append(f"{target.name}: not written ({source} is missing)")
        return
    if source.stat().st_size <= MAX_BYTES:
        shutil.copyfile(source, target)
        return
    packed = target.with_name(target.name + ".gz")
    with source.open("rb") as read, gzip.open(packed, "wb") as write:
        shutil.copyfileobj(read, write)
    if packed.stat().st_size > MAX_BYTES:
        packed.unlink()
        notes.append(f"{target.name}: left out ({source.stat().st_size / 1e6:.0f} MB, over 16 MB gzipped)")


def bench_lines(results: Path) -> list[str]:
    """Mean recall on real test per arm, from bench-classifier's results.json."""
    if not results.is_file():
        return []
    arms: dict[str, Any] = json.loads(results.read_text())["summary"]["arms"]
    lines = ["## Mean recall on real test (bench-classifier, 1 seed)", "", "| arm | mean recall |", "|---|---:|"]
    for arm, entry in arms.items():
        lines.append(f"| {arm} | {entry['metrics']['mean_recall'].get('mean', float('nan')):.3f} |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", required=True, choices=["gpu", "smoke"])
    parser.add_argument("--machine", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--total-s", type=int, required=True)
    args = parser.parse_args()
    work, out = args.work, args.out
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    for source, name in COPIES:
        place(work / source, out / name, notes)
    speed = sorted((work / "speed").glob("sample_speed_*.json"))
    if speed:
        place(speed[0], out / "sample_speed.json", notes)
    else:
        notes.append("sample_speed.json: not written (sample_speed.py wrote no rows)")
    train_speed = sorted((work / "speed").rglob("train_speed*"))
    extras = [(work / relative, relative) for relative in EXTRAS]
    extras += [(path, f"speed/{path.name}") for path in train_speed]
    room = MAX_BYTES - MAX_BYTES // 64  # uncompressed sizes: the archive stays under 16 MB whatever gzip gains
    with tarfile.open(out / "extras.tar.gz", "w:gz") as tar:
        for path, name in extras:
            if not path.is_file():
                continue
            if path.stat().st_size > room:
                notes.append(f"extras.tar.gz: {name} left out ({path.stat().st_size / 1e6:.0f} MB)")
                continue
            room -= path.stat().st_size + 1024
            tar.add(path, arcname=name)

    steps = read_steps(args.steps)
    failed = [name for name, status, _ in steps if status != "0" and name not in OPTIONAL_STEPS]
    failed += [name for source, name in COPIES if not (work / source).is_file()]  # a required result is missing
    lines = [
        f"# gpu_run.sh ({args.mode})",
        "",
        f"Machine: {args.machine}. Whole run: {args.total_s / 60:.1f} min.",
        "",
        "| step | exit | seconds |",
        "|---|---:|---:|",
        *(f"| {name} | {status} | {seconds} |" for name, status, seconds in steps),
        "",
    ]
    if failed:
        lines += [f"Failed or skipped: {', '.join(failed)} (see gpu_run.log).", ""]
    lines += bench_lines(work / "bench" / "results.json")
    for table in [*sorted((work / "speed").glob("sample_speed_*.md")), *[p for p in train_speed if p.suffix == ".md"]]:
        lines += [table.read_text(), ""]
    if notes:
        lines += ["## Files", "", *(f"- {note}" for note in notes), ""]
    (out / "gpu_run.md").write_text("\n".join(lines) + "\n")
    log = args.log.read_bytes() if args.log.is_file() else b""
    (out / "gpu_run.log").write_bytes(log[-MAX_BYTES:])
    print(
        f"gpu_run: {len(list(out.iterdir()))} result files in {out}"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
