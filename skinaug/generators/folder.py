"""The generator folder (OUT of `train-generator`): its layout, and the one place that writes and reads it.

    OUT/config.json        {"format": FORMAT, "format_version": FORMAT_VERSION, "skinaug_version", "workdir",
                            "dataset", "model": the GeneratorConfig}; written last, it marks OUT as a generator
    OUT/scaler.json        the work directory's measurement scaler (fitted on its train split)
    OUT/class_means.json   class -> mean scaled measurement vector (train split)
    OUT/tokenizer/, OUT/transformer/   checkpoint folders (skinaug.generators.checkpoint)
    OUT/model_card.md, OUT/<stage>_log.csv

A generator conditions on measurements scaled by its own scaler: `measurement_space` gives a work directory's
measurements in that space.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from safetensors.torch import load as load_tensors

from .. import __version__
from ..atomic import read_json, write_json, write_text
from ..errors import SkinaugError
from ..measurements import RobustScaler, load_class_means
from ..measurements.run import CLASS_MEANS_NAME, SCALER_NAME
from .config import GeneratorConfig
from .data import MeasurementSpace
from .tokenizer import LesionTokenizer

FORMAT = "skinaug-lfvar"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"  # the scaler and class means keep the names they have in WORKDIR/measurements/
STAGES: tuple[str, ...] = ("tokenizer", "transformer")


def write_generator_folder(
    out: Path,
    workdir: Path,
    config: GeneratorConfig,
    scaler: RobustScaler,
    dataset_format: Any,
    extra: dict[str, Any] | None = None,
) -> None:
    """Start a generator folder: scaler, class means, then config.json last (a failed start is simply redone);
    `extra` adds facts to config.json (the work directory's fingerprints, a training-data summary)."""
    scaler.save(out / SCALER_NAME)
    write_text(out / CLASS_MEANS_NAME, (workdir / "measurements" / CLASS_MEANS_NAME).read_text(encoding="utf-8"))
    write_json(
        out / CONFIG_NAME,
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "skinaug_version": __version__,
            "workdir": str(workdir.resolve()),
            "dataset": dataset_format,
            **(extra or {}),
            "model": config.to_dict(),
        },
    )


def read_generator_info(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], GeneratorConfig]:
    """FOLDER/config.json and the GeneratorConfig in it; one-line errors for a missing, foreign or damaged file."""
    config_path = Path(folder) / CONFIG_NAME
    if not config_path.exists():
        raise SkinaugError(f"{config_path}: not found; {folder} is not a trained generator")
    info = read_json(config_path)
    if not isinstance(info, dict) or info.get("format") != FORMAT or info.get("format_version") != FORMAT_VERSION:
        found = info if isinstance(info, dict) else {}
        raise SkinaugError(
            f"{config_path}: generator format {found.get('format')!r} version "
            f"{found.get('format_version')!r}; this skinaug reads {FORMAT} version {FORMAT_VERSION}"
        )
    try:
        return info, GeneratorConfig.from_dict(info["model"])
    except (KeyError, TypeError) as exc:
        raise SkinaugError(f"{config_path}: corrupt generator config ({exc})") from exc


def read_scaler(folder: str | os.PathLike[str]) -> RobustScaler:
    """The generator's measurement scaler."""
    return RobustScaler.load(Path(folder) / SCALER_NAME)


def read_class_means(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """class -> the generator's mean scaled measurement vector (classes without a train image left out)."""
    return load_class_means(Path(folder) / CLASS_MEANS_NAME)


def measurement_space(
    workdir: str | os.PathLike[str], scaler: RobustScaler, class_means: dict[str, Any]
) -> MeasurementSpace:
    """A work directory's measurements in a generator's space (its own scaler and class means)."""
    return MeasurementSpace(scaler, class_means, MeasurementSpace.load(workdir).features)


def read_weights(folder: str | os.PathLike[str], stage: str) -> bytes:
    """The safetensors bytes of a stage's latest checkpoint (checksums verified)."""
    from .checkpoint import read_checkpoint  # checkpoint.py reads this module's format constants

    files, _ = read_checkpoint(Path(folder) / stage)
    return files["weights.safetensors"]


def load_tokenizer(folder: str | os.PathLike[str], config: GeneratorConfig) -> LesionTokenizer:
    """The tokenizer of the latest tokenizer checkpoint (for the transformer stage and for sampling)."""
    from .checkpoint import latest_checkpoint

    root = Path(folder) / "tokenizer"
    if latest_checkpoint(root) is None:
        raise SkinaugError(f"{root}: no trained tokenizer; run `--stage tokenizer` first")
    model = LesionTokenizer(config.tokenizer)
    model.load_state_dict(load_tensors(read_weights(folder, "tokenizer")))
    return model.eval()
