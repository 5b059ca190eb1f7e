"""Token masks: which tokens touch the lesion, and that they stay per sample."""

from __future__ import annotations

import torch

from skinaug.generators.tokenizer import token_masks


def test_token_masks_mark_every_token_that_touches_the_lesion() -> None:
    mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    mask[0, 3, 4] = True  # one lesion pixel
    m1, m2, m4, m8 = token_masks(mask, (1, 2, 4, 8))
    assert m1.tolist() == [[[True]]]
    assert m2[0].nonzero().tolist() == [[0, 1]]
    assert m4[0].nonzero().tolist() == [[1, 2]]
    assert m8[0].nonzero().tolist() == [[3, 4]]
    assert all(m.dtype == torch.bool for m in (m1, m2, m4, m8))
    # Not divisible: 6 px on 4 tokens; pixel 1 lies in the patches of tokens 0 and 1, so both are lesion.
    mask6 = torch.zeros(1, 6, 6)
    mask6[0, 1, 1] = 0.3  # soft masks: any value > 0 counts
    (m,) = token_masks(mask6, (4,))
    assert m[0].nonzero().tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    empty, full = torch.zeros(2, 16, 16), torch.ones(2, 1, 16, 16)
    assert not any(m.any() for m in token_masks(empty, (1, 3, 16)))
    assert all(m.all() for m in token_masks(full, (1, 3, 16)))


def test_non_lesion_tokens_are_pure_background() -> None:
    g = torch.Generator().manual_seed(1)
    mask = torch.rand(4, 30, 30, generator=g) > 0.97
    for s, m in zip((1, 2, 4, 7, 13), token_masks(mask, (1, 2, 4, 7, 13))):
        for b in range(4):
            for i in range(s):
                for j in range(s):
                    r0, r1 = (i * 30) // s, -((-(i + 1) * 30) // s)
                    c0, c1 = (j * 30) // s, -((-(j + 1) * 30) // s)
                    assert bool(m[b, i, j]) == bool(mask[b, r0:r1, c0:c1].any())


def test_token_masks_stay_per_sample() -> None:
    mask = torch.zeros(2, 8, 8, dtype=torch.bool)
    mask[0, :2, :2] = True  # sample 0: top left
    mask[1, 6:, 6:] = True  # sample 1: bottom right
    together = token_masks(mask, (2, 4))
    for b in range(2):
        alone = token_masks(mask[b : b + 1], (2, 4))
        assert all(torch.equal(t[b : b + 1], a) for t, a in zip(together, alone))
    assert together[0][0].nonzero().tolist() == [[0, 0]]
    assert together[0][1].nonzero().tolist() == [[1, 1]]
