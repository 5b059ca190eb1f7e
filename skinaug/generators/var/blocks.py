"""Adaptive-LayerNorm transformer block (VAR / DiT style) and the AdaLN output head."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .attention import KVCache, SelfAttention


class DropPath(nn.Module):
    """Stochastic depth: drops the whole residual branch of a sample with probability p (training only)."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if self.p <= 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class MLP(nn.Module):
    def __init__(self, width: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.act(self.fc1(x))))


class AdaLNBlock(nn.Module):
    """x + gate1 * Attn(LN(x)(1+scale1)+shift1); then x + gate2 * MLP(LN(x)(1+scale2)+shift2).

    The six modulation vectors come from Linear(SiLU(cond)) (order: gate1, gate2, scale1, scale2, shift1,
    shift2); the LayerNorms have no affine parameters. `init_modulation` makes the gates start near zero
    (each block starts close to the identity), the scales/shifts small.
    """

    ada: nn.Sequential

    def __init__(
        self,
        width: int,
        heads: int,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        drop_path: float = 0.0,
        attn_l2_norm: bool = True,
        norm_eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.width = width
        self.norm1 = nn.LayerNorm(width, eps=norm_eps, elementwise_affine=False)
        self.attn = SelfAttention(width, heads, l2_norm=attn_l2_norm, dropout=dropout)
        self.norm2 = nn.LayerNorm(width, eps=norm_eps, elementwise_affine=False)
        self.mlp = MLP(width, round(width * mlp_ratio), dropout)
        self.drop_path = DropPath(drop_path)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))

    @torch.no_grad()
    def init_modulation(self, gate_gain: float = 1e-5, scale_shift_gain: float = 0.5) -> None:
        lin = self.ada[-1]
        assert isinstance(lin, nn.Linear)
        lin.weight[: 2 * self.width].mul_(gate_gain)
        lin.weight[2 * self.width :].mul_(scale_shift_gain)
        lin.bias.zero_()

    def forward(self, x: Tensor, cond: Tensor, attn_mask: Tensor | None = None, cache: KVCache | None = None) -> Tensor:
        """x: B x n x width; cond: B x width."""
        gate1, gate2, scale1, scale2, shift1, shift2 = self.ada(cond).view(-1, 1, 6, self.width).unbind(2)
        h = self.norm1(x) * (1 + scale1) + shift1
        x = x + self.drop_path(self.attn(h, attn_mask=attn_mask, cache=cache) * gate1)
        h = self.norm2(x) * (1 + scale2) + shift2
        return x + self.drop_path(self.mlp(h) * gate2)


class AdaLNHead(nn.Module):
    """Final AdaLN (scale, shift from the condition) followed by the linear head to the vocabulary."""

    ada: nn.Sequential
    head: nn.Linear

    def __init__(self, width: int, vocab_size: int, norm_eps: float = 1e-6) -> None:
        super().__init__()
        self.width = width
        self.norm = nn.LayerNorm(width, eps=norm_eps, elementwise_affine=False)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.head = nn.Linear(width, vocab_size)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        scale, shift = self.ada(cond).view(-1, 1, 2, self.width).unbind(2)
        return self.head(self.norm(x) * (1 + scale) + shift)
