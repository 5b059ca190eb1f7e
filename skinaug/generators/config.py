"""LF-VAR model sizes as named configs: `tiny` (CPU tests, 64 px), `small` (128 px), `base` (256 px, VAR d16), `512`.

A config is plain dataclasses, saved as JSON beside every checkpoint, so a checkpoint fully describes
the model that reads it.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any

from ..errors import SkinaugError


@dataclass
class TokenizerConfig:
    """Multi-scale lesion-focused VQ-VAE (encoder, residual multi-scale quantizer, decoder)."""

    image_size: int = 64
    channels: int = 32  # width of the first encoder stage
    channel_mult: tuple[int, ...] = (1, 2, 2, 4)  # one stage per entry; len - 1 downsamplings
    res_blocks: int = 1
    latent_dim: int = 16  # d: width of f and of the codebook vectors
    vocab_size: int = 512  # one codebook shared by all scales
    scales: tuple[int, ...] = (1, 2, 3, 4, 6, 8)  # side of each token map; the last = latent side
    phi_share: int = 4  # number of phi refinement convs shared across scales (VAR: 4)
    phi_mix: float = 0.5  # phi output mixed 50/50 with its input
    l2_lookup: bool = True  # cosine (l2-normalised) nearest-code lookup against collapse
    dead_code_restart: bool = True  # re-seed codes unused for `dead_code_steps` from live residuals
    dead_code_steps: int = 200
    dead_code_check_every: int = 10  # restarts are decided after every this many steps (each decision reads one
    # count from the device: a host sync on a GPU); a dead code thus waits at most this many steps more
    commitment: float = 0.25  # beta of the codebook/commitment loss ||f - f_hat||
    lesion_focus: float = 1.0  # weight of eq. 2's per-scale non-lesion term (tokenizer/lesion_focus.py;
    # 0 = off, the ablation: still computed, equal compute)
    frequency_weight: float = 0.0  # weight of the spectrum L1 term (tokenizer/frequency_loss.py): fine detail
    perceptual_weight: float = 0.1  # lambda_P; used only with a local LPIPS/VGG weights file
    adversarial_weight: float = 0.1  # lambda_G (PatchGAN hinge loss)
    adversarial_start: int = 2000  # discriminator starts after this many steps
    disc_channels: int = 64
    disc_layers: int = 3

    @property
    def latent_size(self) -> int:
        """Side of the latent map f: image_size / 2**(len(channel_mult) - 1)."""
        return self.image_size // 2 ** (len(self.channel_mult) - 1)

    @property
    def num_tokens(self) -> int:
        """Tokens over all scales (sum of side**2)."""
        return sum(s * s for s in self.scales)


@dataclass
class TransformerConfig:
    """VAR next-scale transformer with adaptive LayerNorm conditioning on class + measurements.

    Classifier-free-guidance dropout in training, four exclusive outcomes drawn per sample: class AND
    measurements null (the unconditional branch CFG uses) with probability joint_drop (0.1); class only null
    with class_drop (0.05); measurements only null with measurement_drop (0.05); neither with
    1 - joint_drop - class_drop - measurement_drop (0.8). The three must sum to at most 1.
    """

    depth: int = 4
    width: int = 128
    heads: int = 4
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    drop_path: float = 0.0
    num_classes: int = 7  # plus one null class for classifier-free guidance
    measurement_dim: int = 0  # set from the scaler when training starts
    joint_drop: float = 0.1  # P(class AND measurements null) in training: VAR's unconditional rate
    class_drop: float = 0.05  # P(class only null) in training (exclusive of the other outcomes)
    measurement_drop: float = 0.05  # P(measurements only null) in training
    measurements: str = "adaptive"  # none | fixed | adaptive (ablation of the paper)
    attn_l2_norm: bool = True  # VAR's l2-normalised q/k with a learned per-head scale (stability)


@dataclass
class OptimConfig:
    """AdamW(0.9, 0.95), weight decay 0.05, linear warm-up then cosine decay, gradient clipping."""

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.05
    warmup_steps: int = 100
    steps: int = 2000
    batch_size: int = 16
    grad_clip: float = 2.0
    class_balance: float = 0.0  # draws per image ~ n_class ** -class_balance: 0 plain epochs, 1 every class
    # equally often (batches.class_draw_weights)
    log_every: int = 20
    val_every: int = 200
    checkpoint_every: int = 200


@dataclass
class GeneratorConfig:
    """Everything that defines an LF-VAR model and its training."""

    name: str = "tiny"
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    tokenizer_optim: OptimConfig = field(default_factory=OptimConfig)
    transformer_optim: OptimConfig = field(default_factory=OptimConfig)
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GeneratorConfig":
        """Inverse of to_dict; unknown keys are an error (a config from a newer skinaug)."""
        return _build(cls, data, "generator config")

    def with_overrides(
        self,
        *,
        tokenizer_steps: int | None = None,
        transformer_steps: int | None = None,
        batch_size: int | None = None,
        lesion_focus: float | None = None,
        measurements: str | None = None,
    ) -> "GeneratorConfig":
        """A copy with the command-line settings changed (None or 0 keeps the config's value).

        `batch_size` is the global batch of both stages; shared by `train-generator` and the demo. Steps set below
        twice the config's warm-up also shorten the warm-up to a tenth of the steps, as the named configs have it
        (else the learning rate would still be rising when training ends: no cosine decay at all).
        """
        config = copy.deepcopy(self)
        if lesion_focus is not None:
            config.tokenizer.lesion_focus = lesion_focus
        if measurements:
            config.transformer.measurements = measurements
        for optim, steps in ((config.tokenizer_optim, tokenizer_steps), (config.transformer_optim, transformer_steps)):
            if steps:
                optim.steps = steps
                if optim.warmup_steps > steps // 2:
                    optim.warmup_steps = steps // 10
            if batch_size:
                optim.batch_size = batch_size
        return config


def _build(kind: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(kind)}
    unknown = set(data) - set(known)
    if unknown:
        raise SkinaugError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    values = {}
    for name, value in data.items():
        default = getattr(kind(), name) if name != "name" else None
        if is_dataclass(default) and isinstance(value, dict):
            values[name] = _build(type(default), value, f"{where}.{name}")
        elif isinstance(default, tuple) and isinstance(value, list):
            values[name] = tuple(value)
        else:
            values[name] = value
    return kind(**values)


def _named(
    name: str,
    image_size: int,
    channels: int,
    channel_mult: tuple[int, ...],
    latent_dim: int,
    vocab: int,
    scales: tuple[int, ...],
    depth: int,
    width: int,
    heads: int,
    steps: tuple[int, int],
    batch: int,
    lr: float,
) -> GeneratorConfig:
    return GeneratorConfig(
        name=name,
        tokenizer=TokenizerConfig(
            image_size=image_size,
            channels=channels,
            channel_mult=channel_mult,
            latent_dim=latent_dim,
            vocab_size=vocab,
            scales=scales,
            res_blocks=1 if image_size <= 64 else 2,
            adversarial_start=steps[0] // 2,
        ),
        transformer=TransformerConfig(depth=depth, width=width, heads=heads),
        tokenizer_optim=OptimConfig(
            lr=2e-4 if image_size > 64 else 1e-3,
            steps=steps[0],
            batch_size=batch,
            warmup_steps=min(500, steps[0] // 10),
        ),
        transformer_optim=OptimConfig(lr=lr, steps=steps[1], batch_size=batch, warmup_steps=min(500, steps[1] // 10)),
    )


CONFIGS: dict[str, GeneratorConfig] = {
    "tiny": _named("tiny", 64, 32, (1, 2, 2, 4), 16, 512, (1, 2, 3, 4, 6, 8), 4, 128, 4, (2000, 2000), 16, 1e-3),
    "small": _named(
        "small", 128, 64, (1, 2, 2, 4), 32, 1024, (1, 2, 3, 4, 5, 6, 8, 10, 13, 16), 8, 512, 8, (20000, 20000), 32, 5e-4
    ),
    "base": _named(
        "base",
        256,
        128,
        (1, 1, 2, 2, 4),
        32,
        4096,
        (1, 2, 3, 4, 5, 6, 8, 10, 13, 16),
        16,
        1024,
        16,
        (100000, 100000),
        32,
        1e-3,
    ),
    "512": _named(
        "512",
        512,
        128,
        (1, 1, 2, 2, 4),
        32,
        4096,
        (1, 2, 3, 4, 6, 9, 13, 18, 24, 32),
        20,
        1280,
        20,
        (200000, 200000),
        16,
        1e-3,
    ),
}


def get_config(name: str) -> GeneratorConfig:
    """A fresh copy of a named config; SkinaugError listing the names if unknown."""
    if name not in CONFIGS:
        raise SkinaugError(f"unknown generator config {name!r}; choose one of {', '.join(CONFIGS)}")
    return GeneratorConfig.from_dict(CONFIGS[name].to_dict())


def load_config(name_or_path: str) -> GeneratorConfig:
    """A named config, or a GeneratorConfig read from a JSON file (a dict, or {"model": dict} as in config.json)."""
    from pathlib import Path

    from ..atomic import read_json

    if name_or_path in CONFIGS:
        return get_config(name_or_path)
    path = Path(name_or_path)
    if not path.suffix == ".json":
        raise SkinaugError(
            f"unknown generator config {name_or_path!r}; choose one of {', '.join(CONFIGS)} or give a .json file"
        )
    if not path.exists():
        raise SkinaugError(f"{path}: config file not found")
    data = read_json(path)
    return GeneratorConfig.from_dict(data.get("model", data))
