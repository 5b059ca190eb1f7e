"""The sampling API: `Generator.load(folder).free(...)`, `.inpaint(...)` (intra- and inter-class).

    gen = Generator.load("work/generator-tiny")
    images = gen.free(["mel", "df"], seed=0)                        # class + class-average measurements
    images = gen.inpaint(source, mask, ["bcc"], seed=0)             # lesion regenerated, background kept

In-painting encodes the source, regenerates the tokens that touch the lesion (each sample its own mask)
while teacher-forcing every other token at every scale (by default with the code of the source latent's
residual against the tokens actually drawn, see var/sampling.py), decodes, and composites the source pixels
back outside the dilated, feathered mask, so the background is exactly the source's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from safetensors.torch import load as load_tensors

from ..atomic import read_json
from ..errors import SkinaugError
from ..labels import CLASSES
from ..machine import select_device
from ..measurements import RobustScaler
from .checkpoint import read_checkpoint
from .composite import composite
from .config import GeneratorConfig
from .folder import CONFIG_NAME, FORMAT, STAGES, read_class_means, read_scaler
from .tokenizer import LesionTokenizer
from .var import SamplingConfig, VARTransformer, sample_tokens
from .var.conditioning import sampling_measurements
from .var.inpainting import check_teacher_rule, keep_masks


RUN_FORMAT = FORMAT  # a train-generator folder; exported generators have their own (generators.pretrained)


def read_generator_config(folder: Path, fmt: str) -> tuple[dict[str, Any], GeneratorConfig]:
    """(config.json content, model config) of a generator folder of format `fmt`, with one-line errors."""
    config_path = folder / CONFIG_NAME
    if not config_path.exists():
        raise SkinaugError(f"{config_path}: not found; {folder} is not a trained generator")
    info = read_json(config_path)
    try:
        config = GeneratorConfig.from_dict(info["model"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise SkinaugError(f"{config_path}: corrupt generator config ({exc})") from exc
    if info.get("format") != fmt or info.get("format_version") != 1:
        raise SkinaugError(
            f"{config_path}: generator format {info.get('format')!r} version "
            f"{info.get('format_version')!r}; expected {fmt} version 1"
        )
    return info, config


def _labels(labels: Sequence[str]) -> torch.Tensor:
    unknown = [label for label in labels if label not in CLASSES]
    if unknown:
        raise SkinaugError(f"unknown class {unknown[0]!r}; known: {', '.join(CLASSES)}")
    return torch.tensor([CLASSES.index(label) for label in labels], dtype=torch.long)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """B x 3 x H x W in [-1, 1] -> uint8 B x H x W x 3."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def from_uint8(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 B x H x W x 3 (or B x 3 x H x W tensor) -> float B x 3 x H x W in [-1, 1]."""
    tensor = torch.as_tensor(images)
    if tensor.shape[-1] == 3:
        tensor = tensor.permute(0, 3, 1, 2)
    return tensor.float() / 127.5 - 1.0


def load_trained_tokenizer(folder: str | os.PathLike[str], device: str = "auto") -> LesionTokenizer:
    """The tokenizer of a train-generator folder (its latest checkpoint), in eval mode, without the transformer:
    a folder trained with `--stage tokenizer` only will do."""
    folder = Path(folder)
    _, config = read_generator_config(folder, RUN_FORMAT)
    files, _ = read_checkpoint(folder / "tokenizer")
    tokenizer = LesionTokenizer(config.tokenizer)
    _load_stage_weights(tokenizer, files["weights.safetensors"], folder / "tokenizer")
    return tokenizer.to(select_device(device)).eval()


def _load_stage_weights(model: torch.nn.Module, blob: bytes, where: Path) -> None:
    """Load a stage checkpoint's safetensors bytes into `model`; one-line error naming the stage folder."""
    try:
        model.load_state_dict(load_tensors(blob))
    except Exception as exc:  # safetensors raises its own error types for unreadable bytes
        raise SkinaugError(f"{where}: weights do not match config.json ({str(exc)[:200]})") from exc


