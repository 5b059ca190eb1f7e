"""The one exception type that the CLI reports as a single line instead of a traceback."""

from __future__ import annotations

import errno


class SkinaugError(Exception):
    """A problem with the user's input, files or environment; the message names the file and the problem."""


def os_problem(exc: OSError) -> str:
    """The problem an OSError describes, in words: 'disk full (No space left on device)', 'File too large', ..."""
    if exc.errno == errno.ENOSPC:
        return "disk full (No space left on device)"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    return exc.strerror or str(exc) or type(exc).__name__


def describe_os_error(exc: OSError) -> str:
    """One line naming the file(s) and the problem: 'PATH: disk full (No space left on device)'."""
    names = [str(name) for name in (exc.filename, exc.filename2) if name is not None]
    where = " -> ".join(names) if names else type(exc).__name__
    return f"{where}: {os_problem(exc)}"
