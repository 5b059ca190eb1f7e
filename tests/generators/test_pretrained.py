"""export-generator / save_pretrained / from_pretrained: weights only, a model card without paths, same samples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.torch import load_file

from skinaug.cli import main
from skinaug.errors import SkinaugError
from skinaug.generators.augment import AugmentConfig, augment
from skinaug.generators.training import TrainOptions, train_generator

from .conftest import micro_config


@pytest.fixture(scope="module")
def run_and_export(measured_phantoms: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("pretrained")
    train_generator(measured_phantoms, root / "run", micro_config(steps=3), TrainOptions(progress=False))
    result = CliRunner().invoke(main, ["export-generator", str(root / "run"), str(root / "export")])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("export-generator: ")
    return root / "run", root / "export"


def test_the_export_holds_weights_only(run_and_export: tuple[Path, Path]) -> None:
    run, export = run_and_export
    files = sorted(p.relative_to(export).as_posix() for p in export.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "class_means.json",
        "config.json",
        "scaler.json",
        "tokenizer/model.safetensors",
        "transformer/model.safetensors",
    ]
    for stage in ("tokenizer", "transformer"):
        latest = (run / stage / "LATEST").read_text().strip()
        trained = load_file(str(run / stage / latest / "weights.safetensors"))
        exported = load_file(str(export / stage / "model.safetensors"))
        assert exported.keys() == trained.keys()  # the model's own tensors: no optimizer, discriminator, RNG
    assert json.loads((export / "config.json").read_text())["format"] == "skinaug-lfvar-pretrained"


def test_the_exported_generator_samples_exactly_as_the_training_folder(
    run_and_export: tuple[Path, Path], measured_phantoms: Path, tmp_path: Path
) -> None:
    from skinaug import Generator

    run, export = run_and_export
    trained, shared = Generator.load(run, "cpu"), Generator.from_pretrained(export, "cpu")
    assert shared.checksum == trained.checksum
    labels = ["mel", "df", "nv"]
    assert np.array_equal(shared.free(labels, seed=5), trained.free(labels, seed=5))
    assert not np.array_equal(shared.free(labels, seed=5), shared.free(labels, seed=6))
    config = AugmentConfig(per_class=1, batch_size=7)
    from_run, _ = augment(measured_phantoms, run, tmp_path / "a", config, False)
    from_export, _ = augment(measured_phantoms, export, tmp_path / "b", config, False)  # the card's workflow
    for a, b in zip(from_run.manifest.to_dict("records"), from_export.manifest.to_dict("records")):
        assert from_run.image_file(a).read_bytes() == from_export.image_file(b).read_bytes()
    assert from_export.info["source_license"]["id"] == "cc-by-nc-sa-4.0"  # phantoms prepared as ham10000


def test_the_model_card_has_metadata_and_no_absolute_path(
    run_and_export: tuple[Path, Path], measured_phantoms: Path
) -> None:
    run, export = run_and_export
    card = (export / "README.md").read_text()
    front, body = card.split("---\n")[1], card.split("---\n", 2)[2]
    assert "library_name: skinaug" in front and "license: cc-by-nc-sa-4.0" in front
    assert '  - "HAM10000"' in front and '  - "dermoscopy"' in front
    for section in ("## Intended use", "## Limitations", "## Training data", "## Scores"):
        assert section in body
    assert "CC BY-NC-SA 4.0" in body and "val_psnr" in body
    for text in (card, (export / "config.json").read_text()):
        for folder in (run, measured_phantoms, export):
            assert str(folder.resolve()) not in text and str(folder) not in text
        assert not re.search(r"(?<![\w.])/(tmp|home|work|root|Users)/", text)


def test_a_damaged_export_is_refused_in_one_line(run_and_export: tuple[Path, Path], tmp_path: Path) -> None:
    import shutil

    from skinaug import Generator

    _, export = run_and_export
    copy = shutil.copytree(export, tmp_path / "copy")
    weights = copy / "transformer" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in a weight
    weights.write_bytes(bytes(data))
    with pytest.raises(SkinaugError, match="checksum .* differs from config.json"):
        Generator.from_pretrained(copy, "cpu")
    (copy / "tokenizer" / "model.safetensors").unlink()
    with pytest.raises(SkinaugError, match="model.safetensors: missing"):
        Generator.from_pretrained(copy, "cpu")
    result = CliRunner().invoke(main, ["export-generator", str(tmp_path / "nothing"), str(tmp_path / "out")])
    assert result.exit_code == 1 and "not a trained generator" in result.stderr


def test_an_evaluation_s_scores_go_into_the_card(run_and_export: tuple[Path, Path]) -> None:
    from skinaug.generators.pretrained import _evaluation_summary, model_card

    _, export = run_and_export
    config = json.loads((export / "config.json").read_text())
    metrics = {
        "overall": {"fid": 41.25, "kid": 0.0123},
        "extractor": {"label": "Inception-v3"},
        "conditioning": {"mean_recall": 0.625},
        "config": {"reference_split": "test"},
        "synthetic": "/abs/path/syn",
        "workdir": "/abs/path/work",
    }
    card = model_card({**config, "evaluation": _evaluation_summary(metrics)})
    assert "(Inception-v3 features): FID 41.25, KID 0.0123, conditioning recall 0.625" in card
    assert "/abs/path" not in card
