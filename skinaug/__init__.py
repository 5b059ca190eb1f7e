"""skinaug: controllable synthetic dermoscopy (LF-VAR) and honest tests of whether it helps classifiers."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """`from skinaug import Generator` without importing torch for every `import skinaug`."""
    if name == "Generator":
        from .generators.generator import Generator

        return Generator
    raise AttributeError(f"module 'skinaug' has no attribute {name!r}")
