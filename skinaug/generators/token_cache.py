"""Token-index cache of the transformer stage: every training image encoded once by the trained tokenizer.

The transformer learns on the tokenizer's multi-scale token maps. Instead of re-encoding each batch (the
tokenizer's encoder and quantizer per step, as VAR's trainer does), the stage encodes its images once, in
each of the four flip variants the batches draw (batches.FLIP_VARIANTS: none, left-right, up-down, both),
so a cached run sees exactly the tokens an uncached one would: the flip is applied to the image before
encoding, as in the uncached path, not to the token maps (the encoder is not exactly flip-equivariant).
Validation images are cached un-flipped only (validation never flips).

OUT/cache/tokens-<split>.safetensors + .json (state_io.save_state: atomic, the JSON last and naming the
tensors' sha256). The JSON carries a key: sha256 of the tokenizer's weights, the image set (paths, sizes,
mtimes, image size), the scales and the flip variants. A cache whose key differs (retrained tokenizer,
changed images) or whose files are corrupt is rebuilt, said in one line on stderr.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import DecodedImageCache
from ..errors import SkinaugError
from .batches import collate, flip, flip_variants, global_batch, rank_share
from .data import ConditionedImages
from .state_io import load_state, save_state
from .tokenizer import LesionTokenizer

TOKEN_CACHE_VERSION = 1
ENCODE_BATCH = 32
CACHE_FOLDER = "cache"


def module_digest(module: torch.nn.Module) -> str:
    """sha256 over a module's state dict (names, dtypes, shapes and bytes), in name order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        data = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{data.dtype}:{tuple(data.shape)}".encode())
        digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def image_set_key(images: ConditionedImages) -> str:
    """A key that changes when an image of the set is changed, added or removed, or the size differs."""
    files = images.base.frame["image_file"].astype(str).tolist()
    return DecodedImageCache(CACHE_FOLDER).path_for(files, int(images.base.image_size or 0)).stem


@dataclass
class TokenTable:
    """Token maps of a set of images: tokens[variant_position, image, :] flattened scale by scale."""

    tokens: torch.Tensor  # V x N x L integers
    variants: tuple[int, ...]
    scales: tuple[int, ...]

    def lookup(self, index: torch.Tensor, variant: torch.Tensor) -> list[torch.Tensor]:
        """Per scale a LongTensor B x s_k x s_k of images `index` in flip variants `variant`."""
        rows = torch.as_tensor([self.variants.index(int(v)) for v in variant], dtype=torch.long)
        flat = self.tokens[rows, index.long()].long()
        out, start = [], 0
        for side in self.scales:
            out.append(flat[:, start : start + side * side].reshape(-1, side, side))
            start += side * side
        return out


@torch.no_grad()
def encode_images(
    tokenizer: LesionTokenizer, images: ConditionedImages, variants: tuple[int, ...], count: int | None = None
) -> torch.Tensor:
    """V x N x L token indices of the first `count` images (all by default), each flip variant encoded."""
    device = next(tokenizer.parameters()).device
    total = len(images) if count is None else min(count, len(images))
    scales = tuple(tokenizer.quantizer.scales)
    length = sum(s * s for s in scales)
    dtype = torch.int16 if tokenizer.quantizer.codebook.num_embeddings <= 2**15 else torch.int32
    table = torch.empty(len(variants), total, length, dtype=dtype)
    tokenizer.eval()
    for start in range(0, total, ENCODE_BATCH):
        chunk = np.arange(start, min(total, start + ENCODE_BATCH))
        batch = collate(images, chunk, 0, 0, flips=False)["image"]
        for row, variant in enumerate(variants):
            flipped = torch.stack([flip(image, variant) for image in batch]).to(device)
            maps = tokenizer.images_to_indices(flipped)
            table[row, start : start + len(chunk)] = (
                torch.cat([m.reshape(len(chunk), -1) for m in maps], 1).cpu().to(dtype)
            )
    return table


def cache_key(
    tokenizer_digest: str, images: ConditionedImages, variants: tuple[int, ...], count: int, scales: tuple[int, ...]
) -> str:
    """The key a cache file must carry to be reused."""
    parts = [TOKEN_CACHE_VERSION, tokenizer_digest, image_set_key(images), list(variants), count, list(scales)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def token_table(
    path: Path,
    tokenizer: LesionTokenizer,
    images: ConditionedImages,
    variants: tuple[int, ...],
    count: int | None = None,
    build: bool = True,
) -> TokenTable:
    """The cached token table at PATH (.safetensors/.json), (re)built when missing, stale or corrupt.

    With build=False (processes other than rank 0) a missing or stale cache is an error, not a rebuild."""
    total = len(images) if count is None else min(count, len(images))
    scales = tuple(int(s) for s in tokenizer.quantizer.scales)
    key = cache_key(module_digest(tokenizer), images, variants, total, scales)
    problem = "missing"
    if path.with_suffix(".json").exists():
        try:
            state = load_state(path)
            problem = "" if state.get("key") == key else "stale (another tokenizer or image set)"
        except SkinaugError as exc:
            problem = f"unreadable ({str(exc).splitlines()[0]})"
    if problem and not build:
        raise SkinaugError(f"{path.with_suffix('.json')}: token cache {problem}; rank 0 should have built it")
    if problem:
        if problem != "missing":
            print(f"{path.with_suffix('.json')}: token cache {problem}; rebuilding", file=sys.stderr)
        tokens = encode_images(tokenizer, images, variants, total)
        save_state(path, {"key": key, "tokens": tokens, "variants": list(variants), "scales": list(scales)})
        return TokenTable(tokens, variants, scales)
    return TokenTable(state["tokens"], tuple(state["variants"]), tuple(state["scales"]))


def token_step_batch(
    table: TokenTable,
    images: ConditionedImages,
    batch_size: int,
    seed: int,
    step: int,
    rank: int = 0,
    world: int = 1,
    weights: np.ndarray | None = None,
) -> dict[str, Any]:
    """What batches.step_batch gives for `step` (same images, same flips), with cached 'tokens' for 'image'."""
    share = rank_share(global_batch(len(images), batch_size, seed, step, weights), rank, world)
    index = torch.from_numpy(np.asarray(share, dtype=np.int64))
    variant = torch.from_numpy(flip_variants(seed, step, len(share), rank * len(share)))
    return {
        "tokens": table.lookup(index, variant),
        "label": torch.from_numpy(images.base.labels[share]),
        "measurements": images.vectors[index],
        "index": index,
        "flip": variant,
    }


def token_first_batch(table: TokenTable, images: ConditionedImages, count: int) -> dict[str, Any]:
    """The first `count` images un-flipped, with cached 'tokens' (the validation batch)."""
    index = torch.arange(min(count, len(images)))
    return {
        "tokens": table.lookup(index, torch.zeros_like(index)),
        "label": torch.from_numpy(images.base.labels[index.numpy()]),
        "measurements": images.vectors[index],
        "index": index,
        "flip": torch.zeros_like(index),
    }
