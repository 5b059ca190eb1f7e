"""Multi-process training through torchrun (DDP): gloo on CPU, NCCL on GPUs; a no-op in one process."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..machine import select_device


@dataclass(frozen=True)
class Distributed:
    """This process's place in the job: rank, world size and device."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        """True on the process that writes logs and checkpoints."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when several processes train together."""
        return self.world > 1


def setup(device: str = "auto") -> Distributed:
    """Join the torchrun process group if RANK/WORLD_SIZE are set (gloo on CPU, NCCL on CUDA).

    The device is `machine.select_device(device)`; 'auto' or 'cuda' on a GPU machine means this process's
    local rank's GPU (with TF32 matmuls)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    chosen = select_device(device)
    if device in ("auto", "cuda") and chosen.type == "cuda":  # each process takes the GPU of its local rank
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        chosen = torch.device("cuda", local)
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls/convolutions on Ampere and later
        torch.backends.cudnn.allow_tf32 = True
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo", rank=rank, world_size=world)
    return Distributed(rank, world, chosen)


def teardown(ctx: Distributed) -> None:
    """Leave the process group (after the last collective)."""
    if ctx.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def mean_over_ranks(values: dict[str, float], ctx: Distributed) -> dict[str, float]:
    """Average logged scalars over all processes (so every rank logs the global batch's numbers)."""
    if not ctx.enabled or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor)
    return {k: float(v) / ctx.world for k, v in zip(keys, tensor.tolist())}


def sum_over_ranks(tensor: torch.Tensor, ctx: Distributed) -> torch.Tensor:
    """Sum `tensor` over all processes, in place (unchanged in one process); returns it."""
    if ctx.enabled:
        dist.all_reduce(tensor)
    return tensor


def gather_over_ranks(tensor: torch.Tensor, ctx: Distributed) -> torch.Tensor:
    """world x tensor.shape: every process's `tensor` (same shape on all), in rank order (1 x ... in one process)."""
    if not ctx.enabled:
        return tensor.unsqueeze(0)
    parts = [torch.empty_like(tensor) for _ in range(ctx.world)]
    dist.all_gather(parts, tensor.contiguous())
    return torch.stack(parts)


def data_parallel(module: torch.nn.Module, ctx: Distributed, find_unused_parameters: bool = False) -> torch.nn.Module:
    """`module` in DistributedDataParallel: rank 0's parameters and buffers copied to all ranks once, then
    gradients averaged over ranks in buckets, all-reduced while the backward pass still runs, and stored in
    the buckets (no copy). Buffers are not re-broadcast at every forward: the callers keep them identical."""
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(
        module,
        device_ids=ids,
        forward_sync_buffers=False,
        gradient_as_bucket_view=True,
        find_unused_parameters=find_unused_parameters,
    )


def broadcast_module(module: torch.nn.Module, ctx: Distributed) -> None:
    """Copy rank 0's parameters and buffers to every process (start, and after codebook restarts)."""
    if ctx.enabled:
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)
