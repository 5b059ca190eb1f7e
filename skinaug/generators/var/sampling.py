"""Token-level sampling of the VAR transformer: next-scale prediction with a KV cache, classifier-free
guidance, top-k / top-p, seeded draws, and zero-shot in-painting by per-sample teacher forcing.

Per scale k (one forward each):

1. logits of scale k's tokens from the conditional and the null-conditioned batch run together (2B);
   mixed as (1 + w_k) * cond - w_k * uncond, w_k = cfg * k / (K - 1) ("linear", VAR) or cfg ("constant");
   with cfg == 0 the null branch is not run at all;
2. temperature, top-k, top-p; one draw per token from the caller's seeded `torch.Generator` (inverse CDF of
   one uniform per token: every sample and token gets its own draw; the same generator state gives the same
   tokens, and a CPU generator gives the same tokens whether the model runs on CPU or GPU). All uniforms are
   taken before the loop (`uniforms_per_scale`, the same numbers as drawing scale by scale), and the filtering
   and the draw run on the model's device: the loop reads no tensor value on the host (no GPU sync);
3. in-painting: where ``keep[k]`` is True (each sample its own mask) the drawn token is replaced by the
   teacher's token, BEFORE the quantizer builds the next scale's input from the tokens. Two teacher rules:

   * residual (default, ``source_latent`` given): the teacher token is the code of the residual between the
     source's latent f and the f_hat accumulated so far from the tokens actually drawn,
     ``quantizer.residual_codes(k, f, f_hat)`` = nearest code of area_down_k(f - f_hat). Kept background
     tokens then correct whatever the regenerated coarser tokens put under them, so the kept background is
     consistent in latent space with what was sampled; with nothing regenerated it is exactly the source's
     own quantization (f_to_indices);
   * precomputed (``teacher`` given: the source's own token maps, VAR's zero-shot rule): the source's codes,
     computed against the source's coarse tokens, not the ones just drawn.
4. ``quantizer.next_input(k, f_hat, tokens_k)`` updates f_hat and gives the input of scale k+1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence, Union

import torch
from torch import Tensor

from ...errors import SkinaugError
from .model import VARTransformer

CFG_SCHEDULES = ("linear", "constant")


@dataclass
class SamplingConfig:
    """Guidance and filtering of `sample_tokens` (defaults: VAR's)."""

    cfg: float = 4.0  # guidance strength w at the last scale; 0 = no guidance
    cfg_schedule: str = "linear"  # "linear": w ramps from 0 at the first scale to cfg at the last; "constant"
    top_k: int = 900  # keep the k most likely tokens (<= 0 or >= vocab: off)
    top_p: float = 0.95  # nucleus: smallest set with this probability mass (<= 0 or >= 1: off)
    temperature: float = 1.0  # logits divided by this (> 0)

    def __post_init__(self) -> None:
        if self.cfg_schedule not in CFG_SCHEDULES:
            raise SkinaugError(f"unknown cfg_schedule {self.cfg_schedule!r}; choose one of {', '.join(CFG_SCHEDULES)}")
        if not self.temperature > 0:
            raise SkinaugError(f"temperature must be > 0, got {self.temperature}")

    def guidance(self, k: int, num_scales: int) -> float:
        """The guidance weight w at scale k of num_scales."""
        if self.cfg_schedule == "constant" or num_scales <= 1:
            return float(self.cfg)
        return float(self.cfg) * k / (num_scales - 1)


def filter_logits(logits: Tensor, top_k: int = 0, top_p: float = 0.0) -> Tensor:
    """Logits (... x V) with -inf outside the top-k and outside the top-p nucleus (the most likely token is
    always kept)."""
    vocab = logits.shape[-1]
    if 0 < top_k < vocab:
        kth = torch.topk(logits, top_k, dim=-1, sorted=False).values.amin(-1, keepdim=True)  # no sort needed
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if 0.0 < top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True, stable=True)
        probs = sorted_logits.softmax(-1)
        mass_before = probs.cumsum(-1) - probs
        remove_sorted = mass_before >= top_p
        remove_sorted[..., 0] = False
        remove = torch.zeros_like(remove_sorted).scatter(-1, order, remove_sorted)
        logits = logits.masked_fill(remove, float("-inf"))
    return logits


Generators = Union[torch.Generator, Sequence[torch.Generator], None]


