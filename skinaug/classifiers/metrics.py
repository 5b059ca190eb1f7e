"""Classification metrics of a benchmark run, the paired bootstrap that compares two arms over test images and
the paired interval over seeds.

Predictions are the argmax of the class probabilities. Every macro average runs over the classes
*present in y_true*: a class with no test image has no recall, so it is reported with support 0 and
NaN recall/AUROC and left out of the macro means (otherwise one missing class would pull every arm's
score towards 0 or 1 depending on a convention). With this rule the paper's "mean recall" (macro
recall) and scikit-learn's balanced accuracy are the same quantity; both names are kept because the
literature uses both.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from scipy.stats import rankdata
from scipy.stats import t as student_t

from ..errors import SkinaugError
from ..labels import CLASSES

# The scalar metrics of classification_metrics(), in the order reports show them.
SCALAR_METRICS: tuple[str, ...] = ("mean_recall", "balanced_accuracy", "accuracy", "macro_f1", "gmean", "auroc_macro")
# The metrics that paired_bootstrap() can resample (all come from the confusion counts).
BOOTSTRAP_METRICS: tuple[str, ...] = ("mean_recall", "balanced_accuracy", "accuracy", "macro_f1", "gmean")

_MAX_CELLS = 4_000_000  # replicates x test images held in memory at once by paired_bootstrap


def _labels(y_true: Any, n_classes: int | None = None) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1 or y.size == 0:
        raise SkinaugError(f"y_true must be a non-empty 1-D array of class indices; got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise SkinaugError(f"y_true must hold integer class indices; got dtype {y.dtype}")
    y = y.astype(np.int64)
    if n_classes is not None and (y.min() < 0 or y.max() >= n_classes):
        raise SkinaugError(f"y_true holds class indices outside 0..{n_classes - 1} (min {y.min()}, max {y.max()})")
    return y


def _proba(proba: Any, n: int, n_classes: int | None = None) -> np.ndarray:
    p = np.asarray(proba)
    if p.ndim != 2 or p.shape[0] != n:
        raise SkinaugError(f"proba must have shape [{n}, K] to match y_true; got {p.shape}")
    if n_classes is not None and p.shape[1] != n_classes:
        raise SkinaugError(f"proba has {p.shape[1]} columns but there are {n_classes} classes")
    if not np.all(np.isfinite(p)):
        raise SkinaugError("proba holds NaN or infinite values")
    return p


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """K x K int64 matrix: rows are true classes, columns predicted classes."""
    codes = y_true.astype(np.int64) * n_classes + y_pred.astype(np.int64)
    return np.bincount(codes, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _scores(conf: np.ndarray, present: np.ndarray) -> dict[str, np.ndarray]:
    """The confusion-based scalar metrics of a stack of confusion matrices [..., K, K].

    `present` (bool [K]) selects the classes the macro averages run over.
    """
    conf = conf.astype(np.float64)
    tp = np.diagonal(conf, axis1=-2, axis2=-1)[..., present]
    support = conf.sum(axis=-1)[..., present]
    predicted = conf.sum(axis=-2)[..., present]
    total = conf.sum(axis=(-2, -1))
    recall = tp / support
    denominator = support + predicted  # 2tp + fp + fn; > 0 for present classes
    f1 = 2.0 * tp / denominator
    with np.errstate(divide="ignore"):
        gmean = np.where(np.all(recall > 0, axis=-1), np.exp(np.mean(np.log(recall), axis=-1)), 0.0)
    mean_recall = recall.mean(axis=-1)
    return {
        "mean_recall": mean_recall,
        "balanced_accuracy": mean_recall,
        "accuracy": np.diagonal(conf, axis1=-2, axis2=-1).sum(axis=-1) / total,
        "macro_f1": f1.mean(axis=-1),
        "gmean": gmean,
    }


def _auroc_one_vs_rest(positive: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of `score` for `positive` against the rest (Mann-Whitney, ties halved)."""
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)  # average ranks for ties
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def classification_metrics(y_true: Any, proba: Any, classes: Sequence[str] = CLASSES) -> dict[str, Any]:
    """Metrics of one run on one test set.

    y_true: int class indices [N] into `classes`; proba: class scores [N, K] (K = len(classes)), the
    prediction is the argmax. Returns:

    - mean_recall: macro recall over the classes present in y_true (the paper's metric);
    - balanced_accuracy: scikit-learn's definition, which is the same quantity as mean_recall;
    - accuracy; macro_f1 (over present classes); gmean (geometric mean of the present classes' recalls,
      imbalanced-learn's multiclass G-mean; 0 as soon as one present class has recall 0);
    - auroc_macro: mean one-vs-rest AUROC over the present classes (NaN if fewer than 2 are present);
    - per_class: {class: {recall, specificity, precision, f1, support, auroc}};
    - confusion: K x K list of counts (rows true, columns predicted); n: number of test images.

    Classes absent from y_true get support 0 and NaN recall, f1 and AUROC and are excluded from every
    macro mean; precision is NaN for a class that is never predicted; specificity is NaN only when
    every image belongs to the class.
    """
    classes = list(classes)
    k = len(classes)
    y = _labels(y_true, k)
    p = _proba(proba, y.size, k)
    y_pred = np.argmax(p, axis=1)
    conf = confusion_counts(y, y_pred, k)
    support = conf.sum(axis=1)
    present = support > 0
    scalars = {name: float(value) for name, value in _scores(conf, present).items()}

    n = y.size
    tp = np.diag(conf).astype(np.float64)
    predicted = conf.sum(axis=0).astype(np.float64)
    negatives = n - support
    true_negatives = negatives - (predicted - tp)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(present, tp / support, np.nan)
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        specificity = np.where(negatives > 0, true_negatives / negatives, np.nan)
        f1 = np.where(present, 2.0 * tp / (support + predicted), np.nan)
    auroc = np.array([_auroc_one_vs_rest(y == j, p[:, j]) if present[j] else np.nan for j in range(k)])
    scalars["auroc_macro"] = float(np.mean(auroc[present])) if present.sum() >= 2 else float("nan")

    per_class = {
        name: {
            "recall": float(recall[j]),
            "specificity": float(specificity[j]),
            "precision": float(precision[j]),
            "f1": float(f1[j]),
            "support": int(support[j]),
            "auroc": float(auroc[j]),
        }
        for j, name in enumerate(classes)
    }
    return {
        **{name: scalars[name] for name in SCALAR_METRICS},
        "per_class": per_class,
        "confusion": conf.tolist(),
        "n": int(n),
    }


