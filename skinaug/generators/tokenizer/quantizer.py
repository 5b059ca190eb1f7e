"""VAR-style multi-scale residual quantizer with one shared codebook (the lesion-focused term: lesion_focus.py).

Quantization of a latent f (B x d x h x w, h = w = scales[-1]) over the scales s_1 < ... < s_K:

    f_hat_0 = 0
    for k = 1..K:
        R_k     = area_downsample(f - f_hat_{k-1}, s_k)           residual features on the s_k x s_k token grid
        r_k     = nearest code of every token of R_k                (cosine similarity if l2_lookup, else l2)
        e_k     = codebook[r_k]                                     (l2-normalised if l2_lookup), B x d x s_k x s_k
        h_k     = phi_k(bicubic_upsample(e_k, h))                   (no upsampling at the last scale, s_K = h)
        f_hat_k = f_hat_{k-1} + h_k                                 ("subtract from the residual" = the next R)

phi_k(x) = (1 - phi_mix) * x + phi_mix * conv3x3(x); `phi_share` convs are shared across the K scales: scale
k uses the conv whose tick (evenly spaced in [0, 1], as in VAR's PhiPartiallyShared) is nearest to its
relative position k / (K - 1). phi_share = 0 gives one conv per scale; phi_mix = 0 disables phi.

Gradients: the decoder sees f + (f_hat_K - f).detach() (straight-through estimator), so the reconstruction
loss trains the encoder; the codebook and the phi convs are trained by the losses below.

Losses (all mean squared errors, the usual reading of the ||.||_2 terms of eq. 2 in VQ-VAE training):
- 'codebook' (VAR): mean over k of  beta * ||sg(f_hat_k) - f||^2 + ||f_hat_k - sg(f)||^2  (commitment + codebook).
- 'latent' (eq. 2's ||f - f_hat||): ||f - f_hat_K||^2 with gradients into both the encoder and the codebook.
(eq. 2's lesion-focused non-lesion term needs the decoder's output and lives in lesion_focus.py.)

Codebook collapse guard: per-scale code counts, usage (fraction of the vocabulary hit in the batch) and
perplexity are returned for logging; a training-mode forward counts, per code, the steps since it was last
used at any scale, and `restart_dead_codes()` (call it after the optimizer step; TokenizerTrainer does)
re-initialises codes unused for `dead_code_steps` steps from random residual vectors R_k of that forward
(every scale equally likely, so that restarted codes also reach the coarse scales, where collapse shows first).

Several processes (DDP, `ranks` set by TokenizerTrainer): a training forward sums the code counts over all
ranks before updating the counters (so all ranks hold the same counters, those of the global batch), and a
restart draws from the residuals of the global batch (rank 0's, then rank 1's, ...): every rank draws the same
positions, the rank holding each vector contributes it and a sum over ranks gives all ranks the same new codes,
the ones a single process would choose for that global batch.

Precision: the forward passes of the nearest-code search, the whole quantization and every scale's
contribution to f_hat (the phi convolutions) run in plain float32 (`exact_float32`: autocast disabled, TF32 off),
also when the caller (bf16 training or sampling on a GPU, TF32 on) runs the encoder and decoder under autocast:
bf16's 8-bit mantissa cannot tell apart codes whose distances differ by less than ~0.4 %, so tokens would depend
on the precision, and sampling builds the same f_hat and transformer inputs from its tokens as training did from
the token cache.

The protocol used by the VAR transformer: `f_to_indices`, `indices_to_f_hat`, `indices_to_var_input`,
`next_input`, `residual_codes` (in-painting), `embed`, and the attributes `scales`, `vocab_size`, `latent_dim`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ...machine import exact_float32
from ..config import TokenizerConfig
from ..distributed import Distributed, gather_over_ranks, sum_over_ranks


@dataclass
class QuantizerOutput:
    """What `MultiScaleQuantizer.forward` returns."""

    f_hat: torch.Tensor  # B x d x h x w, straight-through (value f_hat_K, gradient to f)
    indices: list[torch.Tensor]  # per scale, B x s_k x s_k token ids
    losses: dict[str, torch.Tensor]  # 'codebook', 'latent', scalars
    # 'counts' K x V codes hit per scale, 'usage' K (fraction of the vocabulary hit), 'perplexity' K, and
    # 'dead_codes' (codes unused for >= dead_code_steps training steps)
    stats: dict[str, torch.Tensor] = field(default_factory=dict)


class Phi(nn.Module):
    """The refinement of an upsampled code map: (1 - mix) * x + mix * conv3x3(x)."""

    def __init__(self, dim: int, mix: float) -> None:
        super().__init__()
        self.mix = float(mix)
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1.0 - self.mix) + self.conv(x) * self.mix


def phi_assignment(num_scales: int, num_phi: int) -> list[int]:
    """Which of `num_phi` shared convs each scale uses: the nearest tick to the scale's relative position."""
    if num_phi == 4:  # VAR's ticks for its default of 4 shared convs
        ticks = np.linspace(1 / 3 / num_phi, 1 - 1 / 3 / num_phi, num_phi)
    else:
        ticks = np.linspace(1 / 2 / num_phi, 1 - 1 / 2 / num_phi, num_phi)
    positions = [k / (num_scales - 1) if num_scales > 1 else 0.0 for k in range(num_scales)]
    return [int(np.argmin(np.abs(ticks - p))) for p in positions]


