"""The multi-scale lesion-focused tokenizer: token protocol, token masks, lesion-focused loss, collapse guard,
discriminator, perceptual loss and resumable training steps (CPU, tiny models)."""

from __future__ import annotations

import copy
import dataclasses
import io

import pytest
import torch
import torch.nn.functional as F

from skinaug.errors import SkinaugError
from skinaug.generators.config import OptimConfig, TokenizerConfig, get_config
from skinaug.generators.tokenizer import (
    PERCEPTUAL_OFF, Encoder, LesionTokenizer, MultiScaleQuantizer, PatchDiscriminator, TokenizerTrainer,
    adaptive_weight, describe_perceptual, hinge_d_loss, hinge_g_loss, lesion_focus_loss, load_perceptual, lr_at,
    token_masks,
)
from skinaug.generators.tokenizer.blocks import AttnBlock
from skinaug.generators.tokenizer.quantizer import phi_assignment


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small convolutions run several times faster on one thread than on two contended cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small_config(**changes) -> TokenizerConfig:
    """The tiny config shrunk to 32 px (latent 8 x 8, scales 1..8 as in tiny) for fast CPU tests."""
    base = get_config("tiny").tokenizer
    values = dict(image_size=32, channels=16, channel_mult=(1, 2, 2), latent_dim=8, vocab_size=64)
    values.update(changes)
    return dataclasses.replace(base, **values)


def batch(n: int = 2, size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images in [-1, 1] and disc-shaped lesion masks of different centres per sample."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    masks = torch.stack([(yy - size * (0.3 + 0.4 * i / max(1, n - 1))) ** 2 + (xx - size / 2) ** 2 < (size / 5) ** 2
                         for i in range(n)])
    return images, masks


@pytest.fixture(scope="module")
def model() -> LesionTokenizer:
    torch.manual_seed(0)
    return LesionTokenizer(small_config()).eval()


# -- the token protocol ----------------------------------------------------------------------------------


def test_indices_have_one_map_per_scale_and_the_configured_token_count(model: LesionTokenizer) -> None:
    cfg = model.config
    images, _ = batch(3)
    indices = model.images_to_indices(images)
    assert [tuple(i.shape) for i in indices] == [(3, s, s) for s in cfg.scales]
    assert all(i.dtype == torch.long and 0 <= int(i.min()) and int(i.max()) < cfg.vocab_size for i in indices)
    assert sum(i[0].numel() for i in indices) == cfg.num_tokens == sum(s * s for s in cfg.scales)
    assert model.quantizer.scales == cfg.scales and model.quantizer.vocab_size == cfg.vocab_size
    assert model.quantizer.latent_dim == cfg.latent_dim


def test_indices_to_f_hat_reproduces_the_forward_quantization(model: LesionTokenizer) -> None:
    images, masks = batch(2)
    with torch.no_grad():
        out = model(images, masks)
        q = model.quantizer
        indices = q.f_to_indices(out.f)
        assert all(torch.equal(a, b) for a, b in zip(indices, out.indices))
        f_hat = q.indices_to_f_hat(indices)
        assert f_hat.shape == out.f.shape == (2, 8, 8, 8)
        torch.testing.assert_close(f_hat, out.f_hat, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.indices_to_images(indices), out.recon.clamp(-1, 1), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model.reconstruct(images), out.recon.clamp(-1, 1), atol=1e-5, rtol=1e-5)
        flat = [i.flatten(1) for i in indices]      # the transformer's B x s*s token rows work too
        torch.testing.assert_close(q.indices_to_f_hat(flat), f_hat)


