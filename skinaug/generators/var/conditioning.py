"""The condition of the VAR transformer: class embedding S plus measurement embedding F_q (LF-VAR, section 2.2).

condition = S[label] + F_q, with

* S: an embedding table of ``num_classes + 1`` rows; the last row (index ``num_classes``) is the *null class*
  of classifier-free guidance.
* F_q = SiLU(LayerNorm(Linear(measurement_dim -> width)))(eps_r), eps_r the lesion measurement vector as scaled
  by the train-split robust scaler (`skinaug.measurements.RobustScaler`: median/IQR, clipped, NaN -> 0).
  A sample whose measurements are *null* (dropped for CFG, or not given) gets its measurement vector replaced
  by the zero vector and flagged: its F_q is a learned ``null_measurement`` vector instead of F_q(0), so "no
  measurements" is distinguishable from "measurements equal to the train median" (which scale to zero).

Measurement modes (`TransformerConfig.measurements`, the paper's ablation, Table 3):

* ``"none"``: measurements are ignored (no F_q at all; the module holds no measurement layers), the
  condition is the class embedding only. Plain class-conditional VAR.
* ``"fixed"`` and ``"adaptive"``: the encoder and training are identical (each training image is conditioned
  on its own measurement vector); they differ only in the vectors fed at *sampling* time, see
  `sampling_measurements`:

  - ``"fixed"`` (paper: FM, "a constant measurement value applied across all lesions"): every synthetic
    sample gets the same constant vector, whatever its class (by default the unweighted mean of the class
    averages).
  - ``"adaptive"`` (paper: AM): intra-class synthesis uses the source image's own vector; inter-class
    synthesis uses the target class's average vector from the class-average codebook
    (``measurements/class_means.json``, train split only).

Classifier-free-guidance dropout in training (``drop=True``): one draw per sample picks one of four outcomes,

* both dropped (null class AND null measurements: the CFG null branch used at sampling time) with
  probability ``joint_drop`` (default 0.1, VAR's unconditional rate);
* class only dropped (null class, own measurements) with probability ``class_drop`` (default 0.05);
* measurements only dropped (own class, null measurements) with probability ``measurement_drop`` (0.05);
* nothing dropped with probability ``1 - joint_drop - class_drop - measurement_drop`` (default 0.8).

So the class is null on ``joint_drop + class_drop`` of the samples (0.15) and the measurements on
``joint_drop + measurement_drop`` (0.15). (Earlier versions drew the two drops independently at 10 % each,
which trained the fully unconditional branch on only 1 % of the samples.) In mode ``"none"`` there are no
measurements, so the null branch (null class) is trained on ``joint_drop + class_drop`` of the samples.
`guidance_drops` makes the draw.

No dropout in evaluation (``drop=False``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...errors import SkinaugError

MEASUREMENT_MODES = ("none", "fixed", "adaptive")


def check_drop_rates(class_drop: float, measurement_drop: float, joint_drop: float) -> None:
    """SkinaugError unless the three CFG drop rates are probabilities that sum to at most 1."""
    rates = {"class_drop": class_drop, "measurement_drop": measurement_drop, "joint_drop": joint_drop}
    for name, p in rates.items():
        if not 0.0 <= p <= 1.0:
            raise SkinaugError(f"{name} must be in [0, 1], got {p}")
    if sum(rates.values()) > 1.0 + 1e-9:
        raise SkinaugError(
            f"joint_drop + class_drop + measurement_drop must be at most 1 (they are the shares of "
            f"three exclusive outcomes), got {sum(rates.values()):.3f}"
        )


def guidance_drops(
    batch: int,
    joint_drop: float,
    class_drop: float,
    measurement_drop: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor]:
    """(class nulled, measurements nulled), two BoolTensors B: one uniform per sample picks both dropped
    (P = joint_drop), class only (class_drop), measurements only (measurement_drop) or nothing (the rest)."""
    u = torch.rand(batch, device=device, generator=generator)
    both = u < joint_drop
    class_only = (u >= joint_drop) & (u < joint_drop + class_drop)
    measurements_only = (u >= joint_drop + class_drop) & (u < joint_drop + class_drop + measurement_drop)
    return both | class_only, both | measurements_only


class ConditionEncoder(nn.Module):
    """Class + measurement condition -> one vector per sample (B x width)."""

    def __init__(
        self,
        num_classes: int,
        measurement_dim: int,
        width: int,
        measurements_mode: str = "adaptive",
        class_drop: float = 0.05,
        measurement_drop: float = 0.05,
        joint_drop: float = 0.1,
    ) -> None:
        super().__init__()
        if measurements_mode not in MEASUREMENT_MODES:
            raise SkinaugError(
                f"unknown measurements mode {measurements_mode!r}; choose one of {', '.join(MEASUREMENT_MODES)}"
            )
        if num_classes < 1:
            raise SkinaugError(f"num_classes must be at least 1, got {num_classes}")
        if measurements_mode != "none" and measurement_dim < 1:
            raise SkinaugError(
                f"measurements mode {measurements_mode!r} needs measurement_dim >= 1 (set it from "
                f"the measurement scaler), got {measurement_dim}; use mode 'none' to ignore them"
            )
        check_drop_rates(class_drop, measurement_drop, joint_drop)
        self.num_classes = num_classes
        self.null_class = num_classes
        self.measurement_dim = measurement_dim if measurements_mode != "none" else 0
        self.width = width
        self.mode = measurements_mode
        self.class_drop = class_drop
        self.measurement_drop = measurement_drop
        self.joint_drop = joint_drop
        self.class_embed = nn.Embedding(num_classes + 1, width)
        if self.uses_measurements:
            self.measurement_embed: nn.Sequential | None = nn.Sequential(
                nn.Linear(measurement_dim, width), nn.LayerNorm(width), nn.SiLU()
            )
            self.null_measurement: nn.Parameter | None = nn.Parameter(torch.zeros(width))
        else:
            self.measurement_embed = None
            self.null_measurement = None

    @property
    def uses_measurements(self) -> bool:
        return self.mode != "none"

    def forward(
        self,
        labels: Tensor,
        measurements: Tensor | None = None,
        drop: bool = False,
        measurement_null: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Condition vectors B x width.

        labels: LongTensor B in [0, num_classes] (num_classes = the null class).
        measurements: B x measurement_dim scaled vectors, or None (= null for every sample); ignored in mode
            "none".
        drop: apply the training-time CFG dropout (one of the four outcomes per sample, see `guidance_drops`).
        measurement_null: optional BoolTensor B, True where the measurements are null (the CFG null branch).
        generator: optional RNG for the dropout draws (on the labels' device); the global RNG otherwise.
        """
        if labels.dim() != 1:
            raise SkinaugError(f"labels must be a 1-d LongTensor, got shape {tuple(labels.shape)}")
        batch, device = labels.shape[0], labels.device
        labels = labels.long()
        if drop:
            class_null, measurements_null = guidance_drops(
                batch, self.joint_drop, self.class_drop, self.measurement_drop, generator, device
            )
            labels = torch.where(class_null, torch.full_like(labels, self.null_class), labels)
        cond = self.class_embed(labels)
        if not self.uses_measurements:
            return cond
        null = (
            torch.zeros(batch, dtype=torch.bool, device=device)
            if measurement_null is None
            else measurement_null.to(device=device, dtype=torch.bool).clone()
        )
        if measurements is None:
            null = torch.ones_like(null)
            measurements = torch.zeros(batch, self.measurement_dim, device=device, dtype=cond.dtype)
        if measurements.shape != (batch, self.measurement_dim):
            raise SkinaugError(
                f"measurements must be {batch} x {self.measurement_dim}, got {tuple(measurements.shape)}"
            )
        if drop:
            null |= measurements_null
        measurements = measurements.to(cond.dtype).masked_fill(null[:, None], 0.0)
        assert self.measurement_embed is not None and self.null_measurement is not None  # uses_measurements
        fq = self.measurement_embed(measurements)
        fq = torch.where(null[:, None], self.null_measurement.to(fq.dtype).expand_as(fq), fq)
        return cond + fq

    def null(self, batch: int, device: torch.device | str | None = None) -> Tensor:
        """The fully unconditional condition (null class, null measurements), B x width: CFG's null branch."""
        labels = torch.full((batch,), self.null_class, dtype=torch.long, device=device)
        nulls = torch.ones(batch, dtype=torch.bool, device=device)
        return self.forward(labels, None, drop=False, measurement_null=nulls)


