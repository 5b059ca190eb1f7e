"""Which tokens zero-shot in-painting takes from the source, and by which rule (see `sampling.sample_tokens`).

Teacher rules (`TEACHER_RULES`): ``"residual"`` (default): a kept token is the code of the residual between the
source's latent and the f_hat accumulated from the tokens actually drawn; ``"precomputed"``: the source's own
token maps (VAR's zero-shot rule; kept for comparison, benchmarks/inpaint_consistency.py).

Keep masks: a token is kept (taken from the source) when its patch does not touch the lesion (`token_masks`'
any-overlap rule), so every regenerated token covers some lesion pixel. Optionally (``keep_coarse`` > 0) the
coarsest scales of a small lesion are kept whole: scale k of a sample is taken entirely from the source when
no token of that scale has more than ``keep_coarse`` of its patch inside the lesion, checked from the coarsest
scale up and stopping at the first scale that fails. With any-overlap alone the 1 x 1 token always touches
the lesion and is redrawn, so the global colour of the whole image is resampled even for a lesion of a few
pixels. Default 0 (off): the coarse tokens are also where the class shows first, and keeping them from the
source pulls an inter-class lesion towards the source's class; the benchmark measures both.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ...errors import SkinaugError
from ..tokenizer.token_masks import token_masks

TEACHER_RULES = ("residual", "precomputed")


def check_teacher_rule(rule: str) -> str:
    """The rule itself, or a SkinaugError naming the choices."""
    if rule not in TEACHER_RULES:
        raise SkinaugError(f"unknown in-painting teacher rule {rule!r}; choose one of {', '.join(TEACHER_RULES)}")
    return rule


def keep_masks(lesion: torch.Tensor, scales: Sequence[int], keep_coarse: float = 0.0) -> list[torch.Tensor]:
    """Per scale, bool B x s x s: True where in-painting takes the token from the source (module docstring)."""
    if not 0.0 <= keep_coarse <= 1.0:
        raise SkinaugError(f"keep_coarse must be in [0, 1], got {keep_coarse}")
    keep = [~m for m in token_masks(lesion, scales)]
    if keep_coarse <= 0:
        return keep
    occupied = (lesion > 0).float().reshape(lesion.shape[0], 1, *lesion.shape[-2:])
    still_coarse = torch.ones(lesion.shape[0], dtype=torch.bool, device=lesion.device)
    for k, s in enumerate(scales):
        largest = F.adaptive_avg_pool2d(occupied, (int(s), int(s))).flatten(1).amax(1)  # B: worst token
        still_coarse &= largest < keep_coarse
        if not still_coarse.any():
            break
        keep[k] = keep[k] | still_coarse[:, None, None]
    return keep
