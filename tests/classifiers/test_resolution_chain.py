"""--resolution-chain: which size every image passes through before the classifier's, and clear refusals."""

from __future__ import annotations

import pytest

from skinaug.classifiers.bench import via_size
from skinaug.errors import SkinaugError


def test_match_goes_through_smaller_synthetic_images_only() -> None:
    assert via_size("match", 32, 64) == 32
    assert via_size("match", 64, 64) is None and via_size("match", 128, 64) is None
    assert via_size("match", None, 64) is None  # no synthetic set (or a non-square one)


def test_direct_never_and_via_n_always() -> None:
    assert via_size("direct", 32, 64) is None
    assert via_size("via32", None, 64) == 32 and via_size("via16", 64, 64) == 16  # whatever the synthetic size


@pytest.mark.parametrize("bad", ["via64", "via0", "via", "lowpass", "via32px"])
def test_other_chains_are_refused_in_one_line(bad: str) -> None:
    with pytest.raises(SkinaugError, match=f"resolution chain '{bad}': choose match, direct or via<N>"):
        via_size(bad, 32, 64)
