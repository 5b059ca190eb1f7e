"""Pretrained weights the ecosystem's way: a local file through timm's loader, `pretrained` from the library's
cache, and offline one notice line with the labelled fallback (never a traceback, never a real download here)."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import huggingface_hub.constants
import huggingface_hub.errors
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import save_file

import skinaug.pretrained
from skinaug.classifiers.models import create_classifier, model_normalisation
from skinaug.cli import main
from skinaug.evaluation.extractors import find_inception_weights
from skinaug.generators.tokenizer import describe_perceptual, load_perceptual
from skinaug.phantoms import PhantomConfig, make_phantoms
from skinaug.prepare import prepare_dataset


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No host answers (what an offline machine sees), whatever the machine running the tests can reach."""
    monkeypatch.setattr(
        skinaug.pretrained.socket,
        "create_connection",
        lambda *a, **k: (_ for _ in ()).throw(OSError("Name or service not known")),
    )


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """torch hub's and Hugging Face's caches pointed at empty folders under tmp_path."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "torch-hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-hub"))
    return tmp_path


def _hf_cached(cache: Path, repo: str, state: dict[str, torch.Tensor]) -> Path:
    """Put `state` where huggingface_hub keeps repo's model.safetensors (refs/main -> snapshots/<sha>/)."""
    folder = cache / "hf-hub" / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd")
    path = folder / "snapshots" / "0123abcd" / "model.safetensors"
    path.parent.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def _failing_download(error: Exception):
    """A download function that raises `error` (what it raises offline); counts its calls."""
    _failing_download.calls = 0

    def download(*args: object, **kwargs: object) -> None:
        _failing_download.calls += 1
        raise error

    return download


# -- classifiers (timm) -------------------------------------------------------------------------------------


