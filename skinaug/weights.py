"""Reading local weights files (.safetensors or a plain PyTorch state dict) without running pickle code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .errors import SkinaugError


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Tensors of a .safetensors file or a plain PyTorch state dict (.pth/.pt/.bin, loaded without pickle code)."""
    path = Path(path)
    if not path.is_file():
        raise SkinaugError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt files raise many types
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SkinaugError(f"{path}: not a readable weights file ({detail})") from exc
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise SkinaugError(f"{path}: expected a dictionary of tensors")
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
