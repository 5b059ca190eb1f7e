"""The perceptual loss on a saved lesion classifier's features: loads, compares, stays frozen, trains the tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from skinaug.classifiers.models import create_classifier
from skinaug.classifiers.saved import save_classifier
from skinaug.errors import SkinaugError
from skinaug.generators.config import OptimConfig
from skinaug.generators.tokenizer import LesionTokenizer, TokenizerTrainer, describe_perceptual, load_perceptual
from skinaug.generators.tokenizer.classifier_perceptual import ClassifierPerceptualLoss

from .conftest import batch, small_config


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model, _ = create_classifier("resnet10t", 7, image_size=32)
    folder = tmp_path_factory.mktemp("classifier")
    save_classifier(folder, model, "resnet10t", 32)
    return folder


def test_a_saved_classifier_folder_gives_a_feature_distance(saved: Path) -> None:
    loss = load_perceptual(saved)
    assert isinstance(loss, ClassifierPerceptualLoss)
    assert str(saved) in describe_perceptual(loss) and "resnet10t" in describe_perceptual(loss)
    assert not any(p.requires_grad for p in loss.parameters())
    images, _ = batch(2, 32)
    other = (images + 0.3 * torch.randn_like(images)).clamp(-1, 1).requires_grad_(True)
    assert loss(images, images) == 0
    value = loss(other, images)
    assert value.dim() == 0 and value > 0
    value.backward()
    assert other.grad is not None and other.grad.abs().sum() > 0
    # images of another size are compared at the size the classifier was trained at (32 px here)
    big = torch.rand(2, 3, 64, 64) * 2 - 1
    small = torch.nn.functional.interpolate(big, size=(32, 32), mode="bilinear", antialias=True)
    for at_64, at_32 in zip(loss.features(big), loss.features(small)):
        torch.testing.assert_close(at_64, at_32)


def test_the_tokenizer_learns_through_it_and_the_classifier_stays_as_trained(saved: Path) -> None:
    config = small_config(perceptual_weight=1.0, adversarial_weight=0.0)
    perceptual = load_perceptual(saved)
    assert perceptual is not None
    before = {k: v.clone() for k, v in perceptual.state_dict().items()}
    trainer = TokenizerTrainer(LesionTokenizer(config), config, OptimConfig(warmup_steps=0), perceptual=perceptual)
    assert trainer.perceptual_status.startswith("perceptual loss: on (features of the classifier")
    images, masks = batch(2, 32)
    logs = trainer.step(images, masks, 0)
    assert float(logs["perceptual"]) > 0  # the term entered the tokenizer's loss
    after = perceptual.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and batch-norm statistics unchanged


def test_a_folder_without_a_classifier_is_named(tmp_path: Path) -> None:
    with pytest.raises(SkinaugError, match=str(tmp_path)):
        load_perceptual(tmp_path)


def test_train_generator_says_which_perceptual_network_it_uses(
    saved: Path, measured_phantoms: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from skinaug.generators.training import TrainOptions, train_generator

    from ..conftest import micro_config

    out = tmp_path / "gen"
    train_generator(
        measured_phantoms, out, micro_config(steps=2), TrainOptions("tokenizer", perceptual_weights=str(saved))
    )
    assert (
        f"tokenizer: perceptual loss: on (features of the classifier {saved} (resnet10t, 32 px))"
        in capsys.readouterr().err
    )
    assert f"features of the classifier in {saved}" in (out / "model_card.md").read_text()
    train_generator(measured_phantoms, tmp_path / "off", micro_config(steps=2), TrainOptions("tokenizer"))
    assert "tokenizer: perceptual loss: off (no local weights file)" in capsys.readouterr().err
