"""FoundationVision/VAR's reference sampler (`VAR.autoregressive_infer_cfg`), imported from a local checkout,
for side-by-side timing against skinaug's sampler (`benchmarks/sample_speed.py --against-var PATH`).

VAR's code is never copied into this repository: PATH is a checkout of https://github.com/FoundationVision/VAR
(its `models/` and `dist.py` are enough), e.g.

    git clone https://github.com/FoundationVision/VAR /tmp/VAR

The model is VAR-d16 with random weights (width 1024, 16 blocks and heads, vocabulary 4096, the scales of
skinaug's `base`; another depth d gives VAR-d, width 64 d, d heads), built by VAR's own `build_vae_var`.
Only tokens are timed: the VQVAE decode at the end of `autoregressive_infer_cfg` is replaced by the identity,
as skinaug's side stops at the token maps too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from skinaug.errors import SkinaugError

# the layers whose reset_parameters VAR's build_vae_var switches off process-wide ("for speed")
_PATCHED = (
    nn.Linear,
    nn.LayerNorm,
    nn.BatchNorm2d,
    nn.SyncBatchNorm,
    nn.Conv1d,
    nn.Conv2d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
)


def load_var(checkout: Path, scales: tuple[int, ...], device: torch.device, depth: int = 16) -> Any:
    """VAR-d`depth` (width 64 x depth, depth heads; random weights, VAR's init) from the checkout at `checkout`,
    in eval mode on `device`, whose sampler returns the final latent f_hat instead of decoding it."""
    if not (checkout / "models" / "var.py").is_file() or not (checkout / "dist.py").is_file():
        raise SkinaugError(
            f"--against-var {checkout}: not a checkout of FoundationVision/VAR (no models/var.py, dist.py)"
        )
    sys.path.insert(0, str(checkout))
    saved = {cls: cls.reset_parameters for cls in _PATCHED}
    try:
        from models import build_vae_var  # type: ignore[import-not-found]

        vae, var = build_vae_var(
            device=device,
            patch_nums=scales,
            V=4096,
            Cvae=32,
            ch=160,
            share_quant_resi=4,
            num_classes=1000,
            depth=depth,
            shared_aln=False,
            attn_l2_norm=True,
            flash_if_available=False,
            fused_if_available=False,
        )
    except ImportError as error:
        raise SkinaugError(f"--against-var {checkout}: cannot import VAR's models ({error})") from None
    finally:
        for cls, reset in saved.items():
            cls.reset_parameters = reset  # type: ignore[method-assign]
    # build_vae_var leaves the VQVAE to a checkpoint: with reset_parameters off its convolutions (the quantizer's
    # phi among them) hold uninitialised memory, which can be NaN; random weights are what is timed here
    for module in vae.modules():
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()
    vae.fhat_to_img = lambda f_hat: f_hat  # tokens only: no VQVAE decode
    var.rng = torch.Generator(device=device)
    return var.eval()


@torch.no_grad()
def var_sample(var: Any, batch: int, cfg: float, top_k: int, top_p: float, seed: int = 0) -> torch.Tensor:
    """One batch through VAR's `autoregressive_infer_cfg` (classes 0..batch-1); returns the final f_hat."""
    labels = torch.arange(batch, device=var.lvl_1L.device) % var.num_classes
    return var.autoregressive_infer_cfg(B=batch, label_B=labels, g_seed=seed, cfg=cfg, top_k=top_k, top_p=top_p)
