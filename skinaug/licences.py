"""The licence of a prepared data set, inherited by the generators and synthetic sets made from it."""

from __future__ import annotations

from typing import Any

UNKNOWN: dict[str, str] = {"id": "other", "name": "unknown: see the data set's own terms of use", "url": ""}
KNOWN: dict[str, dict[str, str]] = {
    "ham10000": {
        "id": "cc-by-nc-sa-4.0",
        "name": "CC BY-NC-SA 4.0 (HAM10000, Tschandl et al. 2018)",
        "url": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    }
}


def licence_for_format(fmt: str | None) -> dict[str, str]:
    """{"id": Hugging Face licence id, "name", "url"} of a data set read with `--format fmt`."""
    return dict(KNOWN.get(str(fmt), UNKNOWN))


def data_licence(info: dict[str, Any]) -> dict[str, str]:
    """The licence recorded in a work directory's dataset.json (older ones: inferred from the format)."""
    recorded = info.get("license")
    if isinstance(recorded, dict) and recorded.get("id"):
        return {k: str(recorded.get(k, "")) for k in ("id", "name", "url")}
    return licence_for_format(info.get("format"))
