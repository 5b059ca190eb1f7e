"""Metrics of skinaug.classifiers.metrics against scikit-learn / imbalanced-learn and hand-checked cases."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from imblearn.metrics import geometric_mean_score
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from skinaug.classifiers.metrics import SCALAR_METRICS, classification_metrics, paired_bootstrap, seed_paired_interval
from skinaug.errors import SkinaugError
from skinaug.labels import CLASSES

K = len(CLASSES)
PRIOR = np.array([0.04, 0.06, 0.11, 0.02, 0.11, 0.62, 0.04])


def fake_proba(y: np.ndarray, skill: float, rng: np.random.Generator) -> np.ndarray:
    """Softmax-like probabilities whose argmax is the true class with probability ~skill."""
    proba = rng.dirichlet(np.ones(K), size=y.size)
    hit = rng.random(y.size) < skill
    proba[hit, y[hit]] += 1.0
    return (proba / proba.sum(axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def random_case() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    y = rng.choice(K, size=600, p=PRIOR)
    return y, fake_proba(y, 0.5, rng)


def test_matches_sklearn_and_imblearn(random_case):
    y, proba = random_case
    pred = proba.argmax(axis=1)
    m = classification_metrics(y, proba)
    labels = list(range(K))
    assert m["mean_recall"] == pytest.approx(recall_score(y, pred, average="macro", labels=labels))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro", labels=labels))
    assert m["gmean"] == pytest.approx(geometric_mean_score(y, pred, average="multiclass"))
    assert m["auroc_macro"] == pytest.approx(
        roc_auc_score(y, proba.astype(np.float64), multi_class="ovr", average="macro")
    )
    assert m["confusion"] == confusion_matrix(y, pred, labels=labels).tolist()
    recalls = recall_score(y, pred, average=None, labels=labels)
    precisions = precision_score(y, pred, average=None, labels=labels, zero_division=np.nan)
    f1s = f1_score(y, pred, average=None, labels=labels)
    for j, name in enumerate(CLASSES):
        row = m["per_class"][name]
        assert row["recall"] == pytest.approx(recalls[j])
        assert row["f1"] == pytest.approx(f1s[j])
        assert row["support"] == int((y == j).sum())
        assert row["auroc"] == pytest.approx(roc_auc_score(y == j, proba[:, j]))
        assert row["specificity"] == pytest.approx(recall_score(y != j, pred != j))
        if np.isnan(precisions[j]):
            assert math.isnan(row["precision"])
        else:
            assert row["precision"] == pytest.approx(precisions[j])
    assert set(SCALAR_METRICS) <= set(m)


def test_hand_checked_three_class_case():
    classes = ["x", "y", "z"]
    # confusion (rows true, columns predicted): x: 2 right, 1 as y; y: 1 right, 1 as x; z: 2 right, 1 as x
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    pred = np.array([0, 0, 1, 1, 0, 2, 2, 0])
    proba = np.eye(3)[pred] * 0.8 + 0.1
    m = classification_metrics(y, proba, classes)
    assert m["confusion"] == [[2, 1, 0], [1, 1, 0], [1, 0, 2]]
    x = m["per_class"]["x"]
    assert x["recall"] == pytest.approx(2 / 3)
    assert x["precision"] == pytest.approx(2 / 4)  # predicted x 4 times, 2 right
    assert x["specificity"] == pytest.approx(3 / 5)  # 5 non-x images, 2 of them called x
    assert x["f1"] == pytest.approx(2 * 2 / (2 * 2 + 2 + 1))
    assert m["per_class"]["y"]["specificity"] == pytest.approx(5 / 6)
    assert m["per_class"]["z"]["specificity"] == 1.0
    assert m["per_class"]["z"]["precision"] == 1.0
    assert m["mean_recall"] == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["gmean"] == pytest.approx((2 / 3 * 1 / 2 * 2 / 3) ** (1 / 3))
    assert m["n"] == 8


def test_auroc_hand_checked_with_ties():
    # class 0 scores: positives 0.9, 0.5; negatives 0.5, 0.1 -> pairs: (0.9>0.5)(0.9>0.1)(0.5=0.5 half)(0.5>0.1)
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.5, 0.5], [0.1, 0.9]])
    m = classification_metrics(y, proba, ["p", "q"])
    assert m["per_class"]["p"]["auroc"] == pytest.approx(3.5 / 4)
    assert m["auroc_macro"] == pytest.approx(3.5 / 4)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_absent_classes_are_nan_and_excluded(random_case):
    y, proba = random_case
    keep = (y != CLASSES.index("df")) & (y != CLASSES.index("vasc"))
    y, proba = y[keep], proba[keep]
    pred = proba.argmax(axis=1)
    m = classification_metrics(y, proba)
    present = sorted(set(y.tolist()))
    for name in ("df", "vasc"):
        row = m["per_class"][name]
        assert row["support"] == 0
        assert math.isnan(row["recall"]) and math.isnan(row["auroc"]) and math.isnan(row["f1"])
        assert 0.0 <= row["specificity"] <= 1.0
    assert m["mean_recall"] == pytest.approx(recall_score(y, pred, average="macro", labels=present))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro", labels=present))
    assert m["gmean"] == pytest.approx(geometric_mean_score(y, pred, labels=present, average="multiclass"))
    aurocs = [roc_auc_score(y == j, proba[:, j]) for j in present]
    assert m["auroc_macro"] == pytest.approx(np.mean(aurocs))
    assert all(np.isfinite(m[k]) for k in SCALAR_METRICS)


def test_single_class_present_has_nan_auroc():
    y = np.zeros(5, dtype=np.int64)
    proba = np.tile([0.6, 0.3, 0.1], (5, 1))
    m = classification_metrics(y, proba, ["a", "b", "c"])
    assert m["mean_recall"] == 1.0
    assert math.isnan(m["auroc_macro"])
    assert math.isnan(m["per_class"]["a"]["specificity"])


def test_gmean_is_zero_when_a_class_is_never_recognised():
    y = np.array([0, 0, 1, 1, 2])
    proba = np.eye(3)[[0, 0, 1, 1, 0]]
    m = classification_metrics(y, proba, ["a", "b", "c"])
    assert m["gmean"] == 0.0
    assert math.isnan(m["per_class"]["c"]["precision"])
    assert m["per_class"]["c"]["f1"] == 0.0


@pytest.mark.parametrize(
    "y, proba, message",
    [
        (np.array([0, 1]), np.zeros((3, 7)), "shape"),
        (np.array([0, 9]), np.zeros((2, 7)), "outside"),
        (np.array([], dtype=int), np.zeros((0, 7)), "non-empty"),
        (np.array([0, 1]), np.full((2, 7), np.nan), "NaN"),
        (np.array([0, 1]), np.zeros((2, 5)), "columns"),
    ],
)
def test_bad_input_is_a_skinaug_error(y, proba, message):
    with pytest.raises(SkinaugError, match=message):
        classification_metrics(y, proba)


def _arms(n=1600, seeds=3, skill_a=0.5, skill_b=0.5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(K, size=n, p=PRIOR)
    return y, [fake_proba(y, skill_a, rng) for _ in range(seeds)], [fake_proba(y, skill_b, rng) for _ in range(seeds)]


def test_bootstrap_identical_arms_gain_zero():
    y, a, _ = _arms(n=400, seeds=2)
    result = paired_bootstrap(y, a, [p.copy() for p in a], n_boot=300)
    assert result["gain"] == 0.0
    assert result["ci_low"] <= 0.0 <= result["ci_high"]
    assert result["p_le_0"] == 1.0
    assert result["n_boot"] == 300


def test_bootstrap_clearly_better_arm_and_observed_gain():
    y, a, b = _arms(n=800, seeds=3, skill_a=0.7, skill_b=0.4)
    result = paired_bootstrap(y, a, b, n_boot=500)
    expected = np.mean([classification_metrics(y, p)["mean_recall"] for p in a]) - np.mean(
        [classification_metrics(y, p)["mean_recall"] for p in b]
    )
    assert result["gain"] == pytest.approx(expected)
    assert 0 < result["ci_low"] < result["gain"] < result["ci_high"]
    assert result["p_le_0"] == 0.0
    reverse = paired_bootstrap(y, b, a, n_boot=500)
    assert reverse["ci_high"] < 0 and reverse["p_le_0"] == 1.0


def test_bootstrap_reproducible_and_seed_dependent():
    y, a, b = _arms(n=500, seeds=2, skill_a=0.55, skill_b=0.5)
    first = paired_bootstrap(y, a, b, n_boot=400, seed=7)
    assert paired_bootstrap(y, a, b, n_boot=400, seed=7) == first
    other = paired_bootstrap(y, a, b, n_boot=400, seed=8)
    assert other["gain"] == first["gain"]
    assert (other["ci_low"], other["ci_high"]) != (first["ci_low"], first["ci_high"])


def test_bootstrap_replicates_keep_every_class_and_match_sklearn():
    """A 1-replicate bootstrap equals sklearn's score on the class-stratified resample it draws."""
    y, a, b = _arms(n=300, seeds=1, skill_a=0.6, skill_b=0.3)
    present = np.flatnonzero(np.bincount(y, minlength=K))
    # the same draws as paired_bootstrap(seed=3, n_boot=1): integers per class block, in class order
    rng = np.random.default_rng(3)
    members = [np.flatnonzero(y == c) for c in present]
    index = np.concatenate([m[rng.integers(0, m.size, size=(1, m.size))][0] for m in members])
    assert np.array_equal(np.bincount(y[index], minlength=K), np.bincount(y, minlength=K))
    gain_sk = balanced_accuracy_score(y[index], a[0][index].argmax(1)) - balanced_accuracy_score(
        y[index], b[0][index].argmax(1)
    )
    result = paired_bootstrap(y, a, b, n_boot=1, seed=3, metric="balanced_accuracy")
    assert result["ci_low"] == pytest.approx(gain_sk)


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1", "gmean"])
def test_bootstrap_other_metrics_observed_gain(metric):
    y, a, b = _arms(n=400, seeds=2, skill_a=0.6, skill_b=0.5)
    result = paired_bootstrap(y, a, b, metric=metric, n_boot=100)
    expected = np.mean([classification_metrics(y, p)[metric] for p in a]) - np.mean(
        [classification_metrics(y, p)[metric] for p in b]
    )
    assert result["gain"] == pytest.approx(expected)
    assert result["metric"] == metric


