"""What a work directory holds that was derived from its split, and the guard against re-splitting under it.

Measurements (the scaler and class means are fitted on the train split), generators and synthetic sets are
only valid for the split they were made from. `prepare` over an existing work directory that would change
the split is refused while any of them exists there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from .errors import SkinaugError
from .fingerprints import split_fingerprint
from .manifest import MANIFEST_NAME

MAX_DEPTH = 3
SKIPPED = {"images", "masks", "decoded", "tokenizer", "transformer", "runs"}  # large folders that hold no marker


def _marker_kind(folder: Path) -> str | None:
    if (folder / "synthetic.json").is_file():
        return "synthetic set"
    config = folder / "config.json"
    if config.is_file():
        try:
            fmt = json.loads(config.read_text(encoding="utf-8")).get("format", "")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            return None
        if str(fmt).startswith("skinaug-lfvar"):
            return "generator"
    return None


def derived_outputs(workdir: str | os.PathLike[str]) -> list[str]:
    """'measurements/', 'generator generator-tiny/', 'synthetic set syn/' ... found in WORKDIR (3 levels deep)."""
    workdir = Path(workdir)
    found = []
    if any((workdir / "measurements" / name).exists() for name in ("features.csv", "scaler.json")):
        found.append("measurements/")
    for folder, subfolders, _ in os.walk(workdir):
        here = Path(folder)
        depth = len(here.relative_to(workdir).parts)
        subfolders[:] = sorted(s for s in subfolders if s not in SKIPPED and depth < MAX_DEPTH)
        kind = _marker_kind(here) if here != workdir else None
        if kind:
            found.append(f"{kind} {here.relative_to(workdir).as_posix()}/")
            subfolders[:] = []
    return found


def check_resplit(workdir: str | os.PathLike[str], manifest: pd.DataFrame) -> None:
    """Refuse to write `manifest` over WORKDIR when it changes the split and outputs derived from it exist."""
    workdir = Path(workdir)
    old_path = workdir / MANIFEST_NAME
    if not old_path.is_file():
        return
    derived = derived_outputs(workdir)
    if not derived:
        return
    try:
        old = pd.read_csv(old_path, dtype=str, keep_default_na=False)
        before = split_fingerprint(old)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, KeyError, UnicodeDecodeError):
        before = "unreadable"
    after = split_fingerprint(manifest)
    if before != after:
        raise SkinaugError(
            f"{workdir}: prepare would change the split (fingerprint {before} -> {after}) while "
            f"{', '.join(derived)} made from the current split exist; write to a new --out, or "
            "delete them first"
        )
