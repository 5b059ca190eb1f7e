"""The sampling API on a (briefly) trained micro generator: modes, exact background, load errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from skinaug.errors import SkinaugError
from skinaug.generators.generator import Generator
from skinaug.generators.training import TrainOptions, train_generator
from skinaug.generators.var import SamplingConfig

from ..conftest import load_benchmark
from .conftest import micro_config


@pytest.fixture(scope="module")
def trained(measured_phantoms: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "g"
    train_generator(measured_phantoms, out, micro_config(), TrainOptions(progress=False))
    return out


def test_free_sampling_is_seeded_and_sized(trained: Path) -> None:
    gen = Generator.load(trained)
    a = gen.free(["mel", "df", "nv"], seed=1)
    assert a.shape == (3, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, gen.free(["mel", "df", "nv"], seed=1))
    assert not np.array_equal(a, gen.free(["mel", "df", "nv"], seed=2))
    with pytest.raises(SkinaugError, match="unknown class 'cat'"):
        gen.free(["cat"])


@pytest.mark.parametrize("teacher", ["residual", "precomputed"])
def test_inpainting_keeps_every_background_pixel_and_each_sample_its_own_mask(trained: Path, teacher: str) -> None:
    gen = Generator.load(trained)
    rng = np.random.default_rng(0)
    sources = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    masks = np.zeros((3, 32, 32), dtype=bool)
    masks[0, 4:12, 4:12] = True
    masks[1, 18:30, 16:28] = True  # sample 2: empty mask -> unchanged
    out = gen.inpaint(
        sources,
        masks,
        ["mel", "bcc", "nv"],
        seed=3,
        sampling=SamplingConfig(cfg=2.0),
        dilation=1,
        feather=2,
        teacher=teacher,
    )
    for b in range(3):
        far = ~np.asarray(_grow(masks[b], 3))
        assert np.array_equal(out[b][far], sources[b][far]), b
    assert np.array_equal(out[2], sources[2])
    assert not np.array_equal(out[0][masks[0]], sources[0][masks[0]])


def test_inpainting_nothing_reproduces_the_tokenizer_reconstruction(trained: Path) -> None:
    # Empty masks: every token is kept, so the residual rule must give exactly the source's own quantization.
    gen = Generator.load(trained)
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(5)) * 2 - 1
    empty = torch.zeros(2, 32, 32, dtype=torch.bool)
    decoded = gen.inpaint_decoded(images, empty, ["mel", "df"], seed=0)
    assert torch.equal(decoded, gen.tokenizer.reconstruct(images))
    with pytest.raises(SkinaugError, match="teacher rule"):
        gen.inpaint_decoded(images, empty, ["mel", "df"], teacher="source")


def _grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    return binary_dilation(mask, np.ones((2 * pixels + 1,) * 2, bool))


def test_measurement_overrides_are_in_real_units(trained: Path) -> None:
    gen = Generator.load(trained)
    name = gen.scaler.features[0]
    i = 0
    vector = gen.with_overrides(gen.class_vector("nv"), {name: gen.scaler.center[i] + 2 * gen.scaler.scale[i]})
    assert vector[i] == pytest.approx(2.0)
    with pytest.raises(SkinaugError, match="unknown measurement 'colour_of_the_sky'"):
        gen.with_overrides(vector, {"colour_of_the_sky": 1.0})


def test_damaged_generators_are_named(trained: Path, tmp_path: Path) -> None:
    broken = tmp_path / "g"
    shutil.copytree(trained, broken)
    tag = (broken / "transformer" / "LATEST").read_text().strip()
    weights = broken / "transformer" / tag / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(SkinaugError, match="weights.safetensors: checksum mismatch"):
        Generator.load(broken)
    config = json.loads((broken / "config.json").read_text())
    config["format_version"] = 7
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(SkinaugError, match="version 7"):
        Generator.load(broken)
    with pytest.raises(SkinaugError, match="not a trained generator"):
        Generator.load(tmp_path / "nothing")


def test_inpaint_consistency_benchmark_runs_on_a_tiny_generator(
    trained: Path, measured_phantoms: Path, tmp_path: Path
) -> None:
    from skinaug.classifiers.models import create_classifier
    from skinaug.classifiers.saved import save_classifier
    from skinaug.labels import CLASSES

    torch.manual_seed(0)
    judge, _ = create_classifier("resnet18", len(CLASSES))
    save_classifier(tmp_path / "judge", judge, "resnet18", 32, trained_on="nothing (random weights)")
    bench = load_benchmark("inpaint_consistency")
    report = bench.run(
        trained,
        measured_phantoms,
        tmp_path / "out",
        split="train",
        count=6,
        mode="inter",
        classifier=tmp_path / "judge",
        keep_coarse=0.3,
        cfg=1.0,
        batch=4,
    )
    assert set(report["rules"]) == {"precomputed", "residual", "residual+coarse"}
    for rule in report["rules"].values():
        assert np.isfinite(rule["ring_psnr_db"]) and rule["seam_ratio"] > 0
        assert 0.0 <= rule["conditioning_recall"] <= 1.0
    table = (tmp_path / "out" / "inpaint_consistency.md").read_text()
    assert "| residual |" in table and "| precomputed |" in table
    assert json.loads((tmp_path / "out" / "inpaint_consistency.json").read_text())["images"] == 6
