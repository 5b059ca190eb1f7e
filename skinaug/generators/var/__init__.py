"""VAR next-scale transformer of LF-VAR: conditioning, block-causal attention, AdaLN blocks, sampler."""

from .attention import KVCache, SelfAttention, block_causal_mask, scale_levels
from .blocks import AdaLNBlock, AdaLNHead
from .conditioning import MEASUREMENT_MODES, ConditionEncoder, sampling_measurements
from .model import VARLossOutput, VARTransformer
from .sampling import CFG_SCHEDULES, SamplingConfig, draw_tokens, filter_logits, sample_tokens, uniforms_per_scale

__all__ = [
    "AdaLNBlock",
    "AdaLNHead",
    "CFG_SCHEDULES",
    "ConditionEncoder",
    "KVCache",
    "MEASUREMENT_MODES",
    "SamplingConfig",
    "SelfAttention",
    "VARLossOutput",
    "VARTransformer",
    "block_causal_mask",
    "draw_tokens",
    "filter_logits",
    "sample_tokens",
    "sampling_measurements",
    "scale_levels",
    "uniforms_per_scale",
]