def test_local_file_goes_through_timms_loader_which_adapts_a_vit_to_64_px(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source, _ = create_classifier("test_vit", 1000)  # an ImageNet-style checkpoint: 160 px, 1000 classes
    path = tmp_path / "vit.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    model, report = create_classifier("test_vit", 7, path, image_size=64)
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 7)
    loaded, original = model.state_dict(), source.state_dict()
    assert loaded["pos_embed"].shape[1] == 1 + (64 // 16) ** 2 != original["pos_embed"].shape[1]  # resampled
    assert torch.equal(loaded["patch_embed.proj.weight"], original["patch_embed.proj.weight"])
    assert report.file == str(path) and report.skipped == 3  # head weight + bias re-initialised, pos_embed adapted
    assert "vit.safetensors" in report.describe()


def test_model_normalisation_is_the_models_own() -> None:
    vit, _ = create_classifier("vit_tiny_patch16_224", 7, image_size=64)
    resnet, _ = create_classifier("resnet18", 7)
    assert model_normalisation(vit) == ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert model_normalisation(resnet)[0] == pytest.approx((0.485, 0.456, 0.406))


def test_pretrained_comes_from_the_hugging_face_cache_without_network(empty_caches: Path, offline: None) -> None:
    torch.manual_seed(1)
    published, _ = create_classifier("test_resnet", 1000)
    _hf_cached(empty_caches, "timm/test_resnet.r160_in1k", published.state_dict())
    model, report = create_classifier("test_resnet", 7, "pretrained")
    assert report.file is not None and report.file.endswith("model.safetensors")
    assert torch.equal(model.state_dict()["conv1.0.weight"], published.state_dict()["conv1.0.weight"])


def test_pretrained_offline_is_one_notice_and_from_scratch(
    empty_caches: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    model, report = create_classifier("test_resnet", 7, "pretrained")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("skinaug: notice: test_resnet published weights")
    assert "offline" in err and "training from scratch" in err
    assert report.file is None and report.describe() == "from scratch (published weights unavailable offline)"
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 7)


def test_pretrained_download_failing_is_one_notice(
    empty_caches: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import timm.models._builder as builder

    monkeypatch.setattr(skinaug.pretrained, "reachable", lambda host: True)  # the host answers, the hub fails
    monkeypatch.setattr(skinaug.classifiers.models, "reachable", lambda host: True)
    monkeypatch.setattr(
        builder,
        "load_state_dict_from_hf",
        _failing_download(
            huggingface_hub.errors.LocalEntryNotFoundError("cannot find the requested files in the local cache")
        ),
    )
    _, report = create_classifier("test_resnet", 7, "pretrained")
    assert _failing_download.calls == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not be downloaded" in err and "training from scratch" in err
    assert report.file is None


@pytest.fixture(scope="module")
def phantom_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vit")
    make_phantoms(root / "ph", PhantomConfig(n=70, seed=3, width=64, height=48), progress=False)
    prepare_dataset("ham10000", root / "ph", root / "work", progress=False)
    return root / "work"


def test_bench_classifier_trains_a_timm_vit_at_64_px_offline_pretrained_falls_back(
    phantom_workdir: Path, tmp_path: Path, empty_caches: Path, offline: None
) -> None:
    out = tmp_path / "bench"
    result = CliRunner().invoke(
        main,
        [
            "bench-classifier",
            str(phantom_workdir),
            "--arch",
            "vit_tiny_patch16_224",
            "--image-size",
            "64",
            "--epochs",
            "1",
            "--seeds",
            "1",
            "--arms",
            "a",
            "--batch-size",
            "16",
            "--workers",
            "0",
            "--weights",
            "pretrained",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("mean recall on real test: a ")
    assert result.stderr.count("published weights") == 1  # one notice, not one per run
    assert "from scratch (published weights unavailable offline)" in (out / "report.md").read_text()
    meta = (out / "runs" / "a_seed0" / "model.json").read_text()
    assert '"image_size": 64' in meta and '"mean": [\n    0.5' in meta


# -- VGG16 (torchvision) and Inception (torch-fidelity) ---------------------------------------------------


def _vgg16_file(folder: Path) -> Path:
    from torchvision.models import vgg16

    path = folder / "checkpoints" / "vgg16-397923af.pth"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({f"features.{k}": v for k, v in vgg16(weights=None).features.state_dict().items()}, path)
    return path


def test_perceptual_pretrained_uses_torchvisions_file_in_the_hub_cache(empty_caches: Path, offline: None) -> None:
    cached = _vgg16_file(empty_caches / "torch-hub")
    loss = load_perceptual("pretrained")
    assert loss is not None and loss.weights_path == cached
    assert describe_perceptual(loss).startswith("perceptual loss: on")


def test_perceptual_pretrained_offline_is_one_notice_and_off(
    empty_caches: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load_perceptual("pretrained") is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "VGG16_Weights.IMAGENET1K_V1" in err and "perceptual loss: off" in err


def test_perceptual_pretrained_download_error_is_one_notice(
    empty_caches: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import torchvision.models._api as torchvision_api

    monkeypatch.setattr(skinaug.pretrained, "reachable", lambda host: True)  # the host answers, the download fails
    monkeypatch.setattr(
        torchvision_api,
        "load_state_dict_from_url",
        _failing_download(urllib.error.URLError("[Errno -3] Temporary failure in name resolution")),
    )
    assert load_perceptual("pretrained") is None
    assert _failing_download.calls == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not be downloaded" in err and "perceptual loss: off" in err


def test_inception_pretrained_offline_falls_back_with_one_notice(
    empty_caches: Path, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert find_inception_weights("pretrained") is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Inception-v3 FID weights (torch-fidelity)" in err
    assert "using domain features" in err


def test_inception_pretrained_download_error_falls_back(
    empty_caches: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import skinaug.evaluation.extractors as extractors

    monkeypatch.setattr(skinaug.pretrained, "reachable", lambda host: True)
    monkeypatch.setattr(
        extractors.fidelity_inception,
        "load_state_dict_from_url",
        _failing_download(urllib.error.URLError("unreachable")),
    )
    assert find_inception_weights("pretrained") is None
    assert _failing_download.calls == 1
    assert "could not be downloaded" in capsys.readouterr().err


def test_inception_pretrained_is_read_from_the_hub_cache(empty_caches: Path, offline: None) -> None:
    cached = empty_caches / "torch-hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert find_inception_weights("pretrained") == cached
