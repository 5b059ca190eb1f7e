"""The seven HAM10000 lesion classes and the normalisation of the many ways datasets spell them."""

from __future__ import annotations

from .errors import SkinaugError

CLASSES: tuple[str, ...] = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")

CLASS_DESCRIPTIONS: dict[str, str] = {
    "akiec": "actinic keratosis / intraepithelial carcinoma",
    "bcc": "basal cell carcinoma",
    "bkl": "benign keratosis (seborrhoeic keratosis, solar lentigo, lichen-planus-like keratosis)",
    "df": "dermatofibroma",
    "mel": "melanoma",
    "nv": "melanocytic naevus",
    "vasc": "vascular lesion",
}

# Spellings seen in public datasets and spreadsheets, all lower case, mapped to the canonical name.
LABEL_ALIASES: dict[str, str] = {
    **{c: c for c in CLASSES},
    "ak": "akiec",
    "actinic keratosis": "akiec",
    "actinic keratoses": "akiec",
    "iec": "akiec",
    "basal cell carcinoma": "bcc",
    "benign keratosis": "bkl",
    "seborrheic keratosis": "bkl",
    "seborrhoeic keratosis": "bkl",
    "seborrheic_keratosis": "bkl",
    "sk": "bkl",
    "sebk": "bkl",
    "dermatofibroma": "df",
    "melanoma": "mel",
    "nevus": "nv",
    "naevus": "nv",
    "melanocytic nevus": "nv",
    "melanocytic naevus": "nv",
    "melanocytic nevi": "nv",
    "ml": "nv",
    "vascular": "vasc",
    "vascular lesion": "vasc",
}


def normalise_label(raw: object, where: str = "") -> str:
    """Map a raw label (any case, common synonyms) to one of CLASSES; raise SkinaugError if unknown."""
    key = str(raw).strip().lower().replace("-", " ") if raw is not None else ""
    key = " ".join(key.split())
    if key in LABEL_ALIASES:
        return LABEL_ALIASES[key]
    if key.replace(" ", "_") in LABEL_ALIASES:
        return LABEL_ALIASES[key.replace(" ", "_")]
    prefix = f"{where}: " if where else ""
    shown = "(empty)" if not key else repr(str(raw))
    raise SkinaugError(f"{prefix}unknown label {shown}; known labels: {', '.join(CLASSES)}")
