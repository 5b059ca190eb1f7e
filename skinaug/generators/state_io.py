"""Saving nested training state (model and optimizer state dicts, RNG states, counters) without pickle.

Tensors go to one safetensors file, everything else to a JSON tree in which each tensor is replaced by
{"__tensor__": key}. Both files are written atomically; the JSON is written last and names the
safetensors file's sha256, so a half-written or mismatched pair is detected on load.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_open, read_json, write_json
from ..errors import SkinaugError

TENSOR_TAG = "__tensor__"
TUPLE_TAG = "__tuple__"
INT_KEYS_TAG = "__int_keys__"


def _split(value: Any, tensors: dict[str, torch.Tensor], path: str) -> Any:
    if isinstance(value, torch.Tensor):
        key = path or "root"
        tensors[key] = value.detach().cpu().contiguous()
        return {TENSOR_TAG: key}
    if isinstance(value, dict):
        int_keys = bool(value) and all(isinstance(k, int) for k in value)
        out = {str(k): _split(v, tensors, f"{path}/{k}") for k, v in value.items()}
        return {INT_KEYS_TAG: out} if int_keys else out
    if isinstance(value, tuple):
        return {TUPLE_TAG: [_split(v, tensors, f"{path}/{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_split(v, tensors, f"{path}/{i}") for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise SkinaugError(f"cannot save a value of type {type(value).__name__} at {path or 'root'}")


def _join(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict):
        if TENSOR_TAG in value:
            return tensors[value[TENSOR_TAG]]
        if TUPLE_TAG in value:
            return tuple(_join(v, tensors) for v in value[TUPLE_TAG])
        if INT_KEYS_TAG in value:
            return {int(k): _join(v, tensors) for k, v in value[INT_KEYS_TAG].items()}
        return {k: _join(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, tensors) for v in value]
    return value


def pack_state(state: Any) -> tuple[bytes, Any]:
    """(safetensors bytes of every tensor, JSON-able tree with tensor references) of a nested state."""
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {}
    tree = _split(state, tensors, "")
    return save(tensors), tree


def unpack_state(blob: bytes, tree: Any, where: str = "state") -> Any:
    """Inverse of pack_state; SkinaugError naming `where` if the bytes are unreadable or do not match."""
    from safetensors.torch import load

    try:
        tensors = load(blob)
    except Exception as exc:  # safetensors raises its own error types
        raise SkinaugError(f"{where}: not a readable safetensors file ({exc})") from exc
    try:
        return _join(tree, tensors)
    except KeyError as exc:
        raise SkinaugError(f"{where}: refers to a missing tensor {exc}") from exc


def save_state(path: str | os.PathLike[str], state: Any) -> None:
    """Write `state` as PATH.safetensors + PATH.json (atomic; the JSON names the tensors' checksum)."""
    path = Path(path)
    blob, tree = pack_state(state)
    with atomic_open(path.with_suffix(".safetensors"), "wb") as handle:
        handle.write(blob)
    write_json(path.with_suffix(".json"), {"sha256": hashlib.sha256(blob).hexdigest(), "tree": tree})


def load_state(path: str | os.PathLike[str]) -> Any:
    """Read what save_state wrote; SkinaugError naming the file if it is missing, corrupt or mismatched."""
    path = Path(path)
    meta_path, blob_path = path.with_suffix(".json"), path.with_suffix(".safetensors")
    for file in (meta_path, blob_path):
        if not file.exists():
            raise SkinaugError(f"{file}: missing")
    meta = read_json(meta_path)
    blob = blob_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
        raise SkinaugError(f"{blob_path}: checksum mismatch (corrupt or from another save)")
    return unpack_state(blob, meta["tree"], str(blob_path))