def uniforms_per_scale(batch: int, sizes: Sequence[int], generator: Generators, device: torch.device) -> list[Tensor]:
    """The draws' uniforms of every scale, B x n_k x 1 each, on `device`, taken in one go before sampling (one
    transfer, none inside the scale loop). Drawn in the order scale by scale, sample by sample, token by token
    from one generator, or per sample from one generator per sample (a sample's tokens then depend only on its
    own generator): the same numbers as drawing each scale's in turn."""
    total = sum(sizes)
    if generator is None or isinstance(generator, torch.Generator):
        gen_device = generator.device if generator is not None else torch.device("cpu")
        flat = torch.rand(batch * total, generator=generator, device=gen_device).to(device)
        return [chunk.view(batch, n, 1) for chunk, n in zip(flat.split([batch * n for n in sizes]), sizes)]
    if len(generator) != batch:
        raise SkinaugError(f"{len(generator)} generators for a batch of {batch}")
    rows = torch.stack([torch.rand(total, generator=g, device=g.device).cpu() for g in generator]).to(device)
    return [chunk.unsqueeze(-1) for chunk in rows.split(list(sizes), dim=1)]


def draw_tokens(
    logits: Tensor,
    generator: Generators = None,
    top_k: int = 0,
    top_p: float = 0.0,
    temperature: float = 1.0,
    uniforms: Tensor | None = None,
) -> Tensor:
    """One token per row of logits (... x V), filtered, drawn by inverse CDF from one uniform per token:
    `uniforms` (... x 1, see `uniforms_per_scale`) or else taken here from `generator` (one generator, or one
    per row of the first dimension). Everything runs on the logits' device without a host sync.
    Returns LongTensor (...)."""
    logits = logits.float()
    if temperature != 1.0:  # a Python number: no copy of the logits at the default
        logits = logits / temperature
    logits = filter_logits(logits, top_k, top_p)
    probs = logits.softmax(-1)
    cdf = probs.cumsum(-1)
    if uniforms is None:
        lead = probs.shape[:-1]
        rows, per_row = (lead[0], math.prod(lead[1:])) if lead else (1, 1)
        uniforms = uniforms_per_scale(rows, [per_row], generator, probs.device)[0].view(lead + (1,))
    idx = torch.searchsorted(cdf, uniforms.to(cdf.device) * cdf[..., -1:], right=True)
    # rounding guard: never beyond the last token with non-zero probability
    positions = torch.arange(probs.shape[-1], device=probs.device)
    last = torch.where(probs > 0, positions, 0).amax(-1, keepdim=True)
    return torch.minimum(idx, last).squeeze(-1)


def _check_inpainting(
    teacher: list[Tensor] | None,
    keep: list[Tensor] | None,
    source_latent: Tensor | None,
    latent_dim: int,
    scales: tuple[int, ...],
    batch: int,
    device: torch.device,
) -> tuple[list[Tensor] | None, list[Tensor], Tensor | None] | None:
    """(teacher tokens or None, keep masks, source latent or None) on `device`, or None without in-painting."""
    if teacher is None and keep is None and source_latent is None:
        return None
    if keep is None or (teacher is None) == (source_latent is None):
        raise SkinaugError(
            "in-painting needs `keep` (masks) and either `source_latent` (residual teacher rule) "
            "or `teacher` (precomputed token maps), not both"
        )
    if len(keep) != len(scales) or (teacher is not None and len(teacher) != len(scales)):
        raise SkinaugError(
            f"teacher and keep need one map per scale ({len(scales)}), "
            f"got {None if teacher is None else len(teacher)} and {len(keep)}"
        )
    for k, s in enumerate(scales):
        for name, t in (("teacher", None if teacher is None else teacher[k]), ("keep", keep[k])):
            if t is not None and tuple(t.shape) != (batch, s, s):
                raise SkinaugError(f"{name}[{k}] must be {batch} x {s} x {s}, got {tuple(t.shape)}")
    if source_latent is not None and tuple(source_latent.shape) != (batch, latent_dim, scales[-1], scales[-1]):
        raise SkinaugError(
            f"source_latent must be {batch} x {latent_dim} x {scales[-1]} x {scales[-1]}, "
            f"got {tuple(source_latent.shape)}"
        )
    return (
        None if teacher is None else [t.to(device=device, dtype=torch.long) for t in teacher],
        [m.to(device=device, dtype=torch.bool) for m in keep],
        None if source_latent is None else source_latent.to(device=device, dtype=torch.float32),
    )


