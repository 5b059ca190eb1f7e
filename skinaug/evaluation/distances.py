"""FID, KID, IS and precision/recall of feature sets (torch-fidelity's formulas) with bootstrap intervals.

Point estimates go through torch-fidelity's own functions. Bootstrap replicates and the inter-class matrix use
`frechet_distance`, the same FID computed in the smaller of the two spaces (sample space when there are fewer
images than feature dimensions), tested equal to torch-fidelity's.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

MIN_IMAGES = 2  # below this a set has no covariance: its metrics are NaN
PRC_NEIGHBOURHOOD = 3  # k of the k-NN manifolds of improved precision/recall (torch-fidelity's default)
KID_MAX_SUBSET = 1000  # torch-fidelity's default KID subset size; smaller sets use their own size


def fid(generated: torch.Tensor, real: torch.Tensor) -> float:
    """Fréchet distance of two N x D feature sets (torch-fidelity); NaN when either has < 2 rows."""
    if min(len(generated), len(real)) < MIN_IMAGES:
        return math.nan
    stats = [fid_features_to_statistics(f.double().cpu()) for f in (generated, real)]
    return float(fid_statistics_to_metric(stats[0], stats[1], verbose=False)["frechet_inception_distance"])


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID from features, exact, in O(min(n, d)^3): tr sqrt(S_a S_b) = nuclear norm of X_a X_b^T / sqrt(..)."""
    if min(len(a), len(b)) < MIN_IMAGES:
        return math.nan
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    xa, xb = a - a.mean(0), b - b.mean(0)
    na, nb = len(a) - 1, len(b) - 1
    mean_term = float(np.sum((a.mean(0) - b.mean(0)) ** 2))
    trace_a, trace_b = float(np.sum(xa * xa)) / na, float(np.sum(xb * xb)) / nb
    if min(len(a), len(b)) < a.shape[1]:
        cross = np.linalg.svd(xa @ xb.T / math.sqrt(na * nb), compute_uv=False).sum()
    else:
        sa = xa.T @ xa / na
        w, v = np.linalg.eigh(sa)
        root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        inner = root @ (xb.T @ xb / nb) @ root
        cross = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    return mean_term + trace_a + trace_b - 2 * float(cross)


def kid_subset_size(n_generated: int, n_real: int) -> int:
    """torch-fidelity's 1000, or the smaller set's size when a set is smaller."""
    return min(KID_MAX_SUBSET, n_generated, n_real)


def kid(generated: torch.Tensor, real: torch.Tensor, subsets: int = 100, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the KID over `subsets` random subsets (torch-fidelity, cubic polynomial kernel)."""
    size = kid_subset_size(len(generated), len(real))
    if size < MIN_IMAGES:
        return math.nan, math.nan
    out = kid_features_to_metric(
        generated.double().cpu(),
        real.double().cpu(),
        kid_subsets=subsets,
        kid_subset_size=size,
        rng_seed=seed,
        verbose=False,
    )
    return float(out["kernel_inception_distance_mean"]), float(out["kernel_inception_distance_std"])


def inception_score(logits: torch.Tensor, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the IS over splits (torch-fidelity); up to 10 splits of at least 10 images."""
    if len(logits) < MIN_IMAGES:
        return math.nan, math.nan
    splits = max(1, min(10, len(logits) // 10))
    out = isc_features_to_metric(logits.double().cpu(), splits=splits, shuffle=True, rng_seed=seed)
    return float(out["inception_score_mean"]), float(out["inception_score_std"])


def precision_recall(generated: torch.Tensor, real: torch.Tensor) -> tuple[float, float]:
    """Improved precision (generated inside the real manifold) and recall (real inside the generated one)."""
    if min(len(generated), len(real)) <= PRC_NEIGHBOURHOOD:
        return math.nan, math.nan
    out = prc_features_to_metric(
        generated.float().cpu(),
        real.float().cpu(),
        prc_neighborhood=PRC_NEIGHBOURHOOD,
        prc_batch_size=10000,
        save_cpu_ram=False,
        verbose=False,
    )
    return float(out["precision"]), float(out["recall"])


def bootstrap_interval(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    generated: np.ndarray,
    real: np.ndarray,
    replicates: int,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of `statistic` over bootstrap replicates that resample both sets' images."""
    if replicates <= 0 or min(len(generated), len(real)) < MIN_IMAGES:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(replicates):
        g = generated[rng.integers(0, len(generated), len(generated))]
        r = real[rng.integers(0, len(real), len(real))]
        values.append(statistic(g, r))
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def kid_bootstrap_interval(
    generated: np.ndarray, real: np.ndarray, replicates: int, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the KID (unbiased MMD^2, torch-fidelity's cubic kernel) on the whole sets.

    Resampling with replacement puts copies of an image in a replicate; pairs of copies of the SAME image are left
    out of the within-set sums (as the unbiased estimator leaves out i = j), otherwise every replicate would be
    inflated and the interval would miss the estimate. Kernels are computed once; a replicate is image counts.
    """
    n_g, n_r = len(generated), len(real)
    if replicates <= 0 or min(n_g, n_r) < MIN_IMAGES:
        return math.nan, math.nan
    g, r = np.asarray(generated, np.float64), np.asarray(real, np.float64)
    gamma = 1.0 / g.shape[1]

    def kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (gamma * x @ y.T + 1.0) ** 3

    k_gg, k_rr, k_gr = kernel(g, g), kernel(r, r), kernel(g, r)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(replicates):
        c_g = np.bincount(rng.integers(0, n_g, n_g), minlength=n_g).astype(np.float64)
        c_r = np.bincount(rng.integers(0, n_r, n_r), minlength=n_r).astype(np.float64)
        within = []
        for c, k in ((c_g, k_gg), (c_r, k_rr)):
            pairs = c.sum() ** 2 - np.sum(c * c)
            within.append((c @ k @ c - np.sum(c * c * np.diag(k))) / pairs if pairs > 0 else math.nan)
        values.append(within[0] + within[1] - 2 * (c_g @ k_gr @ c_r) / (n_g * n_r))
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def mean_pairwise_distance(features: torch.Tensor | np.ndarray, max_items: int = 2000, seed: int = 0) -> float:
    """Mean Euclidean distance between distinct items of a set (a diversity measure; NaN below 2 items).

    Sets larger than `max_items` are subsampled (seeded) so the cost stays O(max_items^2).
    """
    x = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    if len(x) < 2:
        return float("nan")
    if len(x) > max_items:
        x = x[torch.from_numpy(np.random.default_rng(seed).permutation(len(x))[:max_items])]
    d = torch.cdist(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1)))
