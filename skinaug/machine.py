"""The machine: which device a command runs on, and naming the hardware a result was measured on."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from .errors import SkinaugError


def select_device(name: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; anything else is passed to torch.device (one-line errors)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SkinaugError(f"--device {name!r}: not a device (auto, cpu, cuda, cuda:1, ...)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SkinaugError(f"--device {name!r}: no CUDA GPU is available here; use --device cpu or auto")
    return device


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (or platform), for naming the machine in results."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """The GPU's name, or 'CPU (MODEL, N cores)'."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({cpu_name()}, {os.cpu_count()} cores)"


def run_environment(device: torch.device) -> dict[str, Any]:
    """What decides a run's floating-point sums besides its seed: the device, the torch threads and the torch
    version. Runs agree to the bit only where all three agree (bench-classifier on HAM10000: three runs on one
    thread gave identical weights; two threads on the same CPU another model, 0.521 against 0.514 mean recall)."""
    return {"device_name": device_name(device), "torch_threads": torch.get_num_threads(), "torch": torch.__version__}


def describe_environment(environment: dict[str, Any]) -> str:
    """'CPU (MODEL, 2 cores), 1 torch thread, torch 2.14.1' (threads omitted on a GPU, where they do not decide
    the sums of the network)."""
    parts = [str(environment.get("device_name", "unknown device"))]
    threads = environment.get("torch_threads")
    if threads is not None and str(parts[0]).startswith("CPU"):
        parts.append(f"{threads} torch thread{'s' if threads != 1 else ''}")
    if environment.get("torch"):
        parts.append(f"torch {environment['torch']}")
    return ", ".join(parts)


def describe_hardware() -> str:
    """'1 x NVIDIA H100 ...' when CUDA is available, else 'CPU MODEL, N cores (no GPU)'."""
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    return f"{cpu_name()}, {os.cpu_count()} cores (no GPU)"


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The mixed-precision dtype of training/sampling on `device`: bf16 on CUDA, None (plain float32) elsewhere.

    bf16 keeps float32's exponent range, so no loss scaling is needed; CPUs gain little from it and lose
    accuracy, so CPU runs (tests, CI, small machines) stay float32."""
    return torch.bfloat16 if device.type == "cuda" else None


def autocast(device: torch.device) -> torch.autocast:
    """An autocast context for `device` with `autocast_dtype(device)` (disabled where that is None)."""
    dtype = autocast_dtype(device)
    if dtype is None:
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=dtype)


@contextlib.contextmanager
def exact_float32(device_type: str) -> Iterator[None]:
    """Plain float32 inside, whatever the caller set: autocast disabled and TF32 off for CUDA matrix products and
    cuDNN convolutions (GPU training turns TF32 on: its 10-bit mantissa would make nearest-code choices depend on
    the command that runs them); both flags restored after."""
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = matmul.allow_tf32, cudnn.allow_tf32
    matmul.allow_tf32 = cudnn.allow_tf32 = False
    try:
        with torch.autocast(device_type=device_type, enabled=False):
            yield
    finally:
        matmul.allow_tf32, cudnn.allow_tf32 = saved


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing to wait for on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_products(device: torch.device) -> tuple[tuple[int, ...], torch.dtype, int]:
    """(square sizes, dtype, products per timing) of `matmul_peak` on `device`."""
    return ((8192,), torch.bfloat16, 10) if device.type == "cuda" else ((1024, 2048, 4096), torch.float32, 1)


def matmul_peak_kind(device: torch.device) -> str:
    """What `matmul_peak` measures on `device`, for reports: e.g. 'bfloat16 square products of size 8192'."""
    sizes, dtype, _ = _peak_products(device)
    return f"{str(dtype).removeprefix('torch.')} square products of size {', '.join(map(str, sizes))}"


def matmul_peak(device: torch.device, repeats: int = 3) -> float:
    """FLOP/s of the fastest large square matrix product measured here (bf16 8192 on CUDA; float32 1024, 2048
    and 4096 on CPU, whose BLAS needs large products to reach its peak), best of `repeats` timings per size
    after a warm-up: the ceiling that FLOP floors and model FLOPs utilisation are read against."""
    import time

    sizes, dtype, per_timing = _peak_products(device)
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
        torch.mm(a, b)
        for _ in range(repeats):
            synchronize(device)
            start = time.perf_counter()
            for _ in range(per_timing):
                torch.mm(a, b)
            synchronize(device)
            best = max(best, 2.0 * n**3 * per_timing / (time.perf_counter() - start))
    return best
