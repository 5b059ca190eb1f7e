"""One optimisation step of the tokenizer: a generator step, then (once adversarial training has started) a
discriminator step. The training loop, data, checkpoints and CLI live elsewhere and drive `step`.

Generator loss = pixel + latent + lesion_focus + codebook (LesionTokenizer.forward)
                 + perceptual_weight * LPIPS-style distance (only with a local VGG16 weights file)
                 + adversarial_weight * w * hinge generator loss (from step_index >= adversarial_start),
where w is VQGAN's adaptive weight ||grad nll|| / ||grad g|| at the decoder's last layer (nll = pixel +
perceptual), or 1 with adaptive_weight=False. The discriminator is a PatchGAN trained with the hinge loss.

Both optimizers are AdamW(betas, weight_decay) from the OptimConfig; weight decay applies to conv/linear
weights only (not to biases, normalisation parameters or the codebook). With `schedule=True` (default) the
learning rate of both follows `schedules.warmup_cosine`: linear warm-up over `warmup_steps`, then cosine decay to
0 at `steps` (it stays 0 after), so a resumed run only needs the step index. Gradients are clipped to
`grad_clip` (0 = no clipping). After every `dead_code_check_every`-th generator step, dead codes are restarted
(MultiScaleQuantizer.restart_dead_codes) and their AdamW moments reset: that decision reads one count from the
device, the only host sync of a step, so it is not taken at every step.

Precision: on CUDA the encoder, decoder, discriminator (and perceptual network) run under bf16 autocast
(machine.autocast); the quantizer runs in float32 inside (quantizer.py), the losses are taken in float32.
On CPU everything is float32.

Several processes (`distributed` with world > 1, gloo or NCCL): the tokenizer and the discriminator are
wrapped in DistributedDataParallel (bucketed all-reduce overlapping the backward pass). Design choices:
- Every tokenizer parameter gets a gradient in every generator step (the discriminator is called as a plain,
  frozen module there, not through its DDP wrapper), so find_unused_parameters stays off (it walks the
  autograd graph after every forward); it is on only for configs whose quantizer has a phi conv that no
  scale uses. static_graph is not used: it needs the reducer to see every output tensor, and the tokenizer
  returns a dataclass.
- The adaptive GAN weight takes torch.autograd.grad of two losses at the decoder's last layer; that call
  does not go through DDP's reducer (which hooks gradient accumulation into .grad, not autograd.grad), so
  the two local gradients are averaged over ranks explicitly (discriminator.adaptive_weight) and the weight
  is the global batch's, identical on all ranks.
- The discriminator step scores real and fake images in one call of a small wrapper module, so DDP sees one
  forward per backward.
- Buffers are not broadcast at every forward: the quantizer's dead-code counters come from code counts
  summed over ranks and its restarts draw from the global batch (quantizer.py), and the spectral norm's
  power-iteration vectors depend only on the (identical) weights; DDP copies rank 0's state once, at the start.
With equal shares of a global batch, the result equals one process stepping on that whole batch (up to
floating-point summation order; tests/generators/tokenizer/test_ddp.py).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn

from ...machine import autocast
from ...schedules import warmup_cosine
from ..config import OptimConfig, TokenizerConfig
from ..distributed import Distributed, data_parallel
from .discriminator import PatchDiscriminator, adaptive_weight, hinge_d_loss, hinge_g_loss
from .feature_distance import FeatureDistance
from .model import LesionTokenizer
from .perceptual import describe_perceptual


def param_groups(
    module: nn.Module, weight_decay: float, no_decay: tuple[torch.Tensor, ...] = ()
) -> list[dict[str, Any]]:
    """AdamW groups: decay on >= 2-D weights, none on biases, norm parameters and the tensors in no_decay."""
    skip = {id(t) for t in no_decay}
    decay: list[torch.Tensor] = []
    plain: list[torch.Tensor] = []
    for p in module.parameters():
        if not p.requires_grad:
            continue
        (decay if p.dim() >= 2 and id(p) not in skip else plain).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


def psnr_tensor(recon: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of recon against images (both in [-1, 1]) as a 0-dim tensor: no wait for the device."""
    mse = ((recon.detach().clamp(-1, 1) - images) / 2).square().mean().float()
    return -10.0 * torch.log10(mse)  # inf when identical, as psnr() says


