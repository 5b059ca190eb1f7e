"""Checkpoint folders that are never half-written: versioned sub-folders and an atomic LATEST pointer.

ROOT/LATEST names the newest complete checkpoint ROOT/<tag>/. A checkpoint is written into
ROOT/<tag>.partial/, each file fsynced, with checkpoint.json (format, version, sha256 of every file) last;
then the folder is renamed to ROOT/<tag> and LATEST is replaced atomically. A kill at any moment leaves
LATEST pointing at a complete checkpoint; loading verifies every checksum and names the damaged file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..atomic import read_json, write_text
from ..errors import SkinaugError, os_problem
from .folder import FORMAT, FORMAT_VERSION

MANIFEST = "checkpoint.json"
LATEST = "LATEST"


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_checkpoint(
    root: str | os.PathLike[str], tag: str, files: dict[str, bytes], meta: dict[str, Any] | None = None, keep: int = 2
) -> Path:
    """Write `files` (name -> bytes) as checkpoint ROOT/<tag>, point LATEST at it, keep the newest `keep`."""
    root = Path(root)
    final, partial = root / tag, root / f"{tag}.partial"
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for name, data in files.items():
            _fsync_write(partial / name, data)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "tag": tag,
            "meta": meta or {},
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        }
        _fsync_write(partial / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        if final.exists():
            _discard(final)
        os.replace(partial, final)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise SkinaugError(f"{final}: could not write checkpoint ({os_problem(exc)}); previous one kept") from exc
    write_text(root / LATEST, tag + "\n")
    _prune(root, keep, tag)
    return final


def _discard(folder: Path) -> None:
    """Delete a checkpoint folder so that a kill midway leaves a `*.deleting` folder, never a half-deleted tag."""
    doomed = folder.with_name(f"{folder.name}.deleting")
    shutil.rmtree(doomed, ignore_errors=True)
    os.replace(folder, doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def _prune(root: Path, keep: int, newest: str) -> None:
    for scratch in [*root.glob("*.partial"), *root.glob("*.deleting")]:  # left by a killed run
        shutil.rmtree(scratch, ignore_errors=True)
    tags = sorted(
        (p for p in root.iterdir() if p.is_dir() and (p / MANIFEST).exists() and p.name != newest),
        key=lambda p: p.stat().st_mtime,
    )
    for old in tags[: max(0, len(tags) - (keep - 1))]:
        with contextlib.suppress(OSError):
            _discard(old)


def latest_checkpoint(root: str | os.PathLike[str]) -> Path | None:
    """The folder LATEST points to, or None when ROOT holds no checkpoint yet."""
    pointer = Path(root) / LATEST
    if not pointer.exists():
        return None
    tag = pointer.read_text(encoding="utf-8").strip()
    return Path(root) / tag


def read_checkpoint(folder: str | os.PathLike[str]) -> tuple[dict[str, bytes], dict[str, Any]]:
    """(name -> bytes, manifest) of a checkpoint folder (or a ROOT with LATEST), every checksum verified."""
    folder = Path(folder)
    if (folder / LATEST).exists():
        folder = latest_checkpoint(folder)  # type: ignore[assignment]
    manifest_path = folder / MANIFEST
    if not folder.is_dir():
        raise SkinaugError(f"{folder}: checkpoint folder not found")
    if not manifest_path.exists():
        raise SkinaugError(f"{manifest_path}: missing; {folder} is not a complete skinaug checkpoint")
    manifest = read_json(manifest_path)
    if manifest.get("format") != FORMAT:
        raise SkinaugError(f"{manifest_path}: not an LF-VAR checkpoint (format {manifest.get('format')!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise SkinaugError(
            f"{manifest_path}: checkpoint format version {manifest.get('format_version')!r}; "
            f"this skinaug reads version {FORMAT_VERSION}"
        )
    files = {}
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.exists():
            raise SkinaugError(f"{path}: missing from the checkpoint")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise SkinaugError(f"{path}: checksum mismatch (the file is corrupt)")
        files[name] = data
    return files, manifest
