"""A generator to share: weights only, in the folder layout Hugging Face users know, with a model card.

    OUT/config.json                     format skinaug-lfvar-pretrained, the model config, the data summary
    OUT/tokenizer/model.safetensors     the multi-scale VQ-VAE's weights (the training checkpoint's bytes)
    OUT/transformer/model.safetensors   the VAR transformer's weights
    OUT/scaler.json, class_means.json   the measurement scaler and class averages it is conditioned with
    OUT/README.md                       model card with YAML metadata (library, tags, data set, licence)

No optimiser, discriminator or RNG state and no absolute path: the folder can be uploaded to a model hub as
is. `Generator.from_pretrained(OUT)` loads it (and samples exactly as the training folder does); a name
`owner/repo` that is not a local folder is fetched with huggingface_hub into its cache, where installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import atomic_open, read_json, write_json, write_text
from ..errors import SkinaugError
from ..labels import CLASSES
from ..licences import UNKNOWN
from .generator import RUN_FORMAT, STAGES, Generator, read_generator_config

PRETRAINED_FORMAT = "skinaug-lfvar-pretrained"
WEIGHTS_NAME = "model.safetensors"
CARD_SCORES = ("loss", "psnr", "val_psnr", "accuracy", "val_loss", "val_accuracy")
DATA_NAMES = {
    "ham10000": "HAM10000",
    "isic2017": "ISIC 2017",
    "isic2018": "ISIC 2018",
    "ph2": "PH2",
    "dermofit": "Dermofit",
}


def _weights_bytes(gen: Generator) -> dict[str, bytes]:
    from safetensors.torch import save as save_tensors

    return {
        stage: save_tensors({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()})
        for stage, model in zip(STAGES, (gen.tokenizer, gen.transformer))
    }


def save_pretrained(gen: Generator, out: str | os.PathLike[str], evaluation: dict[str, Any] | None = None) -> Path:
    """Write `gen` to OUT (see the module docstring); `evaluation`: an `evaluate` metrics.json for the card."""
    out = Path(out)
    blobs = _weights_bytes(gen)
    checksum = hashlib.sha256(b"".join(blobs[s] for s in STAGES)).hexdigest()[:16]
    if checksum != gen.checksum:
        raise SkinaugError(
            f"{out}: the weights in memory differ from the loaded ones (checksum {checksum}, "
            f"loaded {gen.checksum}); export a freshly loaded generator"
        )
    for stage in STAGES:
        with atomic_open(out / stage / WEIGHTS_NAME, "wb") as handle:
            handle.write(blobs[stage])
    gen.scaler.save(out / "scaler.json")
    write_json(
        out / "class_means.json",
        {
            "classes": {
                c: {"mean_scaled": gen.class_means[c].tolist() if c in gen.class_means else None} for c in CLASSES
            },
            "features": gen.scaler.features,
        },
    )
    data = dict(gen.info.get("data") or {"format": gen.info.get("dataset")})
    config = {
        "format": PRETRAINED_FORMAT,
        "format_version": 1,
        "skinaug_version": __version__,
        "checksum": gen.checksum,
        "made_from": gen.made_from,
        "data": data,
        "scores": gen.scores,
        "evaluation": _evaluation_summary(evaluation),
        "model": gen.config.to_dict(),
    }
    write_text(out / "README.md", model_card(config))
    write_json(out / "config.json", config)  # last: it marks OUT as a complete export
    return out


def _evaluation_summary(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The few numbers of an `evaluate` metrics.json that belong in a model card (no paths)."""
    if not metrics:
        return None
    overall = metrics.get("overall") or {}
    return {
        "features": (metrics.get("extractor") or {}).get("label"),
        "fid": overall.get("fid"),
        "kid": overall.get("kid"),
        "conditioning_recall": (metrics.get("conditioning") or {}).get("mean_recall"),
        "reference_split": (metrics.get("config") or {}).get("reference_split"),
        "synthetic_per_class": (metrics.get("counts") or {}).get("synthetic"),
    }


def _yaml_list(values: list[str]) -> str:
    return "\n".join(f"  - {json.dumps(v)}" for v in values)


