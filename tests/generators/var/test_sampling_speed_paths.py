"""The sampler's fast paths keep its results: the preallocated KV cache, the uniforms drawn before the scale loop,
and no host synchronisation inside the loop."""

from __future__ import annotations

import pytest
import torch

from skinaug.generators.var import KVCache, SamplingConfig, sample_tokens, uniforms_per_scale

from .conftest import SCALES, inputs, make_model


def test_kv_cache_fills_one_buffer_in_place_and_returns_the_prefix() -> None:
    cache = KVCache(capacity=5)
    k1, v1 = torch.randn(2, 3, 2, 4), torch.randn(2, 3, 2, 4)
    k2, v2 = torch.randn(2, 3, 3, 4), torch.randn(2, 3, 3, 4)
    keys, values = cache.append(k1, v1)
    first_buffer = keys.data_ptr()
    keys, values = cache.append(k2, v2)
    assert keys.data_ptr() == first_buffer  # the same storage: nothing reallocated or copied per scale
    assert torch.equal(keys, torch.cat([k1, k2], dim=2)) and torch.equal(values, torch.cat([v1, v2], dim=2))
    assert len(cache) == 5
    with pytest.raises(ValueError, match="cannot take 6"):
        cache.append(k1[:, :, :1], v1[:, :, :1])


@pytest.mark.parametrize("per_sample", [False, True])
def test_uniforms_drawn_at_once_equal_the_draws_scale_by_scale(per_sample: bool) -> None:
    sizes, batch = [1, 4, 9], 3

    def generators():
        if per_sample:
            return [torch.Generator().manual_seed(10 + i) for i in range(batch)]
        return torch.Generator().manual_seed(10)

    at_once = uniforms_per_scale(batch, sizes, generators(), torch.device("cpu"))
    gens = generators()
    for n, got in zip(sizes, at_once):
        if per_sample:
            expected = torch.cat([torch.rand((1, n, 1), generator=g) for g in gens])  # type: ignore[union-attr]
        else:
            expected = torch.rand((batch, n, 1), generator=gens)  # type: ignore[arg-type]
        assert torch.equal(got, expected)


def test_no_host_sync_inside_the_scale_loop(quantizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a tensor's value on the host (item, bool, int, float, tolist) would stall a GPU at every scale;
    only the label range check before the loop may do it."""
    model = make_model()
    labels, meas = inputs(2)
    reads: list[str] = []
    for name in ("item", "__bool__", "__int__", "__float__", "tolist", "__index__"):
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _original=original, _name=name):
            reads.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(torch.Tensor, name, spy)
    tokens = sample_tokens(model, quantizer, labels, meas, SamplingConfig(cfg=2.0, top_k=8, top_p=0.9), None)
    monkeypatch.undo()
    assert [t.shape[-1] for t in tokens] == list(SCALES)
    assert len(reads) <= 2, reads  # int(labels.min()), int(labels.max())
