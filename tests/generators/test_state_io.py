"""Training state saved without pickle: round trip, and clear errors for damaged files."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from skinaug.errors import SkinaugError
from skinaug.generators.state_io import load_state, save_state


def _state() -> dict:
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95))
    model(torch.randn(2, 3)).sum().backward()
    optimizer.step()
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": 7,
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": np.random.default_rng(3).bit_generator.state,
        "python_rng": random.Random(5).getstate(),
        "losses": [1.5, None, 0.25],
    }


def test_round_trip_restores_an_optimizer_exactly(tmp_path: Path) -> None:
    state = _state()
    save_state(tmp_path / "state", state)
    again = load_state(tmp_path / "state")
    assert again["step"] == 7 and again["losses"] == [1.5, None, 0.25]
    assert again["python_rng"] == state["python_rng"] and isinstance(again["python_rng"], tuple)
    assert again["numpy_rng"] == state["numpy_rng"]
    assert torch.equal(again["torch_rng"], state["torch_rng"])
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    model.load_state_dict(again["model"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95))
    optimizer.load_state_dict(again["optimizer"])  # int keys and tuples survive
    assert optimizer.state_dict()["param_groups"][0]["betas"] == (0.9, 0.95)
    assert set(optimizer.state_dict()["state"]) == set(state["optimizer"]["state"])


def test_damaged_files_are_named(tmp_path: Path) -> None:
    save_state(tmp_path / "state", _state())
    blob = tmp_path / "state.safetensors"
    data = bytearray(blob.read_bytes())
    data[-5] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(SkinaugError, match="state.safetensors: checksum mismatch"):
        load_state(tmp_path / "state")
    blob.unlink()
    with pytest.raises(SkinaugError, match="state.safetensors: missing"):
        load_state(tmp_path / "state")
    (tmp_path / "other.json").write_text("{not json")
    (tmp_path / "other.safetensors").write_bytes(b"")
    with pytest.raises(SkinaugError, match="other.json: not valid JSON"):
        load_state(tmp_path / "other")


def test_unsupported_values_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SkinaugError, match="cannot save a value of type object at /x"):
        save_state(tmp_path / "s", {"x": object()})