@torch.no_grad()
def sample_tokens(
    model: VARTransformer,
    quantizer: Any,
    labels: Tensor,
    measurements: Tensor | None,
    config: SamplingConfig,
    generator: Generators,
    teacher: list[Tensor] | None = None,
    keep: list[Tensor] | None = None,
    use_cache: bool = True,
    source_latent: Tensor | None = None,
) -> list[Tensor]:
    """Sample the K token maps (LongTensor B x s_k x s_k each) for `labels` / `measurements`.

    quantizer: the tokenizer's `MultiScaleQuantizer` (``scales``, ``latent_dim``, ``next_input``, ``residual_codes``).
    measurements: B x m scaled vectors (see `conditioning.sampling_measurements` for the fixed/adaptive
        choice), or None (null measurements).
    generator: the seeded RNG of the draws (any device), or one per sample.
    keep: in-painting; K bool maps B x s_k x s_k, True = the token is taken from the source (per sample), and
        the next scales are predicted from those tokens. With it, exactly one of:
    source_latent: the sources' latents f (B x d x h x w): residual teacher rule (module docstring);
    teacher: the sources' K token maps B x s_k x s_k: precomputed teacher rule (keep[k] -> teacher[k]).
    use_cache: False recomputes the whole prefix with the block-causal mask at every scale (reference, benchmark).

    The model is run in eval mode (restored afterwards).
    """
    scales = model.scales
    if tuple(quantizer.scales) != scales:
        raise SkinaugError(f"quantizer scales {tuple(quantizer.scales)} differ from the model's {scales}")
    device = model.pos_embed.device
    labels = labels.to(device)
    batch = labels.shape[0]
    if labels.dim() != 1 or batch == 0:
        raise SkinaugError(f"labels must be a non-empty 1-d tensor, got shape {tuple(labels.shape)}")
    if int(labels.min()) < 0 or int(labels.max()) > model.num_classes:
        raise SkinaugError(f"labels must be in 0..{model.num_classes} ({model.num_classes} = null class)")
    if measurements is not None:
        measurements = measurements.to(device)
    inpaint = _check_inpainting(teacher, keep, source_latent, quantizer.latent_dim, scales, batch, device)
    guided = config.cfg != 0
    num_scales = len(scales)

    was_training = model.training
    model.eval()
    try:
        cond = model.condition(labels, measurements, drop=False)
        if guided:
            cond = torch.cat([cond, model.null_condition(batch)], dim=0)

        def both(x: Tensor) -> Tensor:
            return torch.cat([x, x], dim=0) if guided else x

        caches = model.new_caches() if use_cache else None
        noise = uniforms_per_scale(batch, [s * s for s in scales], generator, device)
        side = scales[-1]
        f_hat = torch.zeros(batch, quantizer.latent_dim, side, side, device=device)
        inputs: list[Tensor] = []
        next_in: Tensor | None = None
        tokens: list[Tensor] = []
        for k, s in enumerate(scales):
            if use_cache:
                assert caches is not None
                if k == 0:
                    x = model.scale_tokens(0, cond=cond)
                else:
                    assert next_in is not None  # set at the end of the previous scale
                    x = model.scale_tokens(k, inputs=both(next_in))
                logits = model.step(x, cond, caches)
            else:
                var_input = (
                    torch.cat(inputs, dim=1) if inputs else torch.zeros(batch, 0, model.latent_dim, device=device)
                )
                begin, end = model.begin_ends[k]
                logits = model.forward_prefix(cond, both(var_input), k + 1)[:, begin:end]
            if guided:
                w = config.guidance(k, num_scales)
                logits = logits.float()  # bf16 under autocast on a GPU: guide in float32
                logits = (1 + w) * logits[:batch] - w * logits[batch:]
            drawn = draw_tokens(logits, None, config.top_k, config.top_p, config.temperature, uniforms=noise[k])
            idx = drawn.view(batch, s, s)
            if inpaint is not None:
                fixed, kept, source = inpaint
                if source is not None:
                    forced = quantizer.residual_codes(k, source, f_hat).to(device)
                else:
                    assert fixed is not None  # _check_inpainting: teacher tokens or a source latent
                    forced = fixed[k]
                idx = torch.where(kept[k], forced, idx)
            tokens.append(idx)
            f_hat, next_in = quantizer.next_input(k, f_hat, idx)
            if k + 1 < num_scales:
                if next_in is None:
                    raise SkinaugError(f"quantizer gave no input for scale {k + 1}")
                next_in = next_in.to(device)
                inputs.append(next_in)
    finally:
        model.train(was_training)
    return tokens
