"""One optimisation step of the VAR transformer on a frozen tokenizer's tokens."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..schedules import warmup_cosine
from .config import OptimConfig
from .distributed import Distributed
from .tokenizer import LesionTokenizer
from .var import VARTransformer


def adamw(model: nn.Module, optim: OptimConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on norms, biases and embeddings' 1-D parameters)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    rest = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": optim.weight_decay}, {"params": rest, "weight_decay": 0.0}],
        lr=optim.lr,
        betas=(optim.betas[0], optim.betas[1]),
    )


def autocast(device: torch.device) -> Any:
    """bf16 autocast on CUDA; plain float32 elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


class TransformerTrainer:
    """Owns the transformer (DDP-wrapped when several processes train), its optimizer and LR schedule."""

    def __init__(self, model: VARTransformer, tokenizer: LesionTokenizer, optim: OptimConfig, ctx: Distributed) -> None:
        self.ctx = ctx
        self.model = model.to(ctx.device)
        self.tokenizer = tokenizer.to(ctx.device).eval().requires_grad_(False)
        self.optim = optim
        self.optimizer = adamw(self.model, optim)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: warmup_cosine(step, optim.warmup_steps, optim.steps)
        )
        self.ddp: nn.Module = self.model
        if ctx.enabled:
            ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            self.ddp = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)

    @torch.no_grad()
    def tokens(self, batch: dict[str, Any]) -> tuple[list[torch.Tensor], torch.Tensor]:
        """(index maps per scale, teacher-forcing input) of a batch: its cached 'tokens' (token_cache.py)
        when it has them, else its 'image's (in [-1, 1]) encoded by the tokenizer now."""
        device = self.ctx.device
        if "tokens" in batch:
            indices = [t.to(device, non_blocking=True) for t in batch["tokens"]]
        else:
            indices = self.tokenizer.images_to_indices(batch["image"].to(device, non_blocking=True))
        return indices, self.tokenizer.quantizer.indices_to_var_input(indices)

    def step(self, batch: dict[str, Any]) -> dict[str, Any]:
        """One AdamW step on this process's part of the global batch; returns logged scalars.

        The values are detached 0-d tensors (and the lr, a float): reading them waits for the device, so the
        training loop converts them (`training.to_floats`) only on the steps it logs."""
        self.model.train()
        device = self.ctx.device
        indices, var_input = self.tokens(batch)
        with autocast(device):
            logits = self.ddp(
                batch["label"].to(device, non_blocking=True),
                batch["measurements"].to(device, non_blocking=True),
                var_input,
            )
        out = self.model.loss(logits, indices)
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        norm = nn.utils.clip_grad_norm_(self.model.parameters(), self.optim.grad_clip)
        self.optimizer.step()
        self.schedule.step()
        logged: dict[str, Any] = {
            "loss": out.loss.detach(),
            "accuracy": out.accuracy.detach(),
            "grad_norm": norm.detach(),
            "lr": self.optimizer.param_groups[0]["lr"],
        }
        logged.update({f"loss_scale{k}": v.detach() for k, v in enumerate(out.scale_losses)})
        return logged

    @torch.no_grad()
    def evaluate(self, batch: dict[str, Any]) -> dict[str, float]:
        """Validation cross-entropy and token accuracy (conditions not dropped)."""
        self.model.eval()
        device = self.ctx.device
        indices, var_input = self.tokens(batch)
        logits = self.model(batch["label"].to(device), batch["measurements"].to(device), var_input, drop=False)
        out = self.model.loss(logits, indices)
        return {"val_loss": float(out.loss), "val_accuracy": float(out.accuracy)}

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimizer, schedule."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what state_dict returned."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