def test_var_input_equals_chained_next_input(model: LesionTokenizer) -> None:
    q = model.quantizer
    images, _ = batch(2)
    indices = model.images_to_indices(images)
    with torch.no_grad():
        var_input = q.indices_to_var_input(indices)
        assert var_input.shape == (2, model.config.num_tokens - q.scales[0] ** 2, q.latent_dim)
        f_hat = torch.zeros(2, q.latent_dim, 8, 8)
        parts = []
        for k in range(len(q.scales)):
            f_hat, nxt = q.next_input(k, f_hat, indices[k])
            if k < len(q.scales) - 1:
                assert nxt.shape == (2, q.scales[k + 1] ** 2, q.latent_dim)
                parts.append(nxt)
            else:
                assert nxt is None
        torch.testing.assert_close(torch.cat(parts, dim=1), var_input, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(f_hat, q.indices_to_f_hat(indices), atol=1e-6, rtol=1e-6)
        # Layout: row-major positions of the area-downsampled running f_hat (here after scale 0, at scales[1]).
        f_hat0, _ = q.next_input(0, torch.zeros(2, q.latent_dim, 8, 8), indices[0])
        s1 = q.scales[1]
        down = F.interpolate(f_hat0, size=(s1, s1), mode="area")
        for i in range(s1):
            for j in range(s1):
                torch.testing.assert_close(var_input[:, i * s1 + j], down[:, :, i, j])


def test_embed_gives_l2_normalised_code_vectors_with_l2_lookup() -> None:
    q = MultiScaleQuantizer(small_config(l2_lookup=True))
    vectors = q.embed(torch.tensor([[0, 5], [7, 63]]))
    assert vectors.shape == (2, 2, 8)
    torch.testing.assert_close(vectors.norm(dim=-1), torch.ones(2, 2))
    raw = MultiScaleQuantizer(small_config(l2_lookup=False))
    torch.testing.assert_close(raw.embed(torch.tensor([3])), raw.codebook.weight[3:4])


def test_phi_convs_are_shared_by_nearest_relative_position() -> None:
    assert phi_assignment(6, 4) == [0, 0, 1, 2, 3, 3]   # VAR's ticks 1/12, 13/36, 23/36, 11/12; positions k/5
    assert phi_assignment(6, 1) == [0] * 6
    assert phi_assignment(3, 3) == [0, 1, 2]
    assert phi_assignment(1, 4) == [0]
    assert len(MultiScaleQuantizer(small_config(phi_share=0)).phis) == 6         # one per scale
    assert len(MultiScaleQuantizer(small_config(phi_mix=0.0)).phis) == 0          # phi off


def test_scales_must_end_at_the_latent_side() -> None:
    with pytest.raises(ValueError, match="latent side"):
        MultiScaleQuantizer(small_config(scales=(1, 2, 4)))
    with pytest.raises(ValueError, match="increasing"):
        MultiScaleQuantizer(small_config(scales=(2, 1, 8)))


def test_attention_only_at_the_lowest_resolution_of_large_images() -> None:
    def has_attention(size: int) -> bool:
        enc = Encoder(small_config(image_size=size, channels=8, channel_mult=(1, 1, 1), scales=(1, size // 4)))
        return any(isinstance(m, AttnBlock) for m in enc.modules())
    assert not has_attention(64)
    assert has_attention(128)


# -- token masks ------------------------------------------------------------------------------------------


def test_token_masks_mark_every_token_that_touches_the_lesion() -> None:
    mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    mask[0, 3, 4] = True                       # one lesion pixel
    m1, m2, m4, m8 = token_masks(mask, (1, 2, 4, 8))
    assert m1.tolist() == [[[True]]]
    assert m2[0].nonzero().tolist() == [[0, 1]]
    assert m4[0].nonzero().tolist() == [[1, 2]]
    assert m8[0].nonzero().tolist() == [[3, 4]]
    assert all(m.dtype == torch.bool for m in (m1, m2, m4, m8))
    # Not divisible: 6 px on 4 tokens; pixel 1 lies in the patches of tokens 0 and 1, so both are lesion.
    mask6 = torch.zeros(1, 6, 6)
    mask6[0, 1, 1] = 0.3                       # soft masks: any value > 0 counts
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
    mask[0, :2, :2] = True                     # sample 0: top left
    mask[1, 6:, 6:] = True                     # sample 1: bottom right
    together = token_masks(mask, (2, 4))
    for b in range(2):
        alone = token_masks(mask[b:b + 1], (2, 4))
        assert all(torch.equal(t[b:b + 1], a) for t, a in zip(together, alone))
    assert together[0][0].nonzero().tolist() == [[0, 0]]
    assert together[0][1].nonzero().tolist() == [[1, 1]]


# -- the lesion-focused loss ---------------------------------------------------------------------------


def test_lesion_focus_loss_ignores_everything_inside_lesion_tokens() -> None:
    g = torch.Generator().manual_seed(2)
    scales = (1, 2, 3, 4, 6, 8)
    recon = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    source = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    pixel_mask = torch.zeros(2, 32, 32, dtype=torch.bool)
    pixel_mask[0, 4:12, 4:12] = True
    pixel_mask[1, 20:30, 2:9] = True
    masks = token_masks(pixel_mask, scales)
    loss = lesion_focus_loss(recon, source, scales, masks)
    assert loss > 0
    changed = recon + 100.0 * pixel_mask.unsqueeze(1) * torch.randn(recon.shape, generator=g)   # lesion pixels
    torch.testing.assert_close(lesion_focus_loss(changed, source, scales, masks), loss, atol=0, rtol=0)
    changed[:, :, 0, 31] += 1.0                                           # a background pixel changes
    assert lesion_focus_loss(changed, source, scales, masks) > loss
    # The definition: per scale the masked mean-over-channels squared error of the area-downsampled image
    # difference over B * s^2 tokens, then a mean over scales.
    expected = sum((F.adaptive_avg_pool2d(recon - source, (s, s)).square().mean(1) * ~m).sum() / m.numel()
                   for s, m in zip(scales, masks)) / len(scales)
    torch.testing.assert_close(loss, expected)
    all_lesion = [torch.ones_like(m) for m in masks]
    assert lesion_focus_loss(recon, source, scales, all_lesion) == 0
    assert lesion_focus_loss(recon, source, scales, None) > loss          # no mask: all background


def test_lesion_focus_changes_when_the_decoders_background_changes() -> None:
    # The issue: the term must act on what the decoder produces. Perturbing the decoder's output outside the
    # lesion moves it; inside the lesion leaves it exactly as it was.
    torch.manual_seed(0)
    m = LesionTokenizer(small_config()).eval()
    images, masks = batch(2)
    with torch.no_grad():
        before = m(images, masks).losses["lesion_focus"]
        m.decoder.conv_out.bias.add_(0.2)                  # shifts the decoder's output everywhere
        after = m(images, masks).losses["lesion_focus"]
        assert abs(after - before) > 0.1 * before
        recon = m(images, masks).recon
    tmasks = token_masks(masks, m.scales)
    bump = 0.3 * torch.randn(recon.shape, generator=torch.Generator().manual_seed(1)) + 0.2
    base = lesion_focus_loss(recon, images, m.scales, tmasks)
    inside = lesion_focus_loss(recon + bump * masks[:, None], images, m.scales, tmasks)
    outside = lesion_focus_loss(recon + bump * ~masks[:, None], images, m.scales, tmasks)
    assert inside == base
    assert abs(outside - base) > 0.1 * base


def test_lesion_focus_weight_enters_the_total_and_zero_removes_it_at_equal_compute() -> None:
    images, masks = batch(2)
    outputs = {}
    for weight in (0.0, 1.0, 2.0):
        torch.manual_seed(0)
        outputs[weight] = LesionTokenizer(small_config(lesion_focus=weight)).eval()(images, masks).losses
    on, off = outputs[1.0], outputs[0.0]
    assert on["lesion_focus"] > 0
    assert off["lesion_focus"] == 0 and off["lesion_focus"].requires_grad     # computed, weighted 0
    torch.testing.assert_close(outputs[2.0]["lesion_focus"], 2 * on["lesion_focus"])
    for losses in (on, off):
        parts = losses["pixel"] + losses["latent"] + losses["lesion_focus"] + losses["codebook"]
        torch.testing.assert_close(losses["total"], parts)
    for name in ("pixel", "latent", "codebook"):
        torch.testing.assert_close(on[name], off[name])


def test_lesion_focus_gradient_reaches_the_decoder() -> None:
    torch.manual_seed(0)
    m = LesionTokenizer(small_config())
    images, masks = batch(2)
    m(images, masks).losses["lesion_focus"].backward()
    assert m.decoder.conv_out.weight.grad.abs().sum() > 0
    assert m.post_quant_conv.weight.grad.abs().sum() > 0
    assert m.encoder.conv_in.weight.grad.abs().sum() > 0              # through the straight-through f_hat


# -- codebook collapse guard ----------------------------------------------------------------------------


def test_dead_code_restart_revives_a_collapsed_codebook() -> None:
    q = MultiScaleQuantizer(small_config(dead_code_steps=2, vocab_size=64)).train()
    with torch.no_grad():
        q.codebook.weight.copy_(torch.randn(1, 8).expand(64, 8))           # force collapse: all codes equal
    f = torch.randn(4, 8, 8, 8, generator=torch.Generator().manual_seed(4))
    out = q(f)
    assert out.stats["perplexity"].shape == (len(q.scales),)
    assert out.stats["usage"].tolist() == [1 / 64] * len(q.scales)            # one code at every scale
    assert out.stats["perplexity"].tolist() == [1.0] * len(q.scales)
    assert q.restart_dead_codes().numel() == 0                                # unused for 1 step < 2
    q(f)
    restarted = q.restart_dead_codes()
    assert restarted.numel() == 63 and int(q.unused_steps.max()) == 0
    after = q(f).stats
    assert after["usage"][-1] * 64 > 20                                       # many codes in use again
    assert (after["perplexity"] > 1.5).all()
    assert after["perplexity"][0] == 4          # codes were also seeded from the 4 scale-1 residuals
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


# -- discriminator and perceptual loss --------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["spectral", "group"])
def test_patch_discriminator_and_hinge_losses(norm: str) -> None:
    d = PatchDiscriminator(channels=8, layers=3, norm=norm)
    logits = d(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert logits.shape == (2, 1, 2, 2)
    assert hinge_d_loss(torch.full((4,), 2.0), torch.full((4,), -2.0)) == 0
    assert hinge_d_loss(torch.zeros(4), torch.zeros(4)) == 2
    assert hinge_g_loss(torch.full((4,), 3.0)) == -3


def test_adaptive_weight_is_the_ratio_of_gradient_norms() -> None:
    last = torch.nn.Parameter(torch.ones(3))
    nll, g = (last * 2).sum(), (last * 0.5).sum()
    torch.testing.assert_close(adaptive_weight(nll, g, last), torch.tensor(2 * 3 ** 0.5 / (0.5 * 3 ** 0.5 + 1e-4)))


def test_perceptual_loss_is_off_without_a_weights_file(tmp_path) -> None:
    assert load_perceptual(None) is None and load_perceptual("") is None
    assert describe_perceptual(None) == PERCEPTUAL_OFF == "perceptual loss: off (no local weights file)"
    trainer = TokenizerTrainer(LesionTokenizer(small_config()), small_config(), OptimConfig())
    assert trainer.perceptual is None and trainer.perceptual_status == PERCEPTUAL_OFF
    with pytest.raises(SkinaugError, match="not found"):
        load_perceptual(tmp_path / "vgg16-397923af.pth")


def test_perceptual_loss_loads_a_local_vgg16_file(tmp_path) -> None:
    from safetensors.torch import save_file
    from torchvision.models import vgg16

    torch.manual_seed(0)
    features = {f"features.{k}": v for k, v in vgg16(weights=None).features.state_dict().items()}
    pth, st = tmp_path / "vgg16-397923af.pth", tmp_path / "vgg16.safetensors"
    torch.save(features, pth)
    save_file(features, str(st))
    a = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    b = torch.rand(2, 3, 32, 32) * 2 - 1
    values = []
    for path in (pth, st):
        p = load_perceptual(path)
        assert describe_perceptual(p).startswith("perceptual loss: on")
        assert not any(t.requires_grad for t in p.parameters())
        value = p(a, b)
        assert value.dim() == 0 and value > 0
        assert p(b, b) == 0
        values.append(value)
    torch.testing.assert_close(values[0], values[1])
    values[0].backward()
    assert a.grad.abs().sum() > 0
    torch.save({"something": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(SkinaugError, match="not VGG16"):
        load_perceptual(tmp_path / "other.pth")


# -- training steps -------------------------------------------------------------------------------------------


def test_lr_schedule_warms_up_then_decays_to_zero() -> None:
    optim = OptimConfig(lr=1e-3, warmup_steps=10, steps=110)
    assert lr_at(0, optim) == pytest.approx(1e-4)
    assert lr_at(9, optim) == pytest.approx(1e-3)
    assert lr_at(60, optim) == pytest.approx(5e-4)
    assert lr_at(110, optim) == pytest.approx(0.0) and lr_at(500, optim) == pytest.approx(0.0)


def _trainer(seed: int, **changes) -> TokenizerTrainer:
    cfg = small_config(disc_channels=8, adversarial_start=1, dead_code_steps=1, **changes)
    torch.manual_seed(seed)
    return TokenizerTrainer(LesionTokenizer(cfg), cfg, OptimConfig(lr=1e-3, warmup_steps=2, steps=10))


def test_adversarial_step_starts_at_adversarial_start() -> None:
    trainer = _trainer(0)
    images, masks = batch(2)
    first = trainer.step(images, masks, 0)
    assert "d_loss" not in first and "g_adv" not in first
    second = trainer.step(images, masks, 1)
    assert {"d_loss", "g_adv", "adv_weight", "logits_real", "logits_fake"} <= set(second)
    assert {f"perplexity/s{s}" for s in trainer.model.quantizer.scales} <= set(second)
    assert {"pixel", "latent", "lesion_focus", "codebook", "total", "loss", "psnr", "lr"} <= set(second)


def test_state_dict_round_trip_resumes_identically() -> None:
    images, masks = batch(2)
    a = _trainer(0)
    for i in range(2):
        a.step(images, masks, i)
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    saved_codebook = a.model.quantizer.codebook.weight.detach().clone()
    logs_a = [a.step(images, masks, i) for i in (2, 3)]
    assert sum(log["restarted"] for log in logs_a) > 0                 # restarts happen and must resume too

    b = _trainer(123)                                                   # different initial weights
    buffer.seek(0)
    b.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(b.model.quantizer.codebook.weight, saved_codebook)
    logs_b = [b.step(images, masks, i) for i in (2, 3)]
    assert logs_a == logs_b
    for pa, pb in zip(a.state_dict()["model"].values(), b.state_dict()["model"].values()):
        assert torch.equal(pa, pb)
    for pa, pb in zip(a.discriminator.parameters(), b.discriminator.parameters()):
        assert torch.equal(pa, pb)
    assert torch.equal(a.model.quantizer.unused_steps, b.model.quantizer.unused_steps)


def test_state_dict_holds_models_optimizers_and_dead_code_counters() -> None:
    state = _trainer(0).state_dict()
    assert set(state) == {"model", "discriminator", "opt_g", "opt_d"}
    assert "quantizer.unused_steps" in state["model"] and "quantizer.restarts" in state["model"]
    copy.deepcopy(state)
