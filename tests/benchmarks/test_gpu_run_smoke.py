"""benchmarks/gpu_run.sh --smoke: every step of the prepared GPU run, at tiny sizes on CPU, leaves at most 8
well-formed result files of at most 16 MB, as the device tool brings them back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARMS = ["a", "b", "c", "d", "c-copies", "topup", "topup-copies", "topup-sampler", "topup-selected", "share0.25",
        "share0.25-copies"]  # fmt: skip
REQUIRED_STEPS = ["phantoms", "prepare", "measure", "train-generator", "augment", "bench-classifier", "evaluate"]


def test_gpu_run_smoke_writes_well_formed_results(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {
        **os.environ,
        "OUT": str(out),
        "GPU_RUN_WORK": str(tmp_path / "work"),
        "GPU_RUN_DATA": str(tmp_path / "no-data"),  # smoke: phantoms, no carried VAR or measurements
        "PYTHON": sys.executable,
    }
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_run.sh"), "--smoke"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    log = (out / "gpu_run.log").read_text() if (out / "gpu_run.log").exists() else ""
    assert done.returncode == 0, done.stderr[-4000:] + log[-4000:]

    files = {p.name: p for p in out.iterdir()}
    assert set(files) == {
        "gpu_run.md",
        "gpu_run.log",
        "bench_report.md",
        "bench_results.json",
        "evaluation_report.md",
        "evaluation_metrics.json",
        "sample_speed.json",
        "extras.tar.gz",
    }
    assert all(p.is_file() and 0 < p.stat().st_size <= 16 * 1024 * 1024 for p in files.values())

    summary = files["gpu_run.md"].read_text()
    for step in REQUIRED_STEPS:
        assert f"| {step} | 0 |" in summary, step
    assert "| sample-speed | 0 |" in summary
    assert "| train-speed | 0 |" in summary  # on the prepared work directory (the GPU image has no pyradiomics)
    assert "the images of the work directory" in summary
    bench = json.loads(files["bench_results.json"].read_text())
    assert set(bench["summary"]["arms"]) == set(ARMS)  # every arm ran (the report orders them its own way)
    assert all(0.0 <= bench["summary"]["arms"][arm]["metrics"]["mean_recall"]["mean"] <= 1.0 for arm in ARMS)
    for arm in ARMS:
        assert f"| {arm} |" in summary
    metrics = json.loads(files["evaluation_metrics.json"].read_text())
    assert {"overall", "per_class", "extractor"} <= set(metrics)
    speed = json.loads(files["sample_speed.json"].read_text())
    assert speed["configs"][0]["config"] == "tiny" and speed["configs"][0]["cached_images_per_s"] > 0
    with tarfile.open(files["extras.tar.gz"]) as tar:
        names = set(tar.getnames())
    assert {"generator/config.json", "work/dataset.json", "synthetic/manifest.csv", "steps.tsv"} <= names
