"""benchmarks/gpu_run_results.py: at most 8 files of at most the size limit, oversized files gzipped or left out
(named), and the exit status says whether a required step failed."""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ..conftest import load_benchmark

ROOT = Path(__file__).resolve().parents[2]


def _work(tmp_path: Path, steps: str) -> Path:
    work = tmp_path / "work"
    for folder in ("bench", "evaluation", "speed", "generator", "synthetic"):
        (work / folder).mkdir(parents=True)
    arms = {arm: {"metrics": {"mean_recall": {"mean": value}}} for arm, value in (("a", 0.5), ("topup", 0.625))}
    (work / "bench" / "results.json").write_text(json.dumps({"summary": {"arms": arms}}))
    (work / "bench" / "report.md").write_text("# bench\n")
    (work / "evaluation" / "report.md").write_text("# evaluation\n")
    (work / "evaluation" / "metrics.json").write_text(json.dumps({"overall": {}, "pad": "0" * 5000}))  # compressible
    (work / "speed" / "sample_speed_cpu.json").write_text("{}")
    (work / "speed" / "sample_speed_cpu.md").write_text("## sampling table\n")
    (work / "generator" / "config.json").write_text("{}")
    (work / "synthetic" / "manifest.csv").write_bytes(bytes(range(256)) * 20)  # 5 kB: over the limit
    (work / "steps.tsv").write_text(steps)
    (work / "log").write_text("x" * 3000)
    return work


def _run(module: Any, work: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(module, "MAX_BYTES", 2000)
    argv = ["gpu_run_results.py", "--mode", "smoke", "--machine", "M", "--work", str(work), "--out", str(out)]
    argv += ["--steps", str(work / "steps.tsv"), "--log", str(work / "log"), "--total-s", "90"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        module.main()
    return int(exit_info.value.code)


def test_results_fit_the_limits_and_name_what_was_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_benchmark("gpu_run_results")
    work = _work(tmp_path, "prepare\t0\t3\nbench-classifier\t0\t20\nsample-speed\t1\t2\n")
    out = tmp_path / "out"
    assert _run(module, work, out, monkeypatch) == 0  # only an optional step (a speed row) failed
    files = {p.name: p for p in out.iterdir()}
    assert len(files) <= 8 and all(p.stat().st_size <= 2000 for p in files.values())
    assert "evaluation_metrics.json.gz" in files and "evaluation_metrics.json" not in files  # gzipped to fit
    assert files["gpu_run.log"].read_text() == "x" * 2000  # its last bytes
    summary = files["gpu_run.md"].read_text()
    assert "| bench-classifier | 0 | 20 |" in summary and "| topup | 0.625 |" in summary
    assert "## sampling table" in summary and "synthetic/manifest.csv left out" in summary
    with tarfile.open(files["extras.tar.gz"]) as tar:
        assert set(tar.getnames()) == {"generator/config.json", "steps.tsv"}


def test_a_failed_required_step_exits_1_after_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_benchmark("gpu_run_results")
    work = _work(tmp_path, "prepare\t0\t3\ntrain-generator\t124\t170\naugment\tskipped\t0\n")
    out = tmp_path / "out"
    assert _run(module, work, out, monkeypatch) == 1
    assert "Failed or skipped: train-generator, augment" in (out / "gpu_run.md").read_text()
