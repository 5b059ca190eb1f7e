"""Learning-rate schedules shared by the classifier and the generator."""

from __future__ import annotations

import math

EPOCH_SELECTIONS = ("val", "last")  # the epoch a classifier run keeps: best real-val mean recall, or the last one


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, floor: float = 0.0) -> float:
    """Multiplier of the base learning rate: linear warm-up over `warmup_steps`, then cosine decay to `floor`."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
