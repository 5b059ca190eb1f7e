"""Atomic writes: every output file is written to a temporary file beside it and renamed into place."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np

from .errors import SkinaugError, os_problem

_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file next to `path`; on success fsync and rename it over `path`.

    On any error the temporary file is removed and `path` keeps its previous content.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs get the usual permissions
    except OSError as exc:
        raise SkinaugError(f"{path}: could not write ({os_problem(exc)}); previous content kept") from exc
    try:
        text: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **text) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise SkinaugError(f"{path}: could not write ({os_problem(exc)}); previous content kept") from exc
    except BaseException:
        _remove_quietly(tmp)
        raise


def _remove_quietly(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write text atomically."""
    with atomic_open(path, "w") as handle:
        handle.write(text)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON atomically (NaN/inf become null, numpy scalars become Python numbers)."""
    write_text(path, json.dumps(jsonable(data), indent=2, sort_keys=False, allow_nan=False) + "\n")


def write_csv(path: str | os.PathLike[str], frame: "Any") -> None:
    """Write a pandas DataFrame as CSV atomically (no index)."""
    with atomic_open(path, "w") as handle:
        frame.to_csv(handle, index=False)


def write_png(path: str | os.PathLike[str], image: "Any") -> None:
    """Write a PIL image (or uint8 array) as PNG atomically."""
    from PIL import Image

    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    with atomic_open(path, "wb") as handle:
        image.save(handle, format="PNG")


def jsonable(value: Any) -> Any:
    """`value` with numpy scalars/arrays, tuples and paths as JSON types, NaN/inf as None (as write_json writes)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file; SkinaugError naming it if it is unreadable or not valid JSON (write_json's reading side)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SkinaugError(f"{path}: not valid JSON ({exc})") from exc
    except OSError as exc:
        raise SkinaugError(f"{path}: cannot read ({exc.strerror or exc})") from exc
