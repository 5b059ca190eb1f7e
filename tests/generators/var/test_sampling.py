"""VAR sampling: cache, seeds, training mode, in-painting, classifier-free guidance, filtering."""

from __future__ import annotations

import pytest
import torch

from skinaug.errors import SkinaugError
from skinaug.generators.var import SamplingConfig, draw_tokens, filter_logits, sample_tokens

from .conftest import CLASSES, SCALES, inputs, make_model, random_indices


def test_cache_and_no_cache_sampling_agree(quantizer):
    model = make_model()
    labels, meas = inputs(3)
    cfg = SamplingConfig(cfg=2.0, top_k=10, top_p=0.9)
    a = sample_tokens(model, quantizer, labels, meas, cfg, torch.Generator().manual_seed(5))
    b = sample_tokens(model, quantizer, labels, meas, cfg, torch.Generator().manual_seed(5), use_cache=False)
    assert [t.shape for t in a] == [(3, s, s) for s in SCALES]
    for x, y in zip(a, b):
        assert torch.equal(x, y)


def test_same_seed_same_samples_different_seed_different(quantizer):
    model = make_model()
    labels, meas = inputs(4)
    cfg = SamplingConfig(top_k=0, top_p=0.0, cfg=1.0)

    def run(seed):
        return torch.cat(
            [
                t.flatten(1)
                for t in sample_tokens(model, quantizer, labels, meas, cfg, torch.Generator().manual_seed(seed))
            ],
            1,
        )

    a, b, c = run(0), run(0), run(1)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # each sample draws its own noise: two samples with the same condition differ
    same = sample_tokens(
        model, quantizer, labels[:1].repeat(4), meas[:1].repeat(4, 1), cfg, torch.Generator().manual_seed(0)
    )
    flat = torch.cat([t.flatten(1) for t in same], 1)
    assert len({tuple(row.tolist()) for row in flat}) == 4
    assert model.training is False


def test_sampling_restores_training_mode(quantizer):
    model = make_model().train()
    labels, meas = inputs(2)
    sample_tokens(model, quantizer, labels, meas, SamplingConfig(), torch.Generator().manual_seed(0))
    assert model.training


def test_inpainting_per_sample_masks(quantizer):
    model = make_model()
    batch = 4
    labels, meas = inputs(batch)
    teacher = random_indices(batch, seed=7)
    g = torch.Generator().manual_seed(3)
    keep = []
    for s in SCALES:
        m = torch.rand(batch, s, s, generator=g) < 0.5
        m[0] = False  # sample 0: nothing kept (pure sampling)
        m[1] = True  # sample 1: everything kept (reconstruction of the teacher)
        m[3] = torch.arange(s)[:, None] < (s + 1) // 2  # sample 3: top half kept
        keep.append(m)
    cfg = SamplingConfig(cfg=1.5, top_k=0, top_p=0.0)
    out = sample_tokens(
        model, quantizer, labels, meas, cfg, torch.Generator().manual_seed(11), teacher=teacher, keep=keep
    )
    plain = sample_tokens(model, quantizer, labels, meas, cfg, torch.Generator().manual_seed(11))
    nocache = sample_tokens(
        model,
        quantizer,
        labels,
        meas,
        cfg,
        torch.Generator().manual_seed(11),
        teacher=teacher,
        keep=keep,
        use_cache=False,
    )
    for k in range(len(SCALES)):
        assert torch.equal(out[k][keep[k]], teacher[k][keep[k]])
        assert torch.equal(out[k][1], teacher[k][1])
        assert torch.equal(out[k][0], plain[k][0])  # another sample's mask never applies to sample 0
        assert torch.equal(out[k], nocache[k])
    # the kept tokens steer the free ones: sample 2/3's free tokens are not those of the plain run everywhere
    free_differs = any(
        not torch.equal(out[k][i][~keep[k][i]], plain[k][i][~keep[k][i]]) for k in range(1, len(SCALES)) for i in (2, 3)
    )
    assert free_differs
    with pytest.raises(SkinaugError):
        sample_tokens(model, quantizer, labels, meas, cfg, torch.Generator(), teacher=teacher)
    with pytest.raises(SkinaugError):
        sample_tokens(
            model, quantizer, labels, meas, cfg, torch.Generator(), teacher=teacher, keep=[m[:2] for m in keep]
        )


def test_cfg_zero_ignores_null_branch(quantizer):
    model = make_model()
    labels, meas = inputs(3)
    cfg = SamplingConfig(cfg=0.0, cfg_schedule="constant", top_k=0, top_p=0.0)
    a = sample_tokens(model, quantizer, labels, meas, cfg, torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.condition_encoder.class_embed.weight[CLASSES].normal_(0, 5.0)
        model.condition_encoder.null_measurement.normal_(0, 5.0)
    b = sample_tokens(model, quantizer, labels, meas, cfg, torch.Generator().manual_seed(0))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    guided = SamplingConfig(cfg=3.0, cfg_schedule="constant", top_k=0, top_p=0.0)
    c = sample_tokens(model, quantizer, labels, meas, guided, torch.Generator().manual_seed(0))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_cfg_mixes_logits(quantizer):
    model = make_model()
    labels, meas = inputs(3)
    w = 2.5
    cond = model.condition(labels, meas)
    uncond = model.null_condition(3)
    with torch.no_grad():
        lc = model.step(model.scale_tokens(0, cond=cond), cond, model.new_caches())
        lu = model.step(model.scale_tokens(0, cond=uncond), uncond, model.new_caches())
    expected = ((1 + w) * lc - w * lu).argmax(-1).view(3, 1, 1)
    greedy = SamplingConfig(cfg=w, cfg_schedule="constant", top_k=1, top_p=0.0)
    out = sample_tokens(model, quantizer, labels, meas, greedy, torch.Generator().manual_seed(0))
    assert torch.equal(out[0], expected)
    lin = SamplingConfig(cfg=4.0)
    assert [lin.guidance(k, 4) for k in range(4)] == pytest.approx([0.0, 4 / 3, 8 / 3, 4.0])
    assert SamplingConfig(cfg=4.0, cfg_schedule="constant").guidance(0, 4) == 4.0
    with pytest.raises(SkinaugError):
        SamplingConfig(cfg_schedule="cosine")


def test_filter_and_draw():
    logits = torch.tensor([[3.0, 2.0, 1.0, 0.0, -1.0]])
    assert torch.isinf(filter_logits(logits, top_k=2)).tolist() == [[False, False, True, True, True]]
    p = logits.softmax(-1)[0]
    # nucleus 0.8: p0 = 0.64 < 0.8, p0 + p1 = 0.87 >= 0.8 -> keep 2
    assert p[0] < 0.8 < p[0] + p[1]
    assert torch.isinf(filter_logits(logits, top_p=0.8)).tolist() == [[False, False, True, True, True]]
    assert not torch.isinf(filter_logits(logits, top_k=0, top_p=1.0)).any()
    g = torch.Generator().manual_seed(0)
    draws = draw_tokens(logits.expand(20000, 5), g)
    freq = torch.bincount(draws, minlength=5).float() / 20000
    assert torch.allclose(freq, p, atol=0.015)
    draws = draw_tokens(logits.expand(5000, 5), g, top_k=3)
    assert set(draws.tolist()) == {0, 1, 2}