def sampling_measurements(
    mode: str,
    labels: Tensor,
    class_means: Tensor | None = None,
    own: Tensor | None = None,
    constant: Tensor | None = None,
) -> Tensor | None:
    """The measurement vectors to condition sampling on, per the ablation mode (B x m, or None).

    * "none": None (the model ignores measurements).
    * "fixed": one constant vector for every sample: `constant`, by default the unweighted mean of the
      class averages `class_means` (num_classes x m).
    * "adaptive": `own` (B x m; intra-class synthesis: each source image's own vector) if given, otherwise
      the class average of each sample's (target) label: ``class_means[labels]`` (inter-class synthesis).
    """
    if mode not in MEASUREMENT_MODES:
        raise SkinaugError(f"unknown measurements mode {mode!r}; choose one of {', '.join(MEASUREMENT_MODES)}")
    if mode == "none":
        return None
    batch = labels.shape[0]
    if mode == "fixed":
        if constant is None:
            if class_means is None:
                raise SkinaugError("mode 'fixed' needs `constant` or `class_means`")
            constant = class_means.float().mean(0)
        return constant.float().to(labels.device).expand(batch, -1).clone()
    if own is not None:
        if own.shape[0] != batch:
            raise SkinaugError(f"own measurements have {own.shape[0]} rows for {batch} labels")
        return own.float().to(labels.device)
    if class_means is None:
        raise SkinaugError("mode 'adaptive' needs `own` (intra-class) or `class_means` (inter-class)")
    return class_means.float().to(labels.device)[labels.long()]
