"""The codebook collapse guard: dead-code restarts."""

from __future__ import annotations

import torch

from skinaug.generators.tokenizer import MultiScaleQuantizer

from .conftest import small_config


def test_dead_code_restart_revives_a_collapsed_codebook() -> None:
    q = MultiScaleQuantizer(small_config(dead_code_steps=2, vocab_size=64)).train()
    with torch.no_grad():
        q.codebook.weight.copy_(torch.randn(1, 8).expand(64, 8))  # force collapse: all codes equal
    f = torch.randn(4, 8, 8, 8, generator=torch.Generator().manual_seed(4))
    out = q(f)
    assert out.stats["perplexity"].shape == (len(q.scales),)
    assert out.stats["usage"].tolist() == [1 / 64] * len(q.scales)  # one code at every scale
    assert out.stats["perplexity"].tolist() == [1.0] * len(q.scales)
    assert q.restart_dead_codes().numel() == 0  # unused for 1 step < 2
    q(f)
    restarted = q.restart_dead_codes()
    assert restarted.numel() == 63 and int(q.unused_steps.max()) == 0
    after = q(f).stats
    assert after["usage"][-1] * 64 > 20  # many codes in use again
    assert (after["perplexity"] > 1.5).all()
    assert after["perplexity"][0] == 4  # codes were also seeded from the 4 scale-1 residuals
    assert int(after["counts"].sum(1)[-1]) == 4 * 64


def test_no_restart_when_disabled_and_eval_does_not_count() -> None:
    q = MultiScaleQuantizer(small_config(dead_code_steps=1, dead_code_restart=False)).train()
    f = torch.randn(2, 8, 8, 8)
    q(f)
    assert q.restart_dead_codes().numel() == 0
    q.eval()
    steps = q.unused_steps.clone()
    q(f)
    assert torch.equal(q.unused_steps, steps)