def _perplexity(counts: torch.Tensor) -> torch.Tensor:
    """exp(entropy) of each row of a K x V count matrix (1 = one code used, V = uniform use)."""
    p = counts / counts.sum(dim=1, keepdim=True).clamp_min(1)
    return torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum(dim=1))


class MultiScaleQuantizer(nn.Module):
    """Residual quantization of f over `config.scales` with one shared vocab_size x latent_dim codebook."""

    unused_steps: torch.Tensor  # buffers (see __init__)
    restarts: torch.Tensor

    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        scales = tuple(int(s) for s in config.scales)
        if not scales or any(b <= a for a, b in zip(scales, scales[1:])) or scales[0] < 1:
            raise ValueError(f"tokenizer scales must be strictly increasing positive sides, got {scales}")
        if scales[-1] != config.latent_size:
            raise ValueError(
                f"the last scale ({scales[-1]}) must equal the latent side {config.latent_size} "
                f"(image_size {config.image_size} / 2**{len(config.channel_mult) - 1})"
            )
        self.scales: tuple[int, ...] = scales
        self.vocab_size: int = int(config.vocab_size)
        self.latent_dim: int = int(config.latent_dim)
        self.size = scales[-1]
        self.l2_lookup = bool(config.l2_lookup)
        self.beta = float(config.commitment)
        self.dead_code_restart = bool(config.dead_code_restart)
        self.dead_code_steps = int(config.dead_code_steps)

        self.codebook = nn.Embedding(self.vocab_size, self.latent_dim)
        nn.init.normal_(self.codebook.weight, std=self.latent_dim**-0.5)  # rows of about unit norm
        if config.phi_mix == 0:
            self.phis = nn.ModuleList()
            self.phi_index = [-1] * len(scales)
        else:
            num_phi = config.phi_share if config.phi_share > 0 else len(scales)
            self.phis = nn.ModuleList(Phi(self.latent_dim, config.phi_mix) for _ in range(num_phi))
            self.phi_index = phi_assignment(len(scales), num_phi)
        # Steps since each code was last used (training-mode forwards), and how many restarts happened (it
        # seeds the restart sampling, so a resumed run restarts exactly as an uninterrupted one).
        self.register_buffer("unused_steps", torch.zeros(self.vocab_size, dtype=torch.long))
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))
        self._pool: list[torch.Tensor] | None = None  # per scale, the residual vectors of the last training forward
        self.ranks = Distributed()  # the processes training together (set by TokenizerTrainer under DDP)

    @property
    def has_idle_phis(self) -> bool:
        """True when some phi conv serves no scale (phi_share > number of scales): it never gets a gradient."""
        return bool(set(range(len(self.phis))) - set(self.phi_index))

    # -- building blocks ------------------------------------------------------------------------------
    def codebook_vectors(self) -> torch.Tensor:
        """V x d code vectors as used (l2-normalised if l2_lookup)."""
        w = self.codebook.weight
        return F.normalize(w, dim=1) if self.l2_lookup else w

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Code vectors of `tokens` (any shape) -> tokens.shape + (d,); l2-normalised if l2_lookup."""
        return F.embedding(tokens, self.codebook_vectors())

    def _down(self, x: torch.Tensor, s: int) -> torch.Tensor:
        return x if x.shape[-1] == s and x.shape[-2] == s else F.interpolate(x, size=(s, s), mode="area")

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == self.size:
            return x
        return F.interpolate(x, size=(self.size, self.size), mode="bicubic", align_corners=False)

    def _phi(self, k: int, x: torch.Tensor) -> torch.Tensor:
        i = self.phi_index[k]
        return x if i < 0 else self.phis[i](x)

    @torch.no_grad()
    def code_scores(self, flat: torch.Tensor) -> torch.Tensor:
        """N x V float32 closeness of N vectors (N x d) to every code, the larger the nearer: cosine similarity
        if l2_lookup, else minus the squared l2 distance. Always plain float32 (`exact_float32`, inputs upcast)."""
        with exact_float32(flat.device.type):
            flat = flat.float()
            w = self.codebook.weight.detach().float()
            if self.l2_lookup:
                return F.normalize(flat, dim=1) @ F.normalize(w, dim=1).T
            return -(flat.square().sum(1, keepdim=True) + w.square().sum(1) - 2 * flat @ w.T)

    @torch.no_grad()
    def _lookup(self, z: torch.Tensor) -> torch.Tensor:
        """Nearest code of every position of z (B x d x s x s) -> B x s x s."""
        B, d, s, _ = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        return torch.argmax(self.code_scores(flat), dim=1).view(B, s, s)

    def _contribution(self, k: int, tokens: torch.Tensor) -> torch.Tensor:
        """h_k: scale k's tokens (B x s x s or B x s*s) as a B x d x h x w float32 contribution to f_hat."""
        s = self.scales[k]
        tokens = tokens.reshape(tokens.shape[0], s, s)
        with exact_float32(tokens.device.type):
            e = self.embed(tokens).float().permute(0, 3, 1, 2)
            return self._phi(k, self._up(e))

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2)  # B x d x s x s -> B x s*s x d (row-major)

    # -- training ---------------------------------------------------------------------------------------
    def forward(self, f: torch.Tensor) -> QuantizerOutput:
        """Quantize f (B x d x h x w)."""
        if f.dim() != 4 or f.shape[1] != self.latent_dim or f.shape[-2:] != (self.size, self.size):
            raise ValueError(
                f"quantizer: expected B x {self.latent_dim} x {self.size} x {self.size}, got {tuple(f.shape)}"
            )
        with exact_float32(f.device.type):
            return self._forward(f.float())

    def _forward(self, f: torch.Tensor) -> QuantizerOutput:
        f_sg = f.detach()
        f_hat = torch.zeros_like(f)
        codebook_loss = f.new_zeros(())
        indices, counts, pool = [], [], []
        for k, s in enumerate(self.scales):
            residual = self._down(f - f_hat, s)  # R_k (gradient to f and to earlier scales)
            idx = self._lookup(residual.detach())
            h = self._contribution(k, idx)
            f_hat = f_hat + h
            codebook_loss = codebook_loss + self.beta * F.mse_loss(f_hat.detach(), f) + F.mse_loss(f_hat, f_sg)
            indices.append(idx)
            flat_idx = idx.flatten()  # counted as bincount would, without its device-to-host sync on CUDA
            zeros = torch.zeros(self.vocab_size, dtype=torch.long, device=idx.device)
            counts.append(zeros.scatter_add_(0, flat_idx, torch.ones_like(flat_idx)))
            if self.training and self.dead_code_restart:
                pool.append(residual.detach().permute(0, 2, 3, 1).reshape(-1, self.latent_dim))
        K = len(self.scales)
        losses = {"codebook": codebook_loss / K, "latent": F.mse_loss(f_hat, f)}
        count_matrix = torch.stack(counts).float()
        if self.training:
            count_matrix = sum_over_ranks(count_matrix, self.ranks)  # the global batch's counts
            used = count_matrix.sum(0) > 0
            with torch.no_grad():
                self.unused_steps.copy_(torch.where(used, torch.zeros_like(self.unused_steps), self.unused_steps + 1))
            if self.dead_code_restart:
                self._pool = pool
        stats = {
            "counts": count_matrix,
            "usage": (count_matrix > 0).float().mean(dim=1),
            "perplexity": _perplexity(count_matrix),
            "dead_codes": (self.unused_steps >= self.dead_code_steps).sum(),
        }
        f_hat_ste = f + (f_hat - f).detach()
        return QuantizerOutput(f_hat=f_hat_ste, indices=indices, losses=losses, stats=stats)

    @torch.no_grad()
    def restart_dead_codes(self) -> torch.Tensor:
        """Re-initialise codes unused for `dead_code_steps` training steps from random residual vectors R_k of
        the last training-mode forward; returns their ids (empty if none or disabled). Call it after the
        optimizer step (the caller should also reset the optimizer moments of these rows).

        The vectors are drawn with every scale equally likely (then a random token of that scale), so that
        restarted codes also land among the few coarse-scale residuals, where collapse shows first; a small
        relative jitter keeps codes drawn from the same vector apart. Under DDP every rank must call it after
        the same forward (see the module docstring): the choice is the global batch's, identical on all ranks.
        """
        empty = torch.zeros(0, dtype=torch.long, device=self.codebook.weight.device)
        if not self.dead_code_restart or self._pool is None:
            return empty
        pool, self._pool = self._pool, None
        dead = torch.nonzero(self.unused_steps >= self.dead_code_steps).flatten()
        if dead.numel() == 0:
            return empty
        n = dead.numel()
        generator = torch.Generator().manual_seed(int(self.restarts.item()) * 7919 + 17)
        scale = torch.randint(len(pool), (n,), generator=generator)
        local_sizes = torch.tensor([len(p) for p in pool])
        # world x K: vectors per rank and scale (gathered on the codebook's device: NCCL needs GPU tensors)
        rank_sizes = gather_over_ranks(local_sizes.to(pool[0].device), self.ranks).cpu()
        sizes = rank_sizes.sum(0)  # the global batch's pool of each scale: rank 0's vectors, rank 1's, ...
        row = (torch.rand(n, generator=generator) * sizes[scale]).long().clamp_max(sizes[scale] - 1)
        rank_offsets = torch.cumsum(rank_sizes, 0) - rank_sizes  # where each rank's vectors start, per scale
        local_row = row - rank_offsets[self.ranks.rank, scale]
        mine = (local_row >= 0) & (local_row < local_sizes[scale])  # the draws this rank holds
        local_starts = torch.cumsum(local_sizes, 0) - local_sizes
        new = pool[0].new_zeros(n, self.latent_dim)
        new[mine.to(new.device)] = torch.cat(pool)[(local_starts[scale] + local_row)[mine].to(new.device)]
        new = sum_over_ranks(new, self.ranks)  # each draw is held by one rank: the sum is that vector, exactly
        jitter = torch.randn(new.shape, generator=generator).to(new.device)
        new = new + 0.01 * new.norm(dim=1, keepdim=True) * jitter / self.latent_dim**0.5
        if self.l2_lookup:
            new = F.normalize(new, dim=1)
        self.codebook.weight[dead] = new.to(self.codebook.weight.dtype)
        self.unused_steps[dead] = 0
        self.restarts += 1
        return dead

    # -- the protocol of the VAR transformer ----------------------------------------------------------------
    @torch.no_grad()
    def f_to_indices(self, f: torch.Tensor) -> list[torch.Tensor]:
        """Token maps of f: per scale a LongTensor B x s_k x s_k (the same tokens as forward; float32, also
        under autocast)."""
        with exact_float32(f.device.type):
            return self._f_to_indices(f.float())

    def _f_to_indices(self, f: torch.Tensor) -> list[torch.Tensor]:
        f_hat = torch.zeros_like(f)
        out = []
        for k in range(len(self.scales)):
            idx = self.residual_codes(k, f, f_hat)
            f_hat = f_hat + self._contribution(k, idx)
            out.append(idx)
        return out

    @torch.no_grad()
    def residual_codes(self, k: int, f: torch.Tensor, f_hat: torch.Tensor | None) -> torch.Tensor:
        """Scale k's codes of the residual f - f_hat (f_hat: the latent accumulated from scales < k, or None = 0):
        the nearest code of area_downsample(f - f_hat, s_k), B x s_k x s_k. With f_hat built from f's own codes
        this is exactly f_to_indices(f)[k]; consistent in-painting uses it with the f_hat of the tokens drawn."""
        with exact_float32(f.device.type):
            f = f.float()
            residual = f if f_hat is None else f - f_hat.float()
            return self._lookup(self._down(residual, self.scales[k]))

    def indices_to_f_hat(self, indices: list[torch.Tensor]) -> torch.Tensor:
        """The reconstructed latent f_hat (B x d x h x w) of a full list of token maps."""
        if len(indices) != len(self.scales):
            raise ValueError(f"indices_to_f_hat: {len(indices)} token maps for {len(self.scales)} scales")
        f_hat = self._contribution(0, indices[0])
        for k in range(1, len(self.scales)):
            f_hat = f_hat + self._contribution(k, indices[k])
        return f_hat

    def indices_to_var_input(self, indices: list[torch.Tensor]) -> torch.Tensor:
        """Teacher-forcing input of the transformer: for k = 0..K-2 the running f_hat after scale k,
        area-downsampled to scales[k+1] and flattened row-major; concatenated: B x (L - scales[0]**2) x d."""
        B = indices[0].shape[0]
        f_hat = None
        parts: list[torch.Tensor] = []
        for k in range(len(self.scales) - 1):
            f_hat, nxt = self.next_input(k, f_hat, indices[k])
            assert nxt is not None  # every scale but the last has a next input
            parts.append(nxt)
        if not parts:
            return self.codebook.weight.new_zeros(B, 0, self.latent_dim)
        return torch.cat(parts, dim=1)

    def next_input(
        self, k: int, f_hat: torch.Tensor | None, tokens_k: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Add scale k's tokens (B x s_k x s_k, or B x s_k**2) to f_hat (zeros B x d x h x w, or None, at k = 0);
        return (the new f_hat, the input of scale k+1 as B x s_{k+1}**2 x d, or None after the last scale)."""
        h = self._contribution(k, tokens_k)
        f_hat = h if f_hat is None else f_hat + h
        if k == len(self.scales) - 1:
            return f_hat, None
        return f_hat, self._flat(self._down(f_hat, self.scales[k + 1]))