class Generator:
    """A trained LF-VAR generator: tokenizer + transformer + measurement scaler + class-average codebook."""

    def __init__(
        self,
        config: GeneratorConfig,
        tokenizer: LesionTokenizer,
        transformer: VARTransformer,
        scaler: RobustScaler,
        class_means: dict[str, np.ndarray],
        checksum: str,
        device: torch.device,
    ) -> None:
        self.config, self.scaler, self.checksum, self.device = config, scaler, checksum, device
        self.tokenizer = tokenizer.to(device).eval()
        self.transformer = transformer.to(device).eval()
        self.class_means = class_means
        self.trained_on: Path | None = None  # where the work directory whose train split it learned was then
        self.made_from: dict[str, Any] | None = None  # that work directory's split/scaler fingerprints
        self.info: dict[str, Any] = {}  # config.json as written by train-generator (or save_pretrained)
        self.scores: dict[str, dict[str, Any]] = {}  # last logged values of each training stage

    @classmethod
    def load(cls, folder: str | os.PathLike[str], device: str = "auto") -> "Generator":
        """Load OUT of `train-generator` (latest checkpoints); one-line errors name a missing or damaged file."""
        folder = Path(folder)
        info, config = read_generator_config(folder, RUN_FORMAT)
        blobs, scores = {}, {}
        for stage in STAGES:
            files, manifest = read_checkpoint(folder / stage)
            blobs[stage], scores[stage] = files["weights.safetensors"], dict(manifest["meta"].get("last") or {})
        gen = cls.from_parts(folder, info, config, blobs, device)
        gen.scores = scores
        return gen

    @classmethod
    def from_parts(
        cls, folder: Path, info: dict[str, Any], config: GeneratorConfig, blobs: dict[str, bytes], device: str = "auto"
    ) -> "Generator":
        """A generator from its config.json content, safetensors bytes per stage, and FOLDER's scaler/class means."""
        digest = hashlib.sha256()
        tokenizer, transformer = LesionTokenizer(config.tokenizer), VARTransformer(config.transformer, config.tokenizer)
        for stage, model in zip(STAGES, (tokenizer, transformer)):
            digest.update(blobs[stage])
            _load_stage_weights(model, blobs[stage], folder / stage)
        scaler, class_means = read_scaler(folder), read_class_means(folder)
        gen = cls(config, tokenizer, transformer, scaler, class_means, digest.hexdigest()[:16], select_device(device))
        gen.trained_on = Path(info["workdir"]).resolve() if info.get("workdir") else None
        gen.made_from = info.get("made_from")
        gen.info = info
        return gen

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], device: str = "auto") -> "Generator":
        """Load an exported generator (`save_pretrained`, `skinaug export-generator`) or a train-generator folder."""
        from .pretrained import load_pretrained

        return load_pretrained(path, device)

    def save_pretrained(self, out: str | os.PathLike[str], evaluation: dict[str, Any] | None = None) -> Path:
        """Write weights only (safetensors), config.json, scaler, class means and a README.md model card to OUT."""
        from .pretrained import save_pretrained

        return save_pretrained(self, out, evaluation)

    @property
    def image_size(self) -> int:
        """Side of the generated images in pixels."""
        return self.config.tokenizer.image_size

    def class_vector(self, label: str) -> np.ndarray:
        """The class-average scaled measurement vector (train split)."""
        if label not in self.class_means:
            raise SkinaugError(f"class {label!r} had no measured training image; no average measurements")
        return self.class_means[label]

    def with_overrides(self, vector: np.ndarray, overrides: dict[str, float] | None) -> np.ndarray:
        """Set named measurements (in their own units, e.g. {'shape2D_PixelSurface': 900}) in a scaled vector."""
        vector = np.array(vector, dtype=np.float32, copy=True)
        for name, value in (overrides or {}).items():
            if name not in self.scaler.features:
                raise SkinaugError(f"unknown measurement {name!r}; e.g. {', '.join(self.scaler.features[:3])}")
            i = self.scaler.features.index(name)
            z = (float(value) - self.scaler.center[i]) / self.scaler.scale[i]
            vector[..., i] = float(np.clip(z, -self.scaler.clip, self.scaler.clip))
        return vector

    def _measurements(self, labels: torch.Tensor, own: np.ndarray | None) -> torch.Tensor | None:
        means = torch.stack(
            [torch.as_tensor(self.class_means.get(c, np.zeros(len(self.scaler.features), np.float32))) for c in CLASSES]
        )
        own_t = torch.as_tensor(np.asarray(own, dtype=np.float32)) if own is not None else None
        return sampling_measurements(self.config.transformer.measurements, labels, means, own_t)

    @torch.no_grad()
    def free(
        self,
        labels: Sequence[str],
        measurements: np.ndarray | None = None,
        seed: int | Sequence[int] = 0,
        sampling: SamplingConfig = SamplingConfig(),
    ) -> np.ndarray:
        """Images (uint8 B x S x S x 3) of the given classes; measurements B x m scaled (default: class means).

        seed: one seed for the batch, or one per image (each image then depends only on its own seed).
        """
        label_t = _labels(labels)
        cond = self._measurements(label_t, measurements)
        with self._autocast():
            tokens = sample_tokens(
                self.transformer, self.tokenizer.quantizer, label_t.to(self.device), cond, sampling, _generators(seed)
            )
            images = self.tokenizer.indices_to_images(tokens)
        return to_uint8(images.float())

    @torch.no_grad()
    def inpaint(
        self,
        sources: np.ndarray | torch.Tensor,
        masks: np.ndarray | torch.Tensor,
        labels: Sequence[str],
        measurements: np.ndarray | None = None,
        seed: int | Sequence[int] = 0,
        sampling: SamplingConfig = SamplingConfig(),
        dilation: int = 2,
        feather: int = 3,
        teacher: str = "residual",
        keep_coarse: float = 0.0,
    ) -> np.ndarray:
        """Regenerate each source's lesion (its own mask) as `labels`; background pixels stay the source's.

        sources: uint8 B x S x S x 3 (or float B x 3 x S x S in [-1, 1]); masks: B x S x S (True = lesion).
        Intra-class: labels = the sources' classes, measurements = their own vectors. Inter-class: target
        labels and (default) their class-average vectors. seed: one for the batch, or one per image.
        teacher, keep_coarse: see `inpaint_decoded`.
        """
        images = (
            sources.float()
            if isinstance(sources, torch.Tensor) and sources.is_floating_point()
            else from_uint8(sources)
        )
        lesion = torch.as_tensor(np.asarray(masks)).bool()
        if images.shape[-1] != self.image_size or tuple(lesion.shape[1:]) != tuple(images.shape[-2:]):
            raise SkinaugError(
                f"sources and masks must be {self.image_size} x {self.image_size}; got "
                f"{tuple(images.shape)} and {tuple(lesion.shape)}"
            )
        images, lesion = images.to(self.device), lesion.to(self.device)
        with self._autocast():
            generated = self.inpaint_decoded(images, lesion, labels, measurements, seed, sampling, teacher, keep_coarse)
        return to_uint8(composite(images, generated.float(), lesion, dilation, feather))

    @torch.no_grad()
    def reconstruct_lesions(
        self, sources: np.ndarray | torch.Tensor, masks: np.ndarray | torch.Tensor, dilation: int = 2, feather: int = 3
    ) -> np.ndarray:
        """Each source with its lesion replaced by the tokenizer's reconstruction of it, composited exactly as
        `inpaint` composites a generated lesion: what in-painting would give if the transformer drew the source's
        own tokens. A control that isolates the tokenizer (its blur) from what the transformer generates.
        Inputs as `inpaint`'s; returns uint8 B x S x S x 3."""
        images = (
            sources.float()
            if isinstance(sources, torch.Tensor) and sources.is_floating_point()
            else from_uint8(sources)
        ).to(self.device)
        lesion = torch.as_tensor(np.asarray(masks)).bool().to(self.device)
        with self._autocast():
            reconstructed = self.tokenizer.reconstruct(images)
        return to_uint8(composite(images, reconstructed.float(), lesion, dilation, feather))

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast on CUDA (tensor cores, half the memory traffic); CPU sampling stays in float32."""
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @torch.no_grad()
    def inpaint_decoded(
        self,
        images: torch.Tensor,
        lesion: torch.Tensor,
        labels: Sequence[str],
        measurements: np.ndarray | None = None,
        seed: int | Sequence[int] = 0,
        sampling: SamplingConfig = SamplingConfig(),
        teacher: str = "residual",
        keep_coarse: float = 0.0,
    ) -> torch.Tensor:
        """The decoder's in-painted images before the source pixels are composited back (float B x 3 x S x S in
        [-1, 1]); images float B x 3 x S x S in [-1, 1], lesion bool B x S x S, on this generator's device.

        teacher: "residual" (default: kept tokens re-quantize the source latent's residual against the tokens
        actually drawn) or "precomputed" (the source's own token maps); keep_coarse: keep the coarsest scales of
        small lesions whole (see `var.inpainting`; 0 = off).
        """
        check_teacher_rule(teacher)
        label_t = _labels(labels)
        keep = keep_masks(lesion, self.tokenizer.scales, keep_coarse)
        source_f = self.tokenizer.encode(images)
        forced = (
            {"source_latent": source_f}
            if teacher == "residual"
            else {"teacher": self.tokenizer.quantizer.f_to_indices(source_f)}
        )
        tokens = sample_tokens(
            self.transformer,
            self.tokenizer.quantizer,
            label_t.to(self.device),
            self._measurements(label_t, measurements),
            sampling,
            _generators(seed),
            keep=keep,
            **forced,
        )
        return self.tokenizer.indices_to_images(tokens)

    @torch.no_grad()
    def teacher_tokens(self, sources: np.ndarray) -> list[torch.Tensor]:
        """The source images' own token maps (what in-painting keeps outside the lesion with teacher="precomputed";
        the default residual rule re-quantizes against the tokens drawn, and equals these when nothing is redrawn)."""
        return self.tokenizer.images_to_indices(from_uint8(sources).to(self.device))


def _generators(seed: int | Sequence[int]) -> torch.Generator | list[torch.Generator]:
    """A seeded CPU generator, or one per seed (per-image draws)."""
    if isinstance(seed, (int, np.integer)):
        return torch.Generator().manual_seed(int(seed))
    return [torch.Generator().manual_seed(int(s)) for s in seed]
