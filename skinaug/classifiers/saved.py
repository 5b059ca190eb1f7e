"""A trained classifier on disk: model.safetensors + model.json (architecture, classes, image size); no pickle."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import nn

from .. import __version__
from ..atomic import atomic_open, read_json, write_json
from ..data.transforms import IMAGENET, Normalisation
from ..errors import SkinaugError
from ..labels import CLASSES
from ..weights import read_state_dict
from .models import create_classifier

WEIGHTS_NAME = "model.safetensors"
META_NAME = "model.json"


def save_classifier(
    folder: str | os.PathLike[str],
    model: nn.Module,
    arch: str,
    image_size: int,
    normalisation: Normalisation = IMAGENET,
    **extra: Any,
) -> None:
    """Write FOLDER/model.safetensors, then FOLDER/model.json (the JSON last: its presence means complete).

    `normalisation` is the (mean, std) its inputs were normalised with; it is recorded for whoever uses it."""
    from safetensors.torch import save

    folder = Path(folder)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_open(folder / WEIGHTS_NAME, "wb") as handle:
        handle.write(save(state))
    write_json(
        folder / META_NAME,
        {
            "arch": arch,
            "num_classes": len(CLASSES),
            "classes": list(CLASSES),
            "image_size": image_size,
            "mean": list(normalisation[0]),
            "std": list(normalisation[1]),
            "skinaug_version": __version__,
            **extra,
        },
    )


def saved_normalisation(meta: dict[str, Any]) -> Normalisation:
    """(mean, std) a saved classifier expects (ImageNet's for files written before they were recorded)."""
    if "mean" in meta and "std" in meta:
        return tuple(float(v) for v in meta["mean"]), tuple(float(v) for v in meta["std"])
    return IMAGENET


def classifier_folder(path: str | os.PathLike[str]) -> Path:
    """The folder holding model.json: PATH itself, PATH's folder (a model.safetensors file given), or a
    bench-classifier output's runs/a_seed0."""
    path = Path(path)
    for candidate in (path, path.parent if path.is_file() else None, path / "runs" / "a_seed0"):
        if candidate is not None and (candidate / META_NAME).is_file():
            return candidate
    raise SkinaugError(
        f"{path}: no saved classifier ({META_NAME} + {WEIGHTS_NAME}, e.g. a bench-classifier "
        "output folder or its runs/a_seed0)"
    )


def load_classifier(path: str | os.PathLike[str]) -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode, its model.json) of a saved classifier folder (see `classifier_folder`)."""
    folder = classifier_folder(path)
    meta = read_json(folder / META_NAME)
    if not isinstance(meta, dict) or "arch" not in meta or "image_size" not in meta:
        raise SkinaugError(f"{folder / META_NAME}: not a skinaug classifier description (needs arch, image_size)")
    if list(meta.get("classes", CLASSES)) != list(CLASSES):
        raise SkinaugError(f"{folder / META_NAME}: classes {meta.get('classes')} differ from skinaug's {list(CLASSES)}")
    model, _ = create_classifier(str(meta["arch"]), len(CLASSES), image_size=int(meta["image_size"]))
    state = read_state_dict(folder / WEIGHTS_NAME)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise SkinaugError(
            f"{folder / WEIGHTS_NAME}: does not fit a {meta['arch']} ({str(exc).splitlines()[0]})"
        ) from None
    return model.eval(), meta
