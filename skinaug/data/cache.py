"""Decode every image once at training resolution into one uint8 N x S x S x 3 `.npy` file (memory-mapped).

The file is keyed by sha256 over (image paths, file sizes, mtimes, S): changing, adding or removing an
image, or asking for another size, builds a new file (and deletes the outdated one for the same image
list); otherwise the existing file is reused. Building writes to a temporary name and renames it, so an
interrupted build leaves no half-written cache behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from ..errors import SkinaugError, os_problem
from . import decode

CACHE_VERSION = 1


def _stat(path: str) -> list[object]:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SkinaugError(f"{path}: {exc.strerror or 'cannot be read'} (needed for the decoded-image cache)") from exc
    return [path, st.st_size, st.st_mtime_ns]


class DecodedImageCache:
    """A folder of decoded-image arrays; `array(files, size)` returns (building once) a read-only memmap."""

    def __init__(self, folder: str | os.PathLike[str], workers: int | None = None, progress: bool = True) -> None:
        self.folder = Path(folder)
        self.workers = workers or min(8, os.cpu_count() or 1)
        self.progress = progress

    def path_for(self, files: Sequence[str | os.PathLike[str]], size: int, via_size: int | None = None) -> Path:
        """The cache file for these images at this size (it may not exist yet)."""
        paths = [str(Path(f).resolve()) for f in files]
        sizes: list[int] = [size] if via_size is None else [size, via_size]
        slot = hashlib.sha256(json.dumps([CACHE_VERSION, *sizes, paths]).encode()).hexdigest()[:16]
        key = hashlib.sha256(json.dumps([CACHE_VERSION, *sizes, [_stat(p) for p in paths]]).encode()).hexdigest()
        via = "" if via_size is None else f"-via{via_size}"
        return self.folder / f"images-{size}px{via}-{slot}-{key[:16]}.npy"

    def build(self, files: Sequence[str | os.PathLike[str]], size: int, via_size: int | None = None) -> Path:
        """Make sure the cache file for `files` at `size` (resized via `via_size` first, if given) exists."""
        if size is None or int(size) < 1:
            raise SkinaugError(f"{self.folder}: the decoded-image cache needs an image_size, got {size!r}")
        size = int(size)
        target = self.path_for(files, size, via_size)
        if target.exists():
            return target
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            self._decode_into(tmp, [str(f) for f in files], size, via_size)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise SkinaugError(f"{target}: could not write the decoded-image cache ({os_problem(exc)})") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        slot = target.name.rsplit("-", 1)[0]
        for old in self.folder.glob(f"{slot}-*.npy"):
            if old != target:
                old.unlink(missing_ok=True)
        return target

    def _decode_into(self, tmp: Path, files: list[str], size: int, via_size: int | None) -> None:
        decoded = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(files), size, size, 3))

        def one(i: int) -> int:
            decoded[i] = decode.decode_image(files[i], size, via_size)
            return i

        pool = ThreadPoolExecutor(self.workers)
        try:
            bar = tqdm(
                total=len(files),
                desc=f"decoding images at {size}px",
                unit="img",
                file=sys.stderr,
                disable=not self.progress,
            )
            with bar:
                for _ in pool.map(one, range(len(files))):
                    bar.update()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        decoded.flush()  # the memmap closes when this function returns, before the caller renames the file

    def array(self, files: Sequence[str | os.PathLike[str]], size: int, via_size: int | None = None) -> np.ndarray:
        """The N x size x size x 3 uint8 array of `files` (read-only memmap), built on first use."""
        return np.load(self.build(files, size, via_size), mmap_mode="r")
