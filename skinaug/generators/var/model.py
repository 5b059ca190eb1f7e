"""The VAR next-scale transformer of LF-VAR (GPT-2 style decoder, block-causal over scales, AdaLN conditioning).

Token layout: the K token maps of the tokenizer (sides ``scales``), each flattened row-major, concatenated:
L = sum(s_k^2) positions. Scale k's tokens are all predicted at once from scales < k.

Inputs at the L positions:

* scale 0 (``scales[0]**2`` positions): the *start tokens* = condition vector + a learned ``pos_start``;
* scales 1..K-1: the teacher-forcing inputs of the quantizer (``quantizer.indices_to_var_input``: the running
  f_hat after scale k-1, area-downsampled to scale k), projected by ``word_embed`` (Linear latent_dim -> width);
* plus, everywhere, a learned absolute position embedding (L x width) and a level embedding (one per scale).

The output at the positions of scale k are the logits of scale k's tokens (so position i of the output
predicts token i of the target sequence; no shift).

Conditioning: the condition vector (class + measurements, `ConditionEncoder`) is the start token and modulates
every block and the head through adaptive LayerNorm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import SkinaugError
from ..config import TokenizerConfig, TransformerConfig
from .attention import KVCache, block_causal_mask, scale_levels
from .blocks import AdaLNBlock, AdaLNHead
from .conditioning import ConditionEncoder


@dataclass
class VARLossOutput:
    """`VARTransformer.loss`: the training loss and detached statistics for logging (no GPU sync taken)."""

    loss: Tensor  # scalar, mean cross-entropy over all B x L tokens (differentiable)
    scale_losses: Tensor  # K, mean cross-entropy per scale (detached)
    scale_accuracy: Tensor  # K, top-1 accuracy per scale (detached)
    accuracy: Tensor  # scalar, top-1 accuracy over all tokens (detached)


class VARTransformer(nn.Module):
    """Next-scale prediction transformer; see the module docstring for the token layout."""

    levels: Tensor  # buffers (see __init__)
    attn_mask: Tensor

    def __init__(self, transformer_config: TransformerConfig, tokenizer_config: TokenizerConfig) -> None:
        super().__init__()
        tc, kc = transformer_config, tokenizer_config
        if tc.width % tc.heads:
            raise SkinaugError(f"transformer width {tc.width} is not divisible by heads {tc.heads}")
        if not kc.scales or any(s < 1 for s in kc.scales):
            raise SkinaugError(f"invalid tokenizer scales {kc.scales}")
        self.scales: tuple[int, ...] = tuple(int(s) for s in kc.scales)
        self.num_scales = len(self.scales)
        self.vocab_size = kc.vocab_size
        self.latent_dim = kc.latent_dim
        self.width, self.depth, self.heads = tc.width, tc.depth, tc.heads
        self.num_classes = tc.num_classes
        self.first_len = self.scales[0] ** 2
        ends = torch.tensor([s * s for s in self.scales]).cumsum(0).tolist()
        self.begin_ends: list[tuple[int, int]] = [(e - s * s, e) for s, e in zip(self.scales, ends)]
        self.num_tokens = ends[-1]

        width = tc.width
        self.condition_encoder = ConditionEncoder(
            tc.num_classes,
            tc.measurement_dim,
            width,
            tc.measurements,
            class_drop=tc.class_drop,
            measurement_drop=tc.measurement_drop,
            joint_drop=tc.joint_drop,
        )
        self.word_embed = nn.Linear(self.latent_dim, width)
        self.pos_start = nn.Parameter(torch.empty(1, self.first_len, width))
        self.pos_embed = nn.Parameter(torch.empty(1, self.num_tokens, width))
        self.level_embed = nn.Embedding(self.num_scales, width)
        drop_path = torch.linspace(0, tc.drop_path, tc.depth).tolist() if tc.depth else []
        self.blocks = nn.ModuleList(
            AdaLNBlock(width, tc.heads, tc.mlp_ratio, tc.dropout, drop_path[i], tc.attn_l2_norm)
            for i in range(tc.depth)
        )
        self.head = AdaLNHead(width, self.vocab_size)
        self.register_buffer("levels", scale_levels(self.scales), persistent=False)
        self.register_buffer("attn_mask", block_causal_mask(self.scales), persistent=False)
        self.init_weights()

    # ---------------------------------------------------------------- initialisation (as VAR)
    @torch.no_grad()
    def init_weights(self, init_head: float = 0.02, init_adaln: float = 0.5, init_adaln_gamma: float = 1e-5) -> None:
        """Truncated normal (std sqrt(1/(3 width))) everywhere, zero biases; residual projections scaled by
        1/sqrt(2 depth); AdaLN gates x1e-5 (blocks start near the identity), scale/shift x0.5; head x0.02."""
        std = math.sqrt(1.0 / (3.0 * self.width))

        def trunc(t: Tensor) -> None:
            nn.init.trunc_normal_(t, std=std, a=-2 * std, b=2 * std)

        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc(m.weight)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.Embedding):
                trunc(m.weight)
            elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
        trunc(self.pos_start)
        trunc(self.pos_embed)
        self.head.head.weight.mul_(init_head)
        head_ada = self.head.ada[-1]
        assert isinstance(head_ada, nn.Linear)
        head_ada.weight.mul_(init_adaln)
        residual_gain = 1.0 / math.sqrt(2 * max(self.depth, 1))
        for block in self.blocks:
            assert isinstance(block, AdaLNBlock)
            block.attn.proj.weight.mul_(residual_gain)
            block.mlp.fc2.weight.mul_(residual_gain)
            block.init_modulation(gate_gain=init_adaln_gamma, scale_shift_gain=init_adaln)

    # ---------------------------------------------------------------- building blocks
    def condition(
        self,
        labels: Tensor,
        measurements: Tensor | None = None,
        drop: bool = False,
        measurement_null: Tensor | None = None,
    ) -> Tensor:
        """Condition vectors B x width (see `ConditionEncoder.forward`)."""
        return self.condition_encoder(labels, measurements, drop=drop, measurement_null=measurement_null)

    def null_condition(self, batch: int) -> Tensor:
        """CFG's unconditional vector (null class, null measurements), B x width."""
        return self.condition_encoder.null(batch, device=self.pos_embed.device)

    def scale_tokens(self, k: int, cond: Tensor | None = None, inputs: Tensor | None = None) -> Tensor:
        """Embedded input tokens of scale k, B x s_k^2 x width: start tokens from `cond` (k = 0) or
        ``word_embed(inputs)`` (k >= 1, inputs B x s_k^2 x latent_dim), plus position and level embeddings."""
        begin, end = self.begin_ends[k]
        if k == 0:
            if cond is None:
                raise SkinaugError("scale 0 needs the condition vector")
            x = cond[:, None, :] + self.pos_start
        else:
            if inputs is None or inputs.shape[1:] != (end - begin, self.latent_dim):
                got = None if inputs is None else tuple(inputs.shape)
                raise SkinaugError(f"scale {k} needs inputs B x {end - begin} x {self.latent_dim}, got {got}")
            x = self.word_embed(inputs.to(self.word_embed.weight.dtype))
        return x + self.pos_embed[:, begin:end] + self.level_embed.weight[k]

    def new_caches(self) -> list[KVCache]:
        """One empty KV cache per block, for `step` (room for all L tokens, allocated at the first scale)."""
        return [KVCache(self.num_tokens) for _ in self.blocks]

    def step(self, x: Tensor, cond: Tensor, caches: list[KVCache]) -> Tensor:
        """Cached inference on one scale: x = `scale_tokens(k, ...)` of the next scale in order; appends its
        keys/values to `caches` and returns that scale's logits (float32, B x s_k^2 x V)."""
        for block, cache in zip(self.blocks, caches):
            x = block(x, cond, cache=cache)
        return self.head(x, cond).float()

    def forward_prefix(self, cond: Tensor, var_input: Tensor, num_scales: int) -> Tensor:
        """Block-causal forward over the first `num_scales` scales (teacher forcing / no-cache sampling).

        var_input: B x (L_n - s_0^2) x latent_dim, the inputs of scales 1..num_scales-1. Returns float32 logits
        B x L_n x V with L_n the number of tokens of those scales.
        """
        if not 1 <= num_scales <= self.num_scales:
            raise SkinaugError(f"num_scales must be in 1..{self.num_scales}, got {num_scales}")
        n = self.begin_ends[num_scales - 1][1]
        expected = (cond.shape[0], n - self.first_len, self.latent_dim)
        if tuple(var_input.shape) != expected:
            raise SkinaugError(f"var_input must be {' x '.join(map(str, expected))}, got {tuple(var_input.shape)}")
        x = torch.cat(
            [cond[:, None, :] + self.pos_start, self.word_embed(var_input.to(self.word_embed.weight.dtype))], dim=1
        )
        x = x + self.pos_embed[:, :n] + self.level_embed(self.levels[:n])
        mask = self.attn_mask[:n, :n]
        for block in self.blocks:
            x = block(x, cond, attn_mask=mask)
        return self.head(x, cond).float()

    # ---------------------------------------------------------------- training
    def forward(
        self, labels: Tensor, measurements: Tensor | None, var_input: Tensor, drop: bool | None = None
    ) -> Tensor:
        """Teacher-forced logits B x L x V (float32).

        labels: LongTensor B (num_classes = null class); measurements: B x m scaled vectors or None (null);
        var_input: B x (L - s_0^2) x latent_dim from ``quantizer.indices_to_var_input``; drop: CFG dropout of
        class / measurements (default: ``self.training``).
        """
        if drop is None:
            drop = self.training
        cond = self.condition(labels, measurements, drop=drop)
        return self.forward_prefix(cond, var_input, self.num_scales)

    def targets(self, indices: list[Tensor]) -> Tensor:
        """The K index maps (B x s_k x s_k) as one LongTensor B x L."""
        if len(indices) != self.num_scales:
            raise SkinaugError(f"expected {self.num_scales} index maps, got {len(indices)}")
        batch = indices[0].shape[0]
        for k, (ix, s) in enumerate(zip(indices, self.scales)):
            if tuple(ix.shape) != (batch, s, s):
                raise SkinaugError(f"index map {k} must be {batch} x {s} x {s}, got {tuple(ix.shape)}")
        return torch.cat([ix.reshape(batch, -1) for ix in indices], dim=1).long()

    def loss(self, logits: Tensor, indices: list[Tensor], label_smoothing: float = 0.0) -> VARLossOutput:
        """Cross-entropy over tokens (mean over all B x L tokens, every token weighted equally, as VAR), plus
        per-scale losses and accuracies for logging."""
        target = self.targets(indices).to(logits.device)
        batch, length, vocab = logits.shape
        if (length, vocab) != (self.num_tokens, self.vocab_size) or target.shape[0] != batch:
            raise SkinaugError(
                f"logits {tuple(logits.shape)} do not match targets {tuple(target.shape)} x {self.vocab_size}"
            )
        ce = F.cross_entropy(
            logits.float().reshape(-1, vocab), target.reshape(-1), reduction="none", label_smoothing=label_smoothing
        ).view(batch, length)
        with torch.no_grad():
            correct = (logits.argmax(-1) == target).float()
            scale_losses = torch.stack([ce[:, b:e].mean() for b, e in self.begin_ends]).detach()
            scale_acc = torch.stack([correct[:, b:e].mean() for b, e in self.begin_ends])
            accuracy = correct.mean()
        return VARLossOutput(loss=ce.mean(), scale_losses=scale_losses, scale_accuracy=scale_acc, accuracy=accuracy)
