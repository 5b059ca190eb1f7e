"""The domain and local-Inception feature extractors, registered with torch-fidelity; nothing downloads."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
import torch
import torch_fidelity
from safetensors.torch import save_file
from torch_fidelity import feature_extractor_inceptionv3 as fidelity_inception

from skinaug.data import real_dataset
from skinaug.errors import SkinaugError
from skinaug.evaluation import distances
from skinaug.evaluation.extractors import (
    DOMAIN_EXTRACTOR,
    ImageTensors,
    domain_choice,
    extract_features,
    find_inception_weights,
    inception_choice,
    load_extractor,
)


def _phantom_images(workdir: Path, split: str = "train") -> torch.Tensor:
    data = real_dataset(workdir, split, 32)
    return torch.stack([data[i][0] for i in range(len(data))])


def test_domain_extractor_gives_fid_zero_for_a_set_with_itself_and_clearly_more_when_shifted(
    eval_workdir: Path, random_classifier: Path
) -> None:
    images = _phantom_images(eval_workdir)
    choice = domain_choice(random_classifier, "a random resnet18")
    extractor = load_extractor(choice)
    same = extract_features(extractor, images)["penultimate"]
    darker = extract_features(extractor, (images.float() * 0.6).to(torch.uint8))["penultimate"]
    assert same.shape == (len(images), 512)
    assert abs(distances.fid(same, same)) < 1e-6
    assert distances.fid(darker, same) > 1e3 * max(abs(distances.fid(same, same)), 1e-9)


def test_domain_extractor_is_usable_through_torch_fidelity_calculate_metrics(
    eval_workdir: Path, random_classifier: Path
) -> None:
    images = ImageTensors(_phantom_images(eval_workdir)[:30])
    metrics = torch_fidelity.calculate_metrics(
        input1=images,
        input2=images,
        feature_extractor=DOMAIN_EXTRACTOR,
        feature_extractor_weights_path=str(random_classifier),
        fid=True,
        isc=True,
        cuda=False,
        verbose=False,
        cache=False,
        save_cpu_ram=True,
        isc_splits=3,
    )
    assert abs(metrics["frechet_inception_distance"]) < 1e-6
    assert metrics["inception_score_mean"] >= 1.0


def _random_inception_file(path: Path) -> Path:
    """Inception-v3 FID architecture with random weights, saved as safetensors (no download)."""
    with (
        mock.patch.object(fidelity_inception, "load_state_dict_from_url", return_value={}),
        mock.patch.object(fidelity_inception.FeatureExtractorInceptionV3, "load_state_dict"),
    ):
        model = fidelity_inception.FeatureExtractorInceptionV3("x", ["2048"])
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def test_local_inception_reads_a_safetensors_file_and_never_downloads(tmp_path: Path) -> None:
    weights = _random_inception_file(tmp_path / "inception.safetensors")
    with mock.patch.object(fidelity_inception, "load_state_dict_from_url", side_effect=AssertionError("download")):
        features = extract_features(
            load_extractor(inception_choice(weights)), torch.randint(0, 255, (3, 3, 40, 40), dtype=torch.uint8)
        )
    assert features["2048"].shape == (3, 2048) and features["logits_unbiased"].shape == (3, 1008)
    assert fidelity_inception.load_state_dict_from_url is not None  # the original function was put back


def test_wrong_inception_file_is_a_one_line_error_naming_it(tmp_path: Path, random_classifier: Path) -> None:
    with pytest.raises(SkinaugError, match="model.safetensors: not Inception-v3 FID weights"):
        load_extractor(inception_choice(random_classifier / "model.safetensors"))
    with pytest.raises(SkinaugError, match="nope.pth: Inception weights file not found"):
        find_inception_weights(tmp_path / "nope.pth")


def test_inception_weights_are_found_in_torch_hub_cache_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert find_inception_weights(None) is None
    cached = tmp_path / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"
    cached.parent.mkdir()
    cached.write_bytes(b"x")
    assert find_inception_weights(None) == cached
