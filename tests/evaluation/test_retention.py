"""Tokenizer retention: a real-trained classifier on real test images and on their reconstructions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from skinaug.evaluation import retention as retention_module
from skinaug.evaluation.retention import median3, reconstruction_retention
from skinaug.generators.tokenizer import LesionTokenizer
from skinaug.generators.training import TrainOptions, train_generator
from skinaug.measurements import measure_workdir

from ..generators.conftest import micro_config


@pytest.fixture(scope="module")
def generator(eval_workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    measure_workdir(eval_workdir, workers=1, progress=False)
    config = micro_config(steps=2)
    out = tmp_path_factory.mktemp("retention") / "g"
    train_generator(eval_workdir, out, config, TrainOptions(progress=False))
    return out


def test_a_perfect_tokenizer_keeps_everything(
    eval_workdir: Path, generator: Path, random_classifier: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Real and reconstructed images take the same path to the classifier: with an identity round trip the
    # classifier sees the very same pixels, so every number is equal and retention is exactly 1.
    monkeypatch.setattr(LesionTokenizer, "reconstruct", lambda self, images: images.clamp(-1, 1))
    result = reconstruction_retention(generator, eval_workdir, random_classifier)
    assert result["reconstructed_mean_recall"] == result["real_mean_recall"]
    assert result["retention"] == pytest.approx(1.0) and result["psnr_db"] > 60
    manifest = pd.read_csv(eval_workdir / "manifest.csv", dtype=str)
    assert result["images"] == int((manifest["split"] == "test").sum())  # every real test image, nothing else


def test_a_tokenizer_that_loses_everything_is_measured_as_such(
    eval_workdir: Path, generator: Path, random_classifier: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LesionTokenizer, "reconstruct", lambda self, images: torch.zeros_like(images))
    result = reconstruction_retention(generator, eval_workdir, random_classifier)
    # one grey image for every input: the classifier gives every image the same class, so its mean recall is
    # 1 / (classes in the test split)
    classes = sum(1 for v in result["per_class"].values() if v["real"] == v["real"])
    assert result["reconstructed_mean_recall"] == pytest.approx(1 / classes, abs=1e-9)
    assert result["psnr_db"] < 20
    assert result["retention"] == pytest.approx(result["reconstructed_mean_recall"] / result["real_mean_recall"])


def test_a_tokenizer_trained_alone_is_enough(
    eval_workdir: Path, generator: Path, random_classifier: Path, tmp_path: Path
) -> None:
    """Retention judges the tokenizer only: a `--stage tokenizer` folder (no transformer) is measured like a
    whole generator's tokenizer (the `generator` fixture has measured the work folder)."""
    alone = tmp_path / "tokenizer-only"
    train_generator(eval_workdir, alone, micro_config(steps=2), TrainOptions(stage="tokenizer", progress=False))
    assert (alone / "tokenizer").is_dir() and not (alone / "transformer").exists()
    result = reconstruction_retention(alone, eval_workdir, random_classifier, keep_probabilities=True)
    assert result["retention"] == pytest.approx(result["reconstructed_mean_recall"] / result["real_mean_recall"])
    probabilities = result["probabilities"]
    assert len(probabilities["labels"]) == result["images"] == len(probabilities["reconstructed"])


def test_the_median_filter_removes_a_speck_and_keeps_an_edge() -> None:
    images = torch.full((1, 3, 8, 8), 120, dtype=torch.uint8)
    images[..., :, 4:] = 200  # a vertical edge
    images[0, 1, 2, 1] = 255  # a one-pixel green speck on the flat side
    filtered = median3(images)
    assert filtered.dtype == torch.uint8 and filtered.shape == images.shape
    assert filtered[0, 1, 2, 1] == 120  # the speck is gone
    assert torch.equal(filtered[..., :, :4], torch.full((1, 3, 8, 4), 120, dtype=torch.uint8))
    assert torch.equal(filtered[..., :, 4:], torch.full((1, 3, 8, 4), 200, dtype=torch.uint8))  # edge kept


def test_with_the_median_filter_both_inputs_are_filtered(
    eval_workdir: Path, generator: Path, random_classifier: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an identity round trip: filtering both inputs the same way keeps retention exactly 1, and the path says so
    monkeypatch.setattr(LesionTokenizer, "reconstruct", lambda self, images: images.clamp(-1, 1))
    calls: list[int] = []
    real_median = retention_module.median3
    monkeypatch.setattr(retention_module, "median3", lambda images: calls.append(len(images)) or real_median(images))
    result = reconstruction_retention(generator, eval_workdir, random_classifier, median_filter=True)
    assert calls == [result["images"], result["images"]]  # real and reconstructed images, once each
    assert result["retention"] == pytest.approx(1.0) and "median" in result["path"]
