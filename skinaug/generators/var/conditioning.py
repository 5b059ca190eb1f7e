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

Classifier-free-guidance dropout in training (``drop=True``), drawn independently per sample:

* the class label is replaced by the null class with probability ``class_drop`` (default 0.1, as VAR);
* the measurements are nulled (zero vector + null flag) with probability ``measurement_drop`` (default 0.1),
  independently of the class drop, so about 81 % of samples see both, 9 % class only, 9 % measurements
  only and 1 % neither (the fully unconditional case used as the CFG null branch at sampling time).

No dropout in evaluation (``drop=False``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...errors import SkinaugError

MEASUREMENT_MODES = ("none", "fixed", "adaptive")


class ConditionEncoder(nn.Module):
    """Class + measurement condition -> one vector per sample (B x width)."""

    def __init__(self, num_classes: int, measurement_dim: int, width: int, measurements_mode: str = "adaptive",
                 class_drop: float = 0.1, measurement_drop: float = 0.1) -> None:
        super().__init__()
        if measurements_mode not in MEASUREMENT_MODES:
            raise SkinaugError(f"unknown measurements mode {measurements_mode!r}; choose one of "
                               f"{', '.join(MEASUREMENT_MODES)}")
        if num_classes < 1:
            raise SkinaugError(f"num_classes must be at least 1, got {num_classes}")
        if measurements_mode != "none" and measurement_dim < 1:
            raise SkinaugError(f"measurements mode {measurements_mode!r} needs measurement_dim >= 1 (set it from "
                               f"the measurement scaler), got {measurement_dim}; use mode 'none' to ignore them")
        for name, p in (("class_drop", class_drop), ("measurement_drop", measurement_drop)):
            if not 0.0 <= p <= 1.0:
                raise SkinaugError(f"{name} must be in [0, 1], got {p}")
        self.num_classes = num_classes
        self.null_class = num_classes
        self.measurement_dim = measurement_dim if measurements_mode != "none" else 0
        self.width = width
        self.mode = measurements_mode
        self.class_drop = class_drop
        self.measurement_drop = measurement_drop
        self.class_embed = nn.Embedding(num_classes + 1, width)
        if self.uses_measurements:
            self.measurement_embed: nn.Sequential | None = nn.Sequential(nn.Linear(measurement_dim, width),
                                                                          nn.LayerNorm(width), nn.SiLU())
            self.null_measurement: nn.Parameter | None = nn.Parameter(torch.zeros(width))
        else:
            self.measurement_embed = None
            self.null_measurement = None

    @property
    def uses_measurements(self) -> bool:
        return self.mode != "none"

    def forward(self, labels: Tensor, measurements: Tensor | None = None, drop: bool = False,
                measurement_null: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Condition vectors B x width.

        labels: LongTensor B in [0, num_classes] (num_classes = the null class).
        measurements: B x measurement_dim scaled vectors, or None (= null for every sample); ignored in mode
            "none".
        drop: apply the training-time CFG dropout (class_drop / measurement_drop, independently per sample).
        measurement_null: optional BoolTensor B, True where the measurements are null (the CFG null branch).
        generator: optional RNG for the dropout draws (on the labels' device); the global RNG otherwise.
        """
        if labels.dim() != 1:
            raise SkinaugError(f"labels must be a 1-d LongTensor, got shape {tuple(labels.shape)}")
        batch, device = labels.shape[0], labels.device
        labels = labels.long()
        if drop and self.class_drop > 0:
            dropped = torch.rand(batch, device=device, generator=generator) < self.class_drop
            labels = torch.where(dropped, torch.full_like(labels, self.null_class), labels)
        cond = self.class_embed(labels)
        if not self.uses_measurements:
            return cond
        null = (torch.zeros(batch, dtype=torch.bool, device=device) if measurement_null is None
                else measurement_null.to(device=device, dtype=torch.bool).clone())
        if measurements is None:
            null = torch.ones_like(null)
            measurements = torch.zeros(batch, self.measurement_dim, device=device, dtype=cond.dtype)
        if measurements.shape != (batch, self.measurement_dim):
            raise SkinaugError(f"measurements must be {batch} x {self.measurement_dim}, "
                               f"got {tuple(measurements.shape)}")
        if drop and self.measurement_drop > 0:
            null |= torch.rand(batch, device=device, generator=generator) < self.measurement_drop
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


def sampling_measurements(mode: str, labels: Tensor, class_means: Tensor | None = None,
                          own: Tensor | None = None, constant: Tensor | None = None) -> Tensor | None:
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
