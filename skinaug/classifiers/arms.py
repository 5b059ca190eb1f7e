"""The arms of `skinaug bench-classifier`: what each arm trains on and how its batches are drawn.

An arm is named `<mixing>[-<source>]`:

* mixings without extra images: **a** real only (plain shuffling); **b** real drawn by a class-weighted
  random sampler; **d** real randomly oversampled (imbalanced-learn's RandomOverSampler) to balance classes;
* mixings with extra images: **c** real + extra images pooled, drawn class-balanced (every image of a class
  equally likely, so the extra share of a class's draws is S_k / (R_k + S_k) and tracks the class);
  **topup** real images topped up with extra ones so that every class holds N (the paper's "balanced to
  500 per class"; classes already above N get none), plain shuffling; **topup-sampler** the same set drawn
  class-balanced; **share<P>** (e.g. share0.25) class-balanced draws with the extra share of every class's
  draws capped at P;
* sources of the extra images: **synthetic** (the default; the LF-VAR set given with --synthetic),
  **copies** (flipped/rotated/colour-shifted copies of train images: the control that any generator must
  beat) and **selected** (the synthetic images that a classifier trained on real train images assigns to
  the requested class).

* a finish (any arm with extra images): **-finish<K>** (e.g. share0.5-finish2) draws the last K epochs from
  real images only, as arm b does (class-weighted sampler): the extra images teach first, and the model the
  run ends with was last fitted on real images, so a mark that tells generated from real is no longer rewarded
  at the end.

So `c` is real + synthetic pooled, `topup-copies` the copy control of `topup`, `share0.25-selected` the
selected synthetic images capped at a quarter of every class's draws, `share0.5-copies-finish2` the copy
control of `share0.5-finish2`. Every arm draws as many images per
epoch as the real training set holds, so all arms get the same number of gradient steps, and every arm is
tested on the same real test images, so differences between arms are paired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, RandomSampler, Sampler

from ..data import (
    PhasedSampler,
    LabelledSubset,
    ManifestDataset,
    combine,
    labelled_subset,
    mixed_sampler,
    oversampled_indices,
    top_up_indices,
    weighted_sampler,
)
from ..errors import SkinaugError

MIXINGS: dict[str, str] = {
    "a": "real only",
    "b": "real + weighted sampler",
    "c": "real + {source} pooled + sampler",
    "d": "real + random oversampling",
    "topup": "real topped up to {n} per class with {source}, shuffled",
    "topup-sampler": "real topped up to {n} per class with {source} + sampler",
    "share": "real + {source} (at most {share:.0%} of each class's draws) + sampler",
}
SOURCES: dict[str, str] = {"synthetic": "synthetic", "copies": "copies (control)", "selected": "selected synthetic"}
REAL_ONLY_MIXINGS: tuple[str, ...] = ("a", "b", "d")
LETTERS = "abcd"
ARMS: dict[str, str] = {  # the classic letters, kept for reports and the command line
    "a": MIXINGS["a"],
    "b": MIXINGS["b"],
    "c": "real + synthetic + sampler",
    "d": MIXINGS["d"],
}
_SHARE = re.compile(r"share(\d*\.?\d+)")
_FINISH = re.compile(r"(.+)-finish(\d+)")


@dataclass(frozen=True)
class ArmSpec:
    """One arm: its name, how batches are drawn (`mixing`), which extra images (`source`) and the share cap."""

    name: str
    mixing: str
    source: str | None = None
    share: float | None = None
    finish: int = 0  # the last `finish` epochs draw real images only (as arm b)

    def describe(self, top_up_to: int = 500) -> str:
        """The arm in words, e.g. 'real topped up to 500 per class with copies (control), shuffled'."""
        if self.name == "c":
            return ARMS["c"]
        words = MIXINGS[self.mixing].format(
            source=SOURCES.get(self.source or "", ""), n=top_up_to, share=self.share or 0.0
        )
        if self.finish:
            words += f"; the last {self.finish} epoch(s) real only + sampler (as b)"
        return words


def parse_arm(name: str) -> ArmSpec:
    """`ArmSpec` of an arm name (see the module docstring); a clear error for anything else."""
    finished = _FINISH.fullmatch(name.strip())
    if finished:
        base = parse_arm(finished.group(1))
        if base.source is None or base.finish or int(finished.group(2)) < 1:
            raise SkinaugError(
                f"arm {name!r}: -finish<K> (K >= 1) follows an arm that mixes extra images, e.g. share0.5-finish2"
            )
        return ArmSpec(name.strip(), base.mixing, base.source, base.share, int(finished.group(2)))
    text = name.strip()
    source = "synthetic"
    for candidate in ("copies", "selected", "synthetic"):
        if text.endswith(f"-{candidate}"):
            text, source = text[: -len(candidate) - 1], candidate
            break
    if text in REAL_ONLY_MIXINGS:
        if text != name.strip():
            raise SkinaugError(f"arm {name!r}: arm {text} uses no extra images, so it takes no -{source} suffix")
        return ArmSpec(text, text)
    if text in ("c", "topup", "topup-sampler"):
        return ArmSpec(name.strip(), text, source)
    match = _SHARE.fullmatch(text)
    if match and 0.0 <= float(match.group(1)) <= 1.0:
        return ArmSpec(name.strip(), "share", source, float(match.group(1)))
    raise SkinaugError(
        f"arm {name!r}: unknown; arms are a, b, d, or c / topup / topup-sampler / share<P> "
        "(P in 0..1, e.g. share0.25), optionally followed by -synthetic, -copies or -selected, then -finish<K>"
    )


def parse_arms(spec: str, shares: tuple[float, ...] = ()) -> list[ArmSpec]:
    """Arms from `--arms` (letters such as "abcd", or names separated by commas) plus one share arm per value
    of `--synthetic-share` (share arms for every source already asked for). Order kept, duplicates dropped."""
    text = spec.strip()
    names = [t for t in text.split(",") if t.strip()] if "," in text or not set(text) <= set(LETTERS) else list(text)
    if not names:
        raise SkinaugError(f"--arms {spec!r}: no arm given")
    try:
        arms = [parse_arm(n) for n in names]
    except SkinaugError as exc:
        raise SkinaugError(f"--arms {spec!r}: {exc}") from None
    sources = [s for s in ("synthetic", "copies", "selected") if any(a.source == s for a in arms)] or ["synthetic"]
    arms += [parse_arm(f"share{share:g}" + ("" if s == "synthetic" else f"-{s}")) for share in shares for s in sources]
    unique: dict[str, ArmSpec] = {}
    for arm in arms:
        unique.setdefault(arm.name, arm)
    return list(unique.values())


@dataclass
class BuiltArm:
    """What an arm trains on: the dataset, its sampler (None = plain shuffling) and which items are extra."""

    dataset: Dataset
    sampler: Sampler | None
    labels: np.ndarray
    is_extra: np.ndarray


def build_arm(
    arm: ArmSpec | str,
    real_train: ManifestDataset,
    extra: ManifestDataset | LabelledSubset | None,
    seed: int,
    top_up_to: int = 500,
    epochs: int | None = None,
) -> BuiltArm:
    """The training set and sampler of an arm, drawing len(real_train) images per epoch.

    `extra` is the arm's extra image set (synthetic, copies or selected); arms a, b and d ignore it. A -finish<K>
    arm needs `epochs` (the run's): its sampler switches to arm b's draws for the last K of them.
    """
    spec = parse_arm(arm) if isinstance(arm, str) else arm
    if spec.finish:
        if epochs is None or spec.finish >= epochs:
            raise SkinaugError(
                f"arm {spec.name}: -finish{spec.finish} needs more than {spec.finish} epochs (the run has {epochs})"
            )
        built = build_arm(replace(spec, finish=0), real_train, extra, seed, top_up_to)
        real_draws = weighted_sampler(real_train.labels, num_samples=len(real_train), seed=seed)  # real come first
        assert built.sampler is not None  # every arm with extra images has one
        sampler = PhasedSampler(built.sampler, real_draws, epochs - spec.finish)
        return BuiltArm(built.dataset, sampler, built.labels, built.is_extra)
    n = len(real_train)
    real_flags = np.zeros(n, dtype=bool)
    if spec.mixing == "a":
        return BuiltArm(real_train, None, real_train.labels, real_flags)
    if spec.mixing == "b":
        return BuiltArm(
            real_train, weighted_sampler(real_train.labels, num_samples=n, seed=seed), real_train.labels, real_flags
        )
    if spec.mixing == "d":
        order = oversampled_indices(real_train.labels, seed)
        repeated = labelled_subset(real_train, order)
        return BuiltArm(repeated, _shuffled(repeated, n, seed), repeated.labels, np.zeros(len(order), dtype=bool))
    if extra is None:
        raise SkinaugError(f"arm {spec.name} needs a set of extra images ({spec.source}); give --synthetic")
    if spec.mixing in ("topup", "topup-sampler"):
        extra = labelled_subset(extra, top_up_indices(real_train.labels, extra.labels, top_up_to, seed))
    mixed = combine(real_train, extra)
    flags = np.concatenate([real_flags, np.ones(len(extra), dtype=bool)])
    if spec.mixing == "topup":
        return BuiltArm(mixed, _shuffled(mixed, n, seed), mixed.labels, flags)
    share = spec.share if spec.mixing == "share" else None
    return BuiltArm(mixed, mixed_sampler(mixed.labels, flags, share, num_samples=n, seed=seed), mixed.labels, flags)


def _shuffled(dataset: Any, n: int, seed: int) -> RandomSampler:
    """n draws per epoch without replacement (a fresh random subset of a larger set every epoch)."""
    return RandomSampler(dataset, replacement=False, num_samples=n, generator=torch.Generator().manual_seed(seed))


def control_of(name: str) -> str | None:
    """The copy-control twin of an arm that mixes generated images (c -> c-copies, topup-selected ->
    topup-copies); None for real-only and copy arms, or a name that is not an arm."""
    try:
        spec = parse_arm(name)
    except SkinaugError:
        return None
    if spec.source not in ("synthetic", "selected"):
        return None
    base = spec.name.removesuffix(f"-finish{spec.finish}") if spec.finish else spec.name
    finish = f"-finish{spec.finish}" if spec.finish else ""
    return f"{base.removesuffix(f'-{spec.source}')}-copies{finish}"


def unfinished_of(name: str) -> str | None:
    """The arm a -finish<K> arm finishes (share0.5-finish2 -> share0.5): the comparison that shows what ending on
    real images changes; None for other arms."""
    try:
        spec = parse_arm(name)
    except SkinaugError:
        return None
    return spec.name.removesuffix(f"-finish{spec.finish}") if spec.finish else None


def uses_extra(name: str) -> bool:
    """True for arms that mix extra (synthetic, copied or selected) images into the real ones."""
    try:
        return parse_arm(name).source is not None
    except SkinaugError:
        return False
