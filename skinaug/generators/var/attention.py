"""Multi-head self-attention with VAR's block-causal mask and a per-scale KV cache.

Training / teacher forcing: all L tokens at once with the block-causal mask (`block_causal_mask`): a token of
scale k attends to every token of scales <= k (its own scale included, all directions), never to later scales.

Sampling: one call per scale with a `KVCache`; the keys/values of the current scale are appended to the
cache and the scale's queries attend to everything cached, which is exactly scales <= k, so no mask is needed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def scale_levels(scales: tuple[int, ...] | list[int]) -> Tensor:
    """LongTensor L: the scale index of every token (row-major within each scale, scales in order)."""
    return torch.cat([torch.full((s * s,), k, dtype=torch.long) for k, s in enumerate(scales)])


def block_causal_mask(scales: tuple[int, ...] | list[int]) -> Tensor:
    """BoolTensor L x L, True where query i may attend key j: level(j) <= level(i)."""
    levels = scale_levels(scales)
    return levels[None, :] <= levels[:, None]


class KVCache:
    """Keys and values of the scales processed so far for one attention layer, in buffers allocated once
    (B x heads x capacity x head_dim, on the first append, in the keys' dtype and device) and filled in place:
    no reallocation or copy of the prefix per scale, and the same buffer addresses at every scale (what CUDA
    graphs need)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.k: Tensor | None = None
        self.v: Tensor | None = None
        self.length = 0

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Write this scale's keys/values after the cached ones; returns views of all keys/values so far."""
        if self.k is None or self.v is None or self.k.shape[0] != k.shape[0]:
            shape = (k.shape[0], k.shape[1], self.capacity, k.shape[3])
            self.k, self.v, self.length = k.new_empty(shape), v.new_empty(shape), 0
        end = self.length + k.shape[2]
        if end > self.capacity:
            raise ValueError(f"KV cache of {self.capacity} positions cannot take {end}")
        self.k[:, :, self.length : end] = k
        self.v[:, :, self.length : end] = v
        self.length = end
        return self.k[:, :, :end], self.v[:, :, :end]

    def __len__(self) -> int:
        return self.length


class SelfAttention(nn.Module):
    """Multi-head self-attention through `F.scaled_dot_product_attention`.

    With ``l2_norm`` (VAR's ``attn_l2_norm``) queries and keys are l2-normalised per head and the logits are
    multiplied by a learned per-head scale exp(s), s initialised to log(4) and clamped at log(100): the
    attention logits stay bounded, which keeps training stable at large widths.
    """

    def __init__(self, width: int, heads: int, l2_norm: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.width, self.heads, self.head_dim = width, heads, width // heads
        self.l2_norm = l2_norm
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.attn_dropout = dropout
        self.proj_drop = nn.Dropout(dropout)
        if l2_norm:
            self.log_scale: nn.Parameter | None = nn.Parameter(torch.full((1, heads, 1, 1), math.log(4.0)))
        else:
            self.log_scale = None

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, cache: KVCache | None = None) -> Tensor:
        """x: B x n x width. attn_mask: bool n x n (True = attend) or None. cache: append k/v and attend to all."""
        batch, n, _ = x.shape
        q, k, v = self.qkv(x).view(batch, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        if self.l2_norm:
            assert self.log_scale is not None
            q = F.normalize(q, dim=-1) * self.log_scale.clamp(max=math.log(100.0)).exp().to(q.dtype)
            k = F.normalize(k, dim=-1)
            scale = 1.0
        else:
            scale = None  # 1 / sqrt(head_dim)
        if cache is not None:
            k, v = cache.append(k, v)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.attn_dropout if self.training else 0.0, scale=scale
        )
        out = out.transpose(1, 2).reshape(batch, n, self.width)
        return self.proj_drop(self.proj(out))
