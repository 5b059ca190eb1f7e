"""Content fingerprints that tie generators and synthetic sets to a work directory wherever it lives.

A generator or synthetic set records the fingerprint of the split it was made from (which image is train,
val or test, with its label) and of the measurement scaler it used. A work directory moved with `mv` or
copied to another machine keeps both; a work directory re-split with another seed does not.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import SkinaugError
from .manifest import Prepared

SCALER_FILE = Path("measurements") / "scaler.json"


def split_fingerprint(manifest: pd.DataFrame) -> str:
    """sha256 (16 hex) of the sorted (image_id, label, split) rows: changes exactly when the split does."""
    lines = sorted(
        manifest["image_id"].astype(str) + "\t" + manifest["label"].astype(str) + "\t" + manifest["split"].astype(str)
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def scaler_fingerprint(path: str | os.PathLike[str]) -> str | None:
    """sha256 (16 hex) of a scaler.json's content (key order and spacing ignored); None when it is absent."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SkinaugError(f"{path}: not valid JSON ({exc})") from exc
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def workdir_fingerprints(prepared: Prepared) -> dict[str, Any]:
    """{"split": ..., "scaler": ... or None} of a loaded work directory."""
    return {"split": split_fingerprint(prepared.manifest), "scaler": scaler_fingerprint(prepared.workdir / SCALER_FILE)}


def check_made_from(
    what: str, recorded: dict[str, Any] | None, recorded_path: str | None, prepared: Prepared, scaler: bool = True
) -> None:
    """Refuse `what` (a generator or synthetic set) when it was made from another split than `prepared`'s.

    `recorded` is what `workdir_fingerprints` gave when it was made; outputs of older skinaug versions record
    only the work directory's path (`recorded_path`), which must then be this work directory.
    """
    here = prepared.workdir.resolve()
    if not recorded or not recorded.get("split"):
        if recorded_path is None or Path(recorded_path).resolve() != here:
            raise SkinaugError(
                f"{what}: made from the work directory {recorded_path} (recorded by path only, an "
                f"older skinaug), not {here}; use it with that work directory or make it again"
            )
        return
    mine = workdir_fingerprints(prepared)
    if recorded["split"] != mine["split"]:
        raise SkinaugError(
            f"{what}: made from another split (fingerprint {recorded['split']}) than the work "
            f"directory {here} ({mine['split']}); its train images may be this split's val/test "
            "images"
        )
    if scaler and recorded.get("scaler") and mine["scaler"] and recorded["scaler"] != mine["scaler"]:
        raise SkinaugError(
            f"{what}: made with other measurements (scaler fingerprint {recorded['scaler']}) than "
            f"{here / SCALER_FILE} ({mine['scaler']}); run it again after `skinaug measure`"
        )