def model_card(config: dict[str, Any]) -> str:
    """README.md: YAML front matter (library_name, license, tags, datasets) and the card's sections."""
    model, data = config["model"], config.get("data") or {}
    licence = data.get("license") or UNKNOWN
    name = DATA_NAMES.get(str(data.get("format")), str(data.get("format") or "unknown data set"))
    front = ["---", "library_name: skinaug", f"license: {licence.get('id', 'other')}"]
    if licence.get("id", "other") == "other":
        front.append(f"license_name: {json.dumps(licence.get('name', 'see the data set'))}")
    front += [
        "tags:",
        _yaml_list(
            [
                "skinaug",
                "lf-var",
                "var",
                "vq-vae",
                "dermoscopy",
                "skin-lesion",
                "medical-imaging",
                "synthetic-data",
                "image-generation",
            ]
        ),
        "datasets:",
        _yaml_list([name]),
        "pipeline_tag: unconditional-image-generation",
        "---",
        "",
    ]
    tok, tra = model["tokenizer"], model["transformer"]
    per_class = data.get("train_images_per_class") or {}
    counts = ", ".join(f"{c} {n}" for c, n in per_class.items()) or "not recorded (trained by an older skinaug)"
    split = data.get("split") or {}
    lines = [
        f"# LF-VAR dermoscopy generator `{model['name']}`",
        "",
        "A lesion-focused multi-scale VQ-VAE and a VAR next-scale transformer (LF-VAR, MICCAI 2025) that make "
        "dermoscopic images of a requested lesion class, conditioned on radiomics measurements, and in-paint a "
        "lesion into a real image's skin. Trained with skinaug `train-generator`, exported with "
        "`skinaug export-generator`.",
        "",
        "```python",
        "from skinaug import Generator",
        "",
        'gen = Generator.from_pretrained("path/to/this/folder")',
        'images = gen.free(["mel", "df"], seed=0)   # uint8 N x S x S x 3',
        "```",
        "",
        "## Intended use",
        "Research on data augmentation for skin-lesion classifiers: class-balanced synthetic training images, "
        "checked on real test images only (`skinaug bench-classifier`).",
        "",
        "## Limitations",
        "- Not a medical device; synthetic images must never be used to diagnose, nor as validation or test data.",
        "- It reproduces the biases of its training data (one data set, its skin types, devices and classes); "
        "rare classes had few training images.",
        f"- {tok['image_size']} px images; quality depends on the training budget (see the scores below).",
        f"- The licence of the training data applies to the weights and to the images they make: "
        f"{licence.get('name', 'unknown')}{' ' + licence['url'] if licence.get('url') else ''}.",
        "",
        "## Training data",
        f"- {name} (`--format {data.get('format')}`), train split only: {data.get('train_images', 'n/a')} images "
        f"with a lesion mask and measurements ({counts}).",
        f"- Lesion-grouped split {split.get('train', '?')}/{split.get('val', '?')}/{split.get('test', '?')}, "
        f"seed {split.get('seed', '?')}; split fingerprint `{(config.get('made_from') or {}).get('split')}`.",
        "",
        "## Model",
        f"- Tokenizer: scales {tok['scales']}, vocabulary {tok['vocab_size']}, latent {tok['latent_dim']}, lesion "
        f"focus {tok['lesion_focus']}.",
        f"- Transformer: depth {tra['depth']}, width {tra['width']}, heads {tra['heads']}; measurements "
        f"{tra['measurements']} ({tra['measurement_dim']} features); classes {', '.join(CLASSES)}.",
        f"- Steps: tokenizer {model['tokenizer_optim']['steps']}, transformer {model['transformer_optim']['steps']}; "
        f"weights checksum `{config['checksum']}`.",
        "",
        "## Scores",
        "Last logged training values:",
        "",
    ]
    for stage, row in (config.get("scores") or {}).items():
        values = ", ".join(f"{k} {row[k]:.4g}" for k in CARD_SCORES if isinstance(row.get(k), (int, float)))
        lines.append(f"- {stage} (step {row.get('step')}): {values or 'n/a'}")
    evaluation = config.get("evaluation")
    if evaluation:
        lines += [
            "",
            f"`skinaug evaluate` against the real {evaluation.get('reference_split')} split "
            f"({evaluation.get('features')} features): FID {_number(evaluation.get('fid'))}, KID "
            f"{_number(evaluation.get('kid'))}, conditioning recall "
            f"{_number(evaluation.get('conditioning_recall'))}.",
        ]
    else:
        lines += ["", "No `skinaug evaluate` result was attached (`export-generator --evaluation metrics.json`)."]
    return "\n".join(front + lines) + "\n"


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else "n/a"


def load_pretrained(path: str | os.PathLike[str], device: str = "auto") -> Generator:
    """A generator from an export folder, a train-generator folder, or a hub name `owner/repo` (huggingface_hub)."""
    folder = Path(path)
    if not folder.exists():
        folder = _download(str(path))
    config_path = folder / "config.json"
    fmt = read_json(config_path).get("format") if config_path.is_file() else None
    if fmt == RUN_FORMAT:
        return Generator.load(folder, device)
    info, config = read_generator_config(folder, PRETRAINED_FORMAT)
    blobs = {}
    for stage in STAGES:
        weights = folder / stage / WEIGHTS_NAME
        if not weights.is_file():
            raise SkinaugError(f"{weights}: missing; {folder} is not a complete exported generator")
        blobs[stage] = weights.read_bytes()
    gen = Generator.from_parts(folder, info, config, blobs, device)
    if info.get("checksum") and gen.checksum != info["checksum"]:
        raise SkinaugError(
            f"{folder}: weights checksum {gen.checksum} differs from config.json's {info['checksum']} "
            "(a damaged or replaced weights file)"
        )
    gen.scores = info.get("scores") or {}
    return gen


def _download(name: str) -> Path:
    """A hub repository's snapshot (huggingface_hub's cache), or a one-line error."""
    if name.count("/") != 1 or name.startswith((".", "/")):
        raise SkinaugError(f"{name}: no such folder (nor a hub name owner/repo)")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise SkinaugError(
            f"{name}: no such folder; to fetch it from the Hugging Face hub install huggingface_hub"
        ) from None
    try:
        return Path(snapshot_download(repo_id=name))
    except Exception as exc:  # offline, unknown repository, no access: one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SkinaugError(
            f"{name}: no such folder, and it could not be fetched from the Hugging Face hub ({first[:200]})"
        ) from None


def export_generator(
    run_dir: str | os.PathLike[str], out: str | os.PathLike[str], evaluation: str | os.PathLike[str] | None = None
) -> Path:
    """`skinaug export-generator RUN_DIR OUT`: the latest checkpoints of a training folder, weights only."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise SkinaugError(f"{out}: not empty; export into a new folder")
    gen = Generator.load(run_dir, "cpu")
    metrics = read_json(Path(evaluation)) if evaluation else None
    try:
        return save_pretrained(gen, out, metrics)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
