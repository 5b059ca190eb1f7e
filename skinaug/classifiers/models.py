"""timm classifiers: from scratch, from a local weights file, or with timm's published pretrained weights.

Weights go through timm's own loader (`pretrained=True` with `pretrained_cfg_overlay=dict(file=...)`), which
drops a head of another size, adapts position embeddings to `img_size` and reads safetensors or plain state
dicts without pickle code. `weights="pretrained"` takes the model's published weights from the Hugging Face
cache (downloading them once when online); offline it says so in one line and trains from scratch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import SkinaugError
from ..pretrained import PRETRAINED, fetch, notice, reachable, wants_pretrained
from ..weights import read_state_dict

MIN_MATCHED_SHARE = 0.5  # a weights file matching fewer of the model's tensors than this is refused
HUB_HOST = "huggingface.co"
HUB_FILES = ("model.safetensors", "pytorch_model.bin")  # what timm looks for in a hub repository, in order


@dataclass(frozen=True)
class WeightsReport:
    """What was loaded: the file (None = from scratch), how many tensors matched, and why scratch if it is."""

    file: str | None
    loaded: int = 0
    skipped: int = 0
    fallback: str = ""  # e.g. "published weights unavailable offline"

    def describe(self) -> str:
        """'from scratch (...)' or 'weights: NAME (n tensors loaded, m re-initialised, e.g. the head)'."""
        if self.file is None:
            return f"from scratch ({self.fallback or 'no weights file'})"
        return (
            f"weights: {Path(self.file).name} ({self.loaded} tensors loaded, {self.skipped} re-initialised "
            "or adapted, e.g. the head)"
        )


def _create(arch: str, num_classes: int, image_size: int | None, **kwargs: Any) -> nn.Module:
    """timm.create_model, with img_size for the models that take it (ViTs and other fixed-size models)."""
    import timm

    if not timm.is_model(arch):
        raise SkinaugError(f"unknown architecture {arch!r}; see timm.list_models()")
    if image_size is not None:
        try:
            return timm.create_model(arch, num_classes=num_classes, img_size=image_size, **kwargs)
        except TypeError as exc:
            if "img_size" not in str(exc):
                raise
    return timm.create_model(arch, num_classes=num_classes, **kwargs)


def model_normalisation(model: nn.Module) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) the model's inputs are normalised with: its own data config (timm.data.resolve_model_data_config)."""
    from timm.data import resolve_model_data_config

    config = resolve_model_data_config(model)
    return tuple(float(v) for v in config["mean"]), tuple(float(v) for v in config["std"])


def _pretrained_cfg(model: nn.Module) -> dict[str, Any]:
    """timm's description of the model's published weights (hub id, head name, mean/std); {} if none."""
    cfg = getattr(model, "pretrained_cfg", None)
    return dict(cfg) if isinstance(cfg, dict) else {}


def published_weights_file(model: nn.Module) -> Path | None:
    """The model's published weights file in the Hugging Face cache, if it was downloaded before."""
    from huggingface_hub import try_to_load_from_cache

    cfg = _pretrained_cfg(model)
    repo = cfg.get("hf_hub_id")
    if not repo:
        return None
    for name in ([cfg["hf_hub_filename"]] if cfg.get("hf_hub_filename") else []) + list(HUB_FILES):
        found = try_to_load_from_cache(repo, name)
        if isinstance(found, str):
            return Path(found)
    return None


def _from_file(arch: str, num_classes: int, image_size: int | None, path: Path) -> tuple[nn.Module, WeightsReport]:
    """The model with a local file's tensors, loaded by timm's pretrained loader; refused if it barely matches."""
    state = read_state_dict(path)  # a readable file of tensors, or a one-line error naming it
    probe = _create(arch, num_classes, image_size)
    head = _pretrained_cfg(probe).get("classifier")
    head_rows = state.get(f"{head}.weight", torch.empty(0)).shape[:1] if isinstance(head, str) else ()
    overlay: dict[str, Any] = {"file": str(path)}
    if head_rows:  # a head of the right size is kept; another is dropped and re-initialised by timm
        overlay["num_classes"] = int(head_rows[0])
    try:
        model = _create(arch, num_classes, image_size, pretrained=True, pretrained_cfg_overlay=overlay)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise SkinaugError(f"{path}: does not fit a {arch} ({str(exc).splitlines()[0][:200]})") from None
    own = model.state_dict()
    loaded = sum(1 for k, v in own.items() if k in state and state[k].shape == v.shape and torch.equal(state[k], v))
    if loaded < MIN_MATCHED_SHARE * len(own):
        raise SkinaugError(f"{path}: only {loaded}/{len(own)} tensors match a {arch}; wrong architecture?")
    return model, WeightsReport(str(path), loaded, len(own) - loaded)


def create_classifier(
    arch: str, num_classes: int, weights: str | os.PathLike[str] | None = None, image_size: int | None = None
) -> tuple[nn.Module, WeightsReport]:
    """A timm model with `num_classes` outputs for `image_size` px inputs (models with a fixed size get it).

    weights: None (from scratch), a local file (.safetensors or a plain state dict; its tensors are loaded
    where they fit, the head is re-initialised when its size differs), or "pretrained" (timm's published
    weights through the Hugging Face cache; offline: one notice line and from scratch, labelled so).
    """
    if weights is None:
        return _create(arch, num_classes, image_size), WeightsReport(None)
    if not wants_pretrained(str(weights)):
        return _from_file(arch, num_classes, image_size, Path(weights))
    model = _create(arch, num_classes, image_size)
    cached = published_weights_file(model)
    if cached is not None:
        return _from_file(arch, num_classes, image_size, cached)
    what = f"{arch} published weights"
    if not reachable(HUB_HOST):
        notice(
            f"{what}: not in the Hugging Face cache and {HUB_HOST} cannot be reached (offline); training from scratch"
        )
        return model, WeightsReport(None, fallback="published weights unavailable offline")
    downloaded = fetch(what, lambda: _create(arch, num_classes, image_size, pretrained=True), "training from scratch")
    if downloaded is None:
        return model, WeightsReport(None, fallback="published weights could not be downloaded")
    cached = published_weights_file(downloaded)
    if cached is not None:
        return _from_file(arch, num_classes, image_size, cached)
    return downloaded, WeightsReport(PRETRAINED, len(downloaded.state_dict()), 0)  # timm's cache, not the hub's
