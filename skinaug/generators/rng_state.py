"""Random-number-generator state of a training process, saved in checkpoints so `--resume` is exact.

The CPU generator always; on CUDA machines also every device's generator (torch.cuda.get_rng_state_all),
and the training device's index. Restoring sets all devices when the machine has as many as were saved,
and the training device from the saved training device's state in every case: under torchrun every
process seeds and draws alike, so rank 0's state of its device is every rank's state of its own.
"""

from __future__ import annotations

from typing import Any

import torch


def cuda_present() -> bool:
    """Whether CUDA generators exist to save (one place, so tests can pretend on a CPU machine)."""
    return torch.cuda.is_available()


def capture_rng(device: torch.device) -> dict[str, Any]:
    """{'torch_rng': CPU state, and with CUDA 'cuda_rng': [state per device], 'cuda_device': index}."""
    state: dict[str, Any] = {"torch_rng": torch.get_rng_state()}
    if cuda_present():
        state["cuda_rng"] = [s.clone() for s in torch.cuda.get_rng_state_all()]
        state["cuda_device"] = (device.index or 0) if device.type == "cuda" else 0
    return state


def restore_rng(state: dict[str, Any], device: torch.device) -> None:
    """Hand back what capture_rng saved (the CUDA part only when CUDA is available and it was saved)."""
    torch.set_rng_state(state["torch_rng"])
    saved = state.get("cuda_rng")
    if not saved or not cuda_present():
        return
    if len(saved) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(saved)
    if device.type == "cuda":
        own = saved[min(int(state.get("cuda_device", 0)), len(saved) - 1)]
        torch.cuda.set_rng_state(own, device)