def test_bootstrap_rejects_unknown_metric_and_mismatched_sizes():
    y, a, b = _arms(n=100, seeds=1)
    with pytest.raises(SkinaugError, match="not supported"):
        paired_bootstrap(y, a, b, metric="auroc_macro")
    with pytest.raises(SkinaugError, match="shape"):
        paired_bootstrap(y, a, [b[0][:50]])


def test_bootstrap_is_fast_enough():
    y, a, b = _arms(n=1600, seeds=3, skill_a=0.55, skill_b=0.5)
    start = time.perf_counter()
    result = paired_bootstrap(y, a, b, n_boot=2000)
    assert time.perf_counter() - start < 10.0
    assert result["n_boot"] == 2000


def test_seed_interval_is_the_student_t_interval_of_the_per_seed_differences():
    # differences 0.01, 0.02, 0.03: mean 0.02, sd 0.01; t(0.975, 2 df) = 4.303 (any t table)
    result = seed_paired_interval([0.51, 0.52, 0.53], [0.50, 0.50, 0.50])
    assert result["gain"] == pytest.approx(0.02)
    assert result["sd"] == pytest.approx(0.01)
    assert result["ci_low"] == pytest.approx(0.02 - 4.303 * 0.01 / math.sqrt(3), abs=1e-5)
    assert result["ci_high"] == pytest.approx(0.02 + 4.303 * 0.01 / math.sqrt(3), abs=1e-5)
    assert result["n_seeds"] == 3 and result["differences"] == pytest.approx([0.01, 0.02, 0.03])


def test_seed_interval_crosses_0_when_the_seeds_disagree_and_is_undefined_for_one_seed():
    spread = seed_paired_interval([0.60, 0.54, 0.57], [0.55, 0.55, 0.55])  # +0.05, -0.01, +0.02
    assert spread["gain"] > 0 and spread["ci_low"] < 0 < spread["ci_high"]
    single = seed_paired_interval([0.6], [0.5])
    assert single["gain"] == pytest.approx(0.1) and single["ci_low"] is None and single["ci_high"] is None
    with pytest.raises(SkinaugError, match="one score per seed"):
        seed_paired_interval([0.5, 0.6], [0.5])
