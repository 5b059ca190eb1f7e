"""Published pretrained weights, the ecosystem's way: torch hub's and Hugging Face's caches, downloads through
torchvision / timm / torch-fidelity, and, offline, one notice line and a labelled fallback (never a traceback).

Every option that takes weights accepts a local FILE (always honoured, never downloaded) or the word
`pretrained` (the published weights: from the cache, else downloaded once into it).
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar
from urllib.parse import urlparse

import torch

PRETRAINED = "pretrained"  # the value of a weights option that asks for the published weights
PROBE_TIMEOUT_S = 5.0  # a host that cannot be reached within this is "offline" (no minute of retries)

T = TypeVar("T")


def notice(message: str) -> None:
    """One line on stderr: 'skinaug: notice: MESSAGE'."""
    print(f"skinaug: notice: {message}", file=sys.stderr)


def wants_pretrained(value: str | None) -> bool:
    """Whether an option's value asks for the published weights (rather than a file or nothing)."""
    return value is not None and str(value).strip().lower() == PRETRAINED


def hub_cached_file(url: str) -> Path | None:
    """Where torch.hub.load_state_dict_from_url keeps `url`'s file, if it is there."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(url.split("?")[0]).name
    return path if path.is_file() else None


def hub_weights_file(url: str, what: str, fallback: str, download: Callable[..., Any] | None = None) -> Path | None:
    """`url`'s file in torch hub's cache, downloaded there once by `download(url, progress=True)` (default:
    torch.hub.load_state_dict_from_url) when it is missing; None after one notice naming `fallback` when it
    cannot be had (offline, or the download fails)."""
    cached = hub_cached_file(url)
    if cached is not None:
        return cached
    host = urlparse(url).hostname or ""
    if not reachable(host):
        notice(f"{what}: not in torch hub's cache and {host} cannot be reached (offline); {fallback}")
        return None
    loader = download or torch.hub.load_state_dict_from_url
    if fetch(what, lambda: loader(url, progress=True), fallback) is None:
        return None
    return hub_cached_file(url)


def reachable(host: str) -> bool:
    """Whether `host`:443 answers within PROBE_TIMEOUT_S (offline machines fail at once, without retries)."""
    try:
        with socket.create_connection((host, 443), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def fetch(what: str, download: Callable[[], T], fallback: str) -> T | None:
    """download() (which goes through its library's cache); on failure one notice naming `fallback`, and None.

    Offline errors come as many types (URLError, huggingface_hub's LocalEntryNotFoundError, httpx errors,
    a checksum mismatch), so any exception of the download itself is caught and reported in one line.
    """
    try:
        return download()
    except Exception as exc:  # noqa: BLE001 - see the docstring
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        notice(f"{what}: not in the cache and could not be downloaded ({detail[:160]}); {fallback}")
        return None