def psnr(recon: torch.Tensor, images: torch.Tensor) -> float:
    """PSNR in dB of images in [-1, 1] (the reconstruction clamped), on the [0, 1] intensity scale."""
    mse = ((recon.detach().clamp(-1, 1) - images) / 2).square().mean().item()
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)


class RealAndFake(nn.Module):
    """The discriminator's two calls of a discriminator step as one forward: (D(real), D(fake))."""

    def __init__(self, discriminator: nn.Module) -> None:
        super().__init__()
        self.discriminator = discriminator

    def forward(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.discriminator(real), self.discriminator(fake)


class TokenizerTrainer:
    """Owns the tokenizer, the discriminator and both optimizers; `step` does one training step."""

    def __init__(
        self,
        model: LesionTokenizer,
        config: TokenizerConfig,
        optim_config: OptimConfig,
        perceptual: FeatureDistance | None = None,
        device: str | torch.device = "cpu",
        *,
        discriminator: nn.Module | None = None,
        disc_norm: str = "spectral",
        adaptive_weight: bool = True,
        schedule: bool = True,
        distributed: Distributed | None = None,
    ) -> None:
        """`distributed`: the processes training together (None or world 1: this process alone); each calls
        `step` with its share of the global batch."""
        self.device = torch.device(device)
        self.config = config
        self.optim = optim_config
        self.model = model.to(self.device)
        self.discriminator = (
            discriminator or PatchDiscriminator(config.disc_channels, config.disc_layers, disc_norm)
        ).to(self.device)
        self.perceptual = perceptual.to(self.device) if perceptual is not None else None
        self.perceptual_status = describe_perceptual(self.perceptual)
        self.adaptive_weight = adaptive_weight
        self.schedule = schedule
        codebook = self.model.quantizer.codebook.weight
        betas = (optim_config.betas[0], optim_config.betas[1])
        self.opt_g = torch.optim.AdamW(
            param_groups(self.model, optim_config.weight_decay, (codebook,)), lr=optim_config.lr, betas=betas
        )
        self.opt_d = torch.optim.AdamW(
            param_groups(self.discriminator, optim_config.weight_decay), lr=optim_config.lr, betas=betas
        )
        self.ranks = distributed or Distributed(device=self.device)
        # What the steps call: the models themselves in one process, their DDP wrappers in several.
        self.generator: nn.Module = self.model
        self.scorer: nn.Module = RealAndFake(self.discriminator)
        if self.ranks.enabled:
            self.model.quantizer.ranks = self.ranks
            self.generator = data_parallel(self.model, self.ranks, self.model.quantizer.has_idle_phis)
            self.scorer = data_parallel(self.scorer, self.ranks)

    def adversarial_active(self, step_index: int) -> bool:
        return self.config.adversarial_weight > 0 and step_index >= self.config.adversarial_start

    def _set_lr(self, step_index: int) -> float:
        optim = self.optim
        lr = optim.lr * warmup_cosine(step_index, optim.warmup_steps, optim.steps) if self.schedule else optim.lr
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] = lr
        return lr

    def _clip(self, module: nn.Module) -> torch.Tensor:
        params = [p for p in module.parameters() if p.grad is not None]
        if self.optim.grad_clip and self.optim.grad_clip > 0:
            return torch.nn.utils.clip_grad_norm_(params, self.optim.grad_clip)
        return torch.nn.utils.clip_grad_norm_(params, float("inf"))

    def _reset_moments(self, codes: torch.Tensor) -> None:
        state = self.opt_g.state.get(self.model.quantizer.codebook.weight)
        if state:
            for key in ("exp_avg", "exp_avg_sq"):
                if key in state:
                    state[key][codes] = 0

    def step(self, images: torch.Tensor, masks: torch.Tensor, step_index: int) -> dict[str, torch.Tensor | float]:
        """One generator step (+ one discriminator step once step_index >= adversarial_start).

        images: B x 3 x H x W in [-1, 1]; masks: B x H x W lesion masks (bool/float). Returns 0-dim tensors for
        logging (still on the device: reading them waits for it, so the training loop reads them on logged steps
        only, `to_floats`), 'lr' and 'restarted' as floats: every loss, 'loss' (the generator's full objective),
        'grad_norm', 'psnr', 'usage/s{k}' and 'perplexity/s{k}' per scale side, 'dead_codes', and with the GAN
        'g_adv', 'adv_weight', 'd_loss', 'logits_real', 'logits_fake', 'd_grad_norm'.
        """
        cfg = self.config
        images = images.to(self.device, torch.float32)
        masks = masks.to(self.device)
        lr = self._set_lr(step_index)
        adversarial = self.adversarial_active(step_index)
        self.generator.train()
        self.scorer.train()

        with autocast(self.device):
            out = self.generator(images, masks)
            loss = out.losses["total"]
            nll = out.losses["pixel"]
            if self.perceptual is not None and cfg.perceptual_weight > 0:
                perceptual = self.perceptual(out.recon, images).float()
                loss = loss + cfg.perceptual_weight * perceptual
                nll = nll + cfg.perceptual_weight * perceptual
            if adversarial:
                self.discriminator.requires_grad_(False)  # the generator's loss only: D's weights stay out
                g_adv = hinge_g_loss(self.discriminator(out.recon).float())
                self.discriminator.requires_grad_(True)
        logs: dict[str, torch.Tensor | float] = {name: value.detach() for name, value in out.losses.items()}
        if self.perceptual is not None and cfg.perceptual_weight > 0:
            logs["perceptual"] = perceptual.detach()
        if adversarial:
            weight = (
                adaptive_weight(nll, g_adv, self.model.decoder.last_layer, ranks=self.ranks)
                if self.adaptive_weight
                else torch.ones((), device=self.device)
            )
            loss = loss + cfg.adversarial_weight * weight * g_adv
            logs["g_adv"], logs["adv_weight"] = g_adv.detach(), weight.detach()

        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        logs["grad_norm"] = self._clip(self.model)
        self.opt_g.step()
        restarted = 0
        if (step_index + 1) % max(1, cfg.dead_code_check_every) == 0:  # the only host read of a step
            codes = self.model.quantizer.restart_dead_codes()
            restarted = codes.numel()
            if restarted:
                self._reset_moments(codes)

        if adversarial:
            with autocast(self.device):
                logits_real, logits_fake = self.scorer(images, out.recon.detach())
            logits_real, logits_fake = logits_real.float(), logits_fake.float()
            d_loss = hinge_d_loss(logits_real, logits_fake)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            logs["d_grad_norm"] = self._clip(self.discriminator)
            self.opt_d.step()
            logs["d_loss"] = d_loss.detach()
            logs["logits_real"] = logits_real.detach().mean()
            logs["logits_fake"] = logits_fake.detach().mean()

        logs["loss"] = loss.detach()
        logs["lr"] = lr
        logs["psnr"] = psnr_tensor(out.recon, images)
        usage, perplexity = out.stats["usage"].detach(), out.stats["perplexity"].detach()
        for i, s in enumerate(self.model.quantizer.scales):
            logs[f"usage/s{s}"] = usage[i]
            logs[f"perplexity/s{s}"] = perplexity[i]
        logs["dead_codes"] = torch.as_tensor(out.stats["dead_codes"]).detach()
        logs["restarted"] = float(restarted)  # known on the host
        return logs

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: both models (incl. the dead-code counters) and both optimizers."""
        return {
            "model": self.model.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
