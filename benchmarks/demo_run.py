"""Run `skinaug demo` on the embedded phantoms (the README's main command) and keep its report.

    python benchmarks/demo_run.py [--out /tmp/skinaug-demo]

Copies report.md, report.html and every picture they show into benchmarks/results/demo/ (same relative
paths), so the README can show the demo's pictures (report.html embeds them itself). The report states the
total time and the hardware.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

from skinaug.demo import choose_plan, run_demo

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/skinaug-demo"))
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)  # a fresh run, so the time is the whole pipeline's
    result = run_demo(args.out, plan=choose_plan(real_data=False))
    target = HERE / "results" / "demo"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    markdown = (args.out / "report.md").read_text(encoding="utf-8")  # report.html embeds its pictures
    for picture in sorted(set(re.findall(r"!\[[^]]*\]\(([^)]+)\)", markdown))):
        (target / picture).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.out / picture, target / picture)
    for name in ("report.md", "report.html"):
        shutil.copyfile(args.out / name, target / name)
    print(f"demo: {sum(result.timings.values()) / 60:.1f} min -> {target}")


if __name__ == "__main__":
    main()
