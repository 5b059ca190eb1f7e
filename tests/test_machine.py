"""skinaug.machine: the one device choice every command uses, and the hardware description."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from skinaug.errors import SkinaugError
from skinaug.generators.distributed import setup
from skinaug.machine import describe_hardware, device_name, select_device


def test_auto_is_cuda_when_available_else_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto") == torch.device("cuda")
    assert select_device("cpu") == torch.device("cpu")


def test_bad_names_and_missing_gpus_are_one_line_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SkinaugError, match="'gpu0': not a device"):
        select_device("gpu0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SkinaugError, match="no CUDA GPU is available"):
        select_device("cuda:1")


def test_generator_loading_and_distributed_setup_use_the_same_choice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from skinaug.generators.generator import Generator

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert setup("auto").device == torch.device("cpu") and setup("cpu").device == torch.device("cpu")
    with pytest.raises(SkinaugError, match="no CUDA GPU"):
        setup("cuda")
    with pytest.raises(SkinaugError, match="not a device"):
        setup("tpu9")
    with pytest.raises(SkinaugError, match="not a trained generator"):  # the folder is checked first
        Generator.load(tmp_path, "auto")


def test_hardware_is_named_without_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert describe_hardware().endswith("(no GPU)")
    assert device_name(torch.device("cpu")).startswith("CPU (")
