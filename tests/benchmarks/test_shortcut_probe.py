"""benchmarks/shortcut_probe.py: each probe removes the cue it names, and a run writes the side-by-side table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from skinaug.classifiers.shortcut import ShortcutConfig
from skinaug.errors import SkinaugError
from skinaug.phantoms import PhantomConfig, make_phantoms
from skinaug.prepare import prepare_dataset
from skinaug.synthetic import write_copy_set

from ..conftest import load_benchmark


def _skin(seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    base = torch.tensor([190.0, 120.0, 110.0]).view(3, 1, 1)
    return (base + 10 * torch.randn(3, 16, 16, generator=generator)).round().clamp(0, 255).byte()


def test_each_probe_removes_its_cue() -> None:
    probes = load_benchmark("shortcut_probe").PROBES
    speckled = _skin()
    speckled[:, 7, 7] = torch.tensor([40, 230, 40], dtype=torch.uint8)  # one bright green pixel
    for name, probe in probes.items():
        if probe is not None:
            assert probe(speckled).shape == speckled.shape and probe(speckled).dtype == torch.uint8, name
    assert probes["median3"](speckled)[1, 7, 7] < 160  # the speck is gone
    checker = ((torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2 * 200).byte().expand(3, 16, 16)
    for name in ("blur", "down2"):  # a 1-px checkerboard is finer than both keep
        assert probes[name](checker).float().std() < 0.25 * checker.float().std(), name
    gray = probes["gray"](_skin())
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    bluish, reddish = _skin(1), _skin(2)
    bluish[2] = (bluish[2].float() + 60).clamp(0, 255).byte()
    for image in (bluish, reddish):  # after the colour probe, both have the same channel means
        means = probes["colour"](image).float().mean(dim=(1, 2))
        assert torch.allclose(means, torch.full((3,), 128.0), atol=1.5)


def test_an_unknown_probe_is_refused_before_any_work(tmp_path: Path) -> None:
    bench = load_benchmark("shortcut_probe")
    with pytest.raises(SkinaugError, match="probe 'sharpen': unknown"):
        bench.run(tmp_path / "nowhere", {}, tmp_path, probes=("none", "sharpen"))


def test_a_run_on_phantoms_writes_one_row_per_probe(tmp_path: Path) -> None:
    make_phantoms(tmp_path / "ph", PhantomConfig(n=42, seed=1, width=64, height=48), progress=False)
    prepare_dataset("ham10000", tmp_path / "ph", tmp_path / "work", progress=False)
    write_copy_set(tmp_path / "work", tmp_path / "copies", per_class=3, progress=False)
    config = ShortcutConfig(arch="test_resnet", steps=2, batch_size=8)
    report = load_benchmark("shortcut_probe").run(
        tmp_path / "work", {"copies": tmp_path / "copies"}, tmp_path, 32, ("none", "gray"), config
    )
    assert [(r["set"], r["probe"]) for r in report["rows"]] == [("copies", "none"), ("copies", "gray")]
    table = (tmp_path / "shortcut_probe.md").read_text()
    assert "| copies | none |" in table and "| copies | gray | luminance only" in table
    assert json.loads((tmp_path / "shortcut_probe.json").read_text())["judge"]["steps"] == 2
