"""Reliability under faults: runs the tests/reliability suite and tabulates every case.

    python benchmarks/reliability.py [--out benchmarks/results/reliability.md] [-- extra pytest arguments]

The suite kills `train-generator` and `augment` with SIGKILL, starves every writing command of disk space
(a file-size limit: writes fail with EFBIG), damages generator checkpoints, and feeds `prepare`, `measure`,
`augment` and `bench-classifier` a corpus of bad inputs, each in a subprocess of the real CLI. Every test
records its category and its expected behaviour in words (pytest's record_property); this script runs
pytest once with --junitxml and writes one table row per case and the totals per category.
Exit status 0 only if every case passed.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from skinaug.atomic import write_text
from skinaug.machine import cpu_name

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CATEGORIES: tuple[str, ...] = (
    "kill train-generator",
    "kill augment",
    "full disk",
    "corrupt checkpoint",
    "bad input: prepare",
    "bad input: measure",
    "bad input: augment",
    "bad input: bench-classifier",
)


@dataclass
class CaseResult:
    """One test case of the JUnit XML: id, category, outcome, expected behaviour and run time."""

    case: str
    category: str
    outcome: str
    expected: str
    seconds: float
    message: str = ""


def run_suite(junit: Path, extra: list[str]) -> tuple[int, float, str]:
    """Run pytest on tests/reliability (one thread per process); (exit status, seconds, pytest's last line)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/reliability",
        f"--junitxml={junit}",
        "-o",
        "junit_family=legacy",
        *extra,
    ]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode not in (0, 1):  # 1 = some tests failed: still a report; anything else is a broken run
        sys.stderr.write(result.stdout[-5000:] + result.stderr[-5000:])
    return result.returncode, seconds, lines[-1] if lines else ""


def category_of(classname: str) -> str:
    """Fallback category from the test module's name (tests record their own; this is for one that did not)."""
    module = classname.rsplit(".", 1)[-1]
    return {
        "test_kill_train_generator": "kill train-generator",
        "test_kill_augment": "kill augment",
        "test_full_disk": "full disk",
        "test_corrupt_checkpoint": "corrupt checkpoint",
    }.get(module, module)


def read_cases(junit: Path) -> list[CaseResult]:
    """Every <testcase> of the JUnit XML with its recorded properties and outcome."""
    cases = []
    for element in ET.parse(junit).getroot().iter("testcase"):
        properties = {p.get("name"): p.get("value", "") for p in element.iter("property")}
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = element.find(tag)
            if found is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (found.get("message") or "").splitlines()[0][:160] if found.get("message") else ""
                break
        classname = element.get("classname", "")
        cases.append(
            CaseResult(
                f"{classname.rsplit('.', 1)[-1]}::{element.get('name')}",
                properties.get("category") or category_of(classname),
                outcome,
                properties.get("expected", ""),
                float(element.get("time", 0.0)),
                message,
            )
        )
    return cases


def escape(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(cases: list[CaseResult], seconds: float, last_line: str, status: int) -> str:
    """The report: machine, totals per category, then one row per case."""
    order = {name: i for i, name in enumerate(CATEGORIES)}
    cases = sorted(cases, key=lambda c: (order.get(c.category, len(order)), c.case))
    lines = [
        "# Reliability under faults (`tests/reliability`)",
        "",
        f"Run {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} with `python benchmarks/reliability.py` "
        f"on {cpu_name()} ({os.cpu_count()} cores), Python {platform.python_version()}, one thread per process; "
        f"the whole suite took {seconds:.0f} s wall-clock (pytest: `{last_line}`).",
        "",
        "Every case but one (the ENOSPC wording check, in process) runs the real command line "
        "(`python -m skinaug ...`) in a subprocess: SIGKILL at seeded points "
        "(train-generator, augment), a file-size limit so that writes fail with EFBIG like on a full disk, "
        "damaged generator folders, and a corpus of bad images, masks, labels, manifests and measurements. "
        "Everywhere: no traceback on stderr, an error is one `skinaug: error:` line naming the file (exit 1), "
        "and no input or earlier output is changed or lost.",
        "",
        "## Totals",
        "",
        "| Category | Cases | Passed | Failed | Time (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    by_category: dict[str, list[CaseResult]] = {}
    for case in cases:
        by_category.setdefault(case.category, []).append(case)
    for category, members in by_category.items():
        counts = Counter(c.outcome for c in members)
        lines.append(
            f"| {category} | {len(members)} | {counts['passed']} | {len(members) - counts['passed']} | "
            f"{sum(c.seconds for c in members):.1f} |"
        )
    total = Counter(c.outcome for c in cases)
    lines += [
        f"| **all** | **{len(cases)}** | **{total['passed']}** | **{len(cases) - total['passed']}** | "
        f"**{sum(c.seconds for c in cases):.1f}** |",
        "",
        "## Cases",
        "",
        "| Case (test id) | Category | Outcome | Expected behaviour | Time (s) |",
        "|---|---|---|---|---:|",
    ]
    for case in cases:
        outcome = case.outcome if case.outcome == "passed" else f"**{case.outcome}**: {escape(case.message)}"
        lines.append(
            f"| `{escape(case.case)}` | {case.category} | {outcome} | {escape(case.expected)} | {case.seconds:.1f} |"
        )
    if status not in (0, 1):
        lines += ["", f"pytest ended with status {status} (a broken run, not only failed cases)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "reliability.md")
    parser.add_argument("pytest_args", nargs="*", help="Extra pytest arguments (after --), e.g. -k prepare.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "reliability.xml"
        status, seconds, last_line = run_suite(junit, args.pytest_args)
        if not junit.exists():
            sys.exit(f"pytest wrote no JUnit XML (status {status})")
        cases = read_cases(junit)
    write_text(args.out, markdown(cases, seconds, last_line, status))
    failed = sum(c.outcome != "passed" for c in cases)
    print(f"reliability: {len(cases) - failed}/{len(cases)} cases passed in {seconds:.0f} s -> {args.out}")
    sys.exit(0 if failed == 0 and status == 0 else 1)


if __name__ == "__main__":
    main()
