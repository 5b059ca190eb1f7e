"""FID, KID, IS and precision/recall: torch-fidelity's values, our fast FID, bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch_fidelity.metric_kid import kernel_mmd

from skinaug.evaluation import distances


def _gauss(n: int, d: int, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


@pytest.mark.parametrize("n_a,n_b,d", [(30, 45, 64), (300, 200, 12)])
def test_fast_frechet_distance_equals_torch_fidelity(n_a: int, n_b: int, d: int) -> None:
    """Sample-space (n < d) and feature-space (n > d) paths both give torch-fidelity's FID."""
    a, b = _gauss(n_a, d, seed=1), _gauss(n_b, d, shift=0.4, seed=2) * 1.3
    expected = distances.fid(torch.from_numpy(a), torch.from_numpy(b))
    assert distances.frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)


def test_fid_of_a_set_with_itself_is_zero_and_a_shift_is_not() -> None:
    a = torch.from_numpy(_gauss(200, 16))
    assert abs(distances.fid(a, a)) < 1e-6
    assert distances.fid(a, a + 1.0) == pytest.approx(16.0, rel=1e-6)  # |mean shift|^2 = 16 * 1^2


def test_kid_works_with_a_class_of_20_images() -> None:
    """The subset size adapts to the smaller set: same-distribution samples ~ 0, shifted clearly above."""
    same = distances.kid(torch.from_numpy(_gauss(20, 32, seed=1)), torch.from_numpy(_gauss(60, 32, seed=2)))
    shifted = distances.kid(torch.from_numpy(_gauss(20, 32, 1.0, seed=1)), torch.from_numpy(_gauss(60, 32, seed=2)))
    assert distances.kid_subset_size(20, 60) == 20
    assert all(math.isfinite(x) for x in same + shifted)
    assert abs(same[0]) < 0.1 * shifted[0]


def test_too_few_images_give_nan_not_an_error() -> None:
    one = torch.zeros(1, 8)
    assert math.isnan(distances.fid(one, torch.randn(10, 8)))
    assert all(math.isnan(x) for x in distances.kid(one, torch.randn(10, 8)))
    assert all(math.isnan(x) for x in distances.precision_recall(torch.randn(3, 8), torch.randn(10, 8)))


def test_inception_score_limits() -> None:
    """Uniform predictions -> IS 1; confident predictions spread evenly over K classes -> IS K."""
    assert distances.inception_score(torch.zeros(50, 7))[0] == pytest.approx(1.0)
    confident = torch.full((7000, 7), -30.0)
    confident[torch.arange(7000), torch.arange(7000) % 7] = 30.0
    assert distances.inception_score(confident)[0] == pytest.approx(7.0, rel=1e-2)


def test_precision_recall_identical_and_disjoint_sets() -> None:
    a = torch.from_numpy(_gauss(40, 8))
    assert distances.precision_recall(a, a) == (1.0, 1.0)
    assert distances.precision_recall(a + 100.0, a) == (0.0, 0.0)


def test_kid_bootstrap_interval_holds_the_estimate_and_narrows_with_more_images() -> None:
    widths = []
    for n in (40, 400):
        g, r = _gauss(n, 16, 0.2, seed=1), _gauss(n, 16, seed=2)
        estimate = kernel_mmd(
            g, r, kid_kernel="poly", kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None, kid_kernel_poly_coef0=1
        )
        low, high = distances.kid_bootstrap_interval(g, r, replicates=200, seed=0)
        assert low < estimate < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_fid_bootstrap_interval_is_an_ordered_finite_pair_near_the_estimate() -> None:
    g, r = _gauss(60, 8, 0.5, seed=1), _gauss(60, 8, seed=2)
    low, high = distances.bootstrap_interval(distances.frechet_distance, g, r, replicates=100, seed=0)
    estimate = distances.frechet_distance(g, r)
    assert 0 < low < high and low < estimate * 1.5 and high > estimate


def test_mean_pairwise_distance_measures_spread() -> None:
    from skinaug.evaluation.distances import mean_pairwise_distance

    points = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert mean_pairwise_distance(points) == pytest.approx(5.0)  # one pair, distance 5
    collapsed = np.zeros((10, 4))
    spread = np.random.default_rng(0).normal(size=(10, 4))
    assert mean_pairwise_distance(collapsed) == 0.0 < mean_pairwise_distance(spread)
    assert np.isnan(mean_pairwise_distance(points[:1]))
