"""The tokenizer's token protocol: indices per scale, f_hat, VAR inputs, code lookup, phi sharing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from skinaug.generators.tokenizer import Encoder, LesionTokenizer, MultiScaleQuantizer
from skinaug.generators.tokenizer.blocks import AttnBlock
from skinaug.generators.tokenizer.quantizer import phi_assignment

from .conftest import batch, small_config


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
        flat = [i.flatten(1) for i in indices]  # the transformer's B x s*s token rows work too
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
    assert phi_assignment(6, 4) == [0, 0, 1, 2, 3, 3]  # VAR's ticks 1/12, 13/36, 23/36, 11/12; positions k/5
    assert phi_assignment(6, 1) == [0] * 6
    assert phi_assignment(3, 3) == [0, 1, 2]
    assert phi_assignment(1, 4) == [0]
    assert len(MultiScaleQuantizer(small_config(phi_share=0)).phis) == 6  # one per scale
    assert len(MultiScaleQuantizer(small_config(phi_mix=0.0)).phis) == 0  # phi off


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