def _as_list(probas: Any) -> list[np.ndarray]:
    if isinstance(probas, np.ndarray) and probas.ndim == 2:
        return [probas]
    probas = list(probas)
    if not probas:
        raise SkinaugError("paired_bootstrap needs at least one run (seed) per arm")
    return probas


def paired_bootstrap(
    y_true: Any,
    proba_a: list[np.ndarray],
    proba_b: list[np.ndarray],
    metric: str = "mean_recall",
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Bootstrap the gain metric(a) - metric(b) over test images, paired across arms.

    proba_a / proba_b: one [N, K] array per seed, all scored on the same test images (y_true [N]). Each
    replicate resamples the test images with replacement *within each class* (so every class present
    keeps its support and stays present) and computes the mean over seeds of metric(a) minus the mean
    over seeds of metric(b), on the same resampled images for both arms. With equally many seeds on
    both sides this is the mean over seeds of the paired differences.

    The interval reflects the sampling of test images only, not the seed-to-seed training variance
    (which the mean over seeds averages but does not resample).

    Returns {"metric", "gain" (observed), "ci_low", "ci_high" (95 % percentile interval), "p_le_0"
    (share of replicates with gain <= 0), "n_boot", "n_seeds_a", "n_seeds_b", "n_images"}.
    """
    if metric not in BOOTSTRAP_METRICS:
        raise SkinaugError(
            f"paired_bootstrap: metric {metric!r} not supported; choose from {', '.join(BOOTSTRAP_METRICS)}"
        )
    n_boot = int(n_boot)
    if n_boot < 1:
        raise SkinaugError(f"paired_bootstrap: n_boot must be >= 1; got {n_boot}")
    runs_a, runs_b = _as_list(proba_a), _as_list(proba_b)
    first = np.asarray(runs_a[0])
    if first.ndim != 2:
        raise SkinaugError(f"proba must have shape [N, K]; got {first.shape}")
    k = first.shape[1]
    y = _labels(y_true, k)
    preds_a = [np.argmax(_proba(p, y.size, k), axis=1) for p in runs_a]
    preds_b = [np.argmax(_proba(p, y.size, k), axis=1) for p in runs_b]

    support = np.bincount(y, minlength=k)
    present = support > 0

    def mean_score(preds: list[np.ndarray], conf_of: Any) -> np.ndarray:
        return np.mean([_scores(conf_of(pred), present)[metric] for pred in preds], axis=0)

    observed = float(
        mean_score(preds_a, lambda pred: confusion_counts(y, pred, k))
        - mean_score(preds_b, lambda pred: confusion_counts(y, pred, k))
    )

    # Resampled columns are laid out class by class, so the true labels of a replicate never change.
    members = [np.flatnonzero(y == c) for c in np.flatnonzero(present)]
    y_boot = np.concatenate([np.full(m.size, c, dtype=np.int64) for c, m in zip(np.flatnonzero(present), members)])
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _MAX_CELLS // y.size))
    gains = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        r = min(chunk, n_boot - start)
        index = np.concatenate([m[rng.integers(0, m.size, size=(r, m.size))] for m in members], axis=1)
        base = (np.arange(r, dtype=np.int64)[:, None] * k + y_boot[None, :]) * k

        def conf_of(pred: np.ndarray, index: np.ndarray = index, base: np.ndarray = base, r: int = r) -> np.ndarray:
            return np.bincount((base + pred[index]).ravel(), minlength=r * k * k).reshape(r, k, k)

        gains[start : start + r] = mean_score(preds_a, conf_of) - mean_score(preds_b, conf_of)

    low, high = np.percentile(gains, [2.5, 97.5])
    return {
        "metric": metric,
        "gain": observed,
        "ci_low": float(low),
        "ci_high": float(high),
        "p_le_0": float(np.mean(gains <= 0)),
        "n_boot": n_boot,
        "n_seeds_a": len(runs_a),
        "n_seeds_b": len(runs_b),
        "n_images": int(y.size),
    }


def seed_paired_interval(scores_a: Sequence[float], scores_b: Sequence[float]) -> dict[str, Any]:
    """The 95 % Student-t interval of the mean per-seed difference scores_a[s] - scores_b[s].

    The two lists hold one score per seed, in the same seed order (seed s of both arms shares its initial
    weights and data order). Where paired_bootstrap covers the sampling of test images, this covers the
    training variance between seeds, on this test set: a gain is robust when both intervals exclude 0.
    With fewer than 2 seeds the interval is undefined (None bounds).

    Returns {"gain" (mean difference), "ci_low", "ci_high", "sd" (sample sd of the differences), "n_seeds",
    "differences"}.
    """
    a = np.asarray(scores_a, dtype=np.float64)
    b = np.asarray(scores_b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise SkinaugError(f"seed_paired_interval: need one score per seed on both sides; got {a.shape} and {b.shape}")
    diff = a - b
    n = int(diff.size)
    gain = float(diff.mean())
    if n < 2:
        return {"gain": gain, "ci_low": None, "ci_high": None, "sd": None, "n_seeds": n, "differences": diff.tolist()}
    sd = float(diff.std(ddof=1))
    half = float(student_t.ppf(0.975, n - 1)) * sd / np.sqrt(n)
    return {
        "gain": gain,
        "ci_low": gain - half,
        "ci_high": gain + half,
        "sd": sd,
        "n_seeds": n,
        "differences": diff.tolist(),
    }
