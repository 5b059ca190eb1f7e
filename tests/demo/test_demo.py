"""`skinaug demo`: the whole pipeline with a micro plan, one report whose pictures all exist, and resuming."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import skinaug.demo
from skinaug.cli import main
from skinaug.demo import DemoPlan, choose_plan, run_demo
from skinaug.errors import SkinaugError
from skinaug.phantoms import PhantomConfig, make_phantoms

from ..generators.conftest import micro_config


def _micro_plan(tmp_path: Path) -> DemoPlan:
    config_file = tmp_path / "micro.json"
    config_file.write_text(json.dumps(micro_config(steps=6).to_dict()))
    return DemoPlan(
        "micro test plan",
        "CPU (tests)",
        phantoms=84,
        generator=str(config_file),
        tokenizer_steps=6,
        transformer_steps=6,
        per_class=3,
        classifier_size=32,
        epochs=1,
        judge_epochs=1,
        judge_min_steps=0,
        bootstrap=10,
        shortcut_steps=5,
        device="cpu",
    )


def test_demo_runs_every_step_and_writes_one_report_whose_pictures_exist(tmp_path: Path) -> None:
    plan = _micro_plan(tmp_path)
    out = tmp_path / "demo"
    result = run_demo(out, plan=plan)
    assert len(result.timings) == 6 and all(s >= 0 for s in result.timings.values())
    html = (out / "report.html").read_text()
    markdown = (out / "report.md").read_text()
    for section in (
        "1. Data",
        "2. LF-VAR generator",
        "3. Does synthetic data help the classifier?",
        "4. Fidelity of the synthetic images",
    ):
        assert section in html and section in markdown
    pictures = re.findall(r'<img src="([^"]+)"', html)
    assert len(pictures) >= 8 and all(p.startswith("data:image/png;base64,") for p in pictures)
    assert all(link.startswith(("data:", "#")) for link in re.findall(r'(?:src|href)="([^"]+)"', html))
    for picture in re.findall(r"!\[[^]]*\]\(([^)]+)\)", markdown):
        assert (out / picture).is_file(), picture
    assert "FID (domain features)" in html and "real test images only" in html
    assert "micro test plan" in markdown and "CPU (tests)" in markdown
    for arm in ("c-copies", "topup", "topup-copies"):  # the new arms and their copies controls are shown
        assert f"{arm}: " in markdown, arm
    assert "Shortcut risk" in markdown and "Image path" in markdown
    syn = (out / "synthetic" / "manifest.csv").read_text().splitlines()
    assert len(syn) == 1 + 7 * 3


def test_demo_rerun_resumes_without_redoing_finished_steps(tmp_path: Path) -> None:
    plan = _micro_plan(tmp_path)
    out = tmp_path / "demo"
    run_demo(out, plan=plan)
    watched = [
        out / "bench-classifier" / "runs" / "c_seed0" / "predictions.npz",
        out / "evaluation" / "judge-real" / "model.json"
        if (out / "evaluation" / "judge-real").exists()
        else out / "bench-classifier" / "runs" / "a_seed0" / "model.safetensors",
    ]
    watched += sorted((out / "generator").glob("**/*.safetensors"))
    watched += [p for p in (out / "synthetic").glob("**/*.png") if p.name != "grid.png"]  # the grid is redrawn
    manifest = (out / "synthetic" / "manifest.csv").read_text()
    before = {p: p.stat().st_mtime_ns for p in watched}
    assert len(before) > 20
    run_demo(out, plan=plan)
    assert {p: p.stat().st_mtime_ns for p in watched} == before  # nothing retrained or regenerated
    assert (out / "synthetic" / "manifest.csv").read_text() == manifest


def test_plans_follow_the_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose_plan(real_data=False).generator == "tiny"
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    cpu = choose_plan(real_data=True)
    assert cpu.generator == "tiny" and "CPU" in cpu.name
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("torch.cuda.device_count", lambda: 1)
    monkeypatch.setattr("torch.cuda.get_device_name", lambda *_: "Test GPU")
    gpu = choose_plan(real_data=True)
    assert gpu.generator == "small" and gpu.classifier_arch == "resnet50" and gpu.per_class == 500
    assert "GPU" in gpu.name and "Test GPU" in gpu.hardware


def test_cli_demo_on_a_given_data_set_asks_for_the_real_data_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _micro_plan(tmp_path)
    asked: list[bool] = []
    monkeypatch.setattr(skinaug.demo, "choose_plan", lambda real_data, device: asked.append(real_data) or plan)
    make_phantoms(tmp_path / "data", PhantomConfig(n=84, seed=5), progress=False)  # stands in for a real data set
    result = CliRunner().invoke(
        main, ["demo", "--data", str(tmp_path / "data"), "--format", "ham10000", "--out", str(tmp_path / "d")]
    )
    assert result.exit_code == 0, result.output
    assert asked == [True]
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("demo: ")
    assert "report.html" in result.stdout and "[6/6] evaluate" in result.stderr
    assert f"ham10000: {tmp_path / 'data'}" in result.stderr  # prepared from the given folder, no phantoms made
    assert not (tmp_path / "d" / "phantoms").exists()
    assert str(tmp_path / "data") in (tmp_path / "d" / "report.md").read_text()


def test_the_plans_perceptual_network_reaches_train_generator(tmp_path: Path) -> None:
    """A plan's perceptual_weights is train-generator's --perceptual-weights: a missing file stops the generator
    step with the file named (nothing is trained without it silently)."""
    plan = _micro_plan(tmp_path)
    plan.perceptual_weights = str(tmp_path / "no-such-vgg16.pth")
    with pytest.raises(SkinaugError, match="no-such-vgg16.pth"):
        run_demo(tmp_path / "demo", plan=plan)
