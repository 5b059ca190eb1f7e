"""The transformer stage's token-index cache: exact tokens, rebuilt when stale or corrupt, same training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from skinaug.generators.batches import FLIP_VARIANTS, class_draw_weights, collate, step_batch
from skinaug.generators.data import MeasurementSpace, conditioned_split
from skinaug.generators.folder import load_tokenizer
from skinaug.generators.state_io import load_state
from skinaug.generators.token_cache import token_first_batch, token_step_batch, token_table
from skinaug.generators.training import TrainOptions, train_generator

from .conftest import micro_config


@pytest.fixture(scope="module")
def tokenizer_run(measured_phantoms: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tok") / "g"
    train_generator(measured_phantoms, out, micro_config(steps=3), TrainOptions(stage="tokenizer", progress=False))
    return out


def _train_split(workdir: Path, config):  # noqa: ANN001, ANN202
    space = MeasurementSpace.load(workdir)
    config.transformer.measurement_dim = space.dim
    return conditioned_split(workdir, "train", config.tokenizer.image_size, space)


def test_cached_tokens_equal_a_fresh_encoding_of_the_flipped_batches(
    measured_phantoms: Path, tokenizer_run: Path, tmp_path: Path
) -> None:
    config = micro_config(steps=3)
    train = _train_split(measured_phantoms, config)
    tokenizer = load_tokenizer(tokenizer_run, config)
    table = token_table(tmp_path / "tokens-train", tokenizer, train, FLIP_VARIANTS)
    flipped_any = False
    for step in range(12):  # beyond one epoch of 4-image batches
        images = step_batch(train, 4, config.seed, step)
        cached = token_step_batch(table, train, 4, config.seed, step)
        fresh = tokenizer.images_to_indices(images["image"])
        assert [c.dtype for c in cached["tokens"]] == [torch.long] * len(fresh)
        for k, (a, b) in enumerate(zip(cached["tokens"], fresh)):
            assert torch.equal(a, b), (step, k)
        assert torch.equal(cached["label"], images["label"])
        assert torch.equal(cached["measurements"], images["measurements"])
        flipped_any |= bool((images["flip"] > 0).any())
    assert flipped_any  # the flip variants were exercised
    weights = class_draw_weights(train.base.labels, 1.0)  # class-balanced draws: the same images both ways
    for step in range(4):
        images = step_batch(train, 4, config.seed, step, weights=weights)
        cached = token_step_batch(table, train, 4, config.seed, step, weights=weights)
        assert torch.equal(cached["index"], images["index"]) and torch.equal(cached["flip"], images["flip"])
    first = token_first_batch(table, train, 6)  # the validation batch: the first images, never flipped
    fresh = tokenizer.images_to_indices(collate(train, np.arange(6), 0, 0, flips=False)["image"])
    assert all(torch.equal(a, b) for a, b in zip(first["tokens"], fresh))


def test_a_stale_or_corrupt_cache_is_rebuilt_and_says_so(
    measured_phantoms: Path, tokenizer_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = micro_config(steps=3)
    train = _train_split(measured_phantoms, config)
    tokenizer = load_tokenizer(tokenizer_run, config)
    path = tmp_path / "tokens-train"
    original = token_table(path, tokenizer, train, (0,))
    stamp = path.with_suffix(".safetensors").stat().st_mtime_ns
    token_table(path, tokenizer, train, (0,))  # reused as it is
    assert path.with_suffix(".safetensors").stat().st_mtime_ns == stamp
    with torch.no_grad():  # another tokenizer: the old tokens must not be used
        next(tokenizer.encoder.parameters()).mul_(-1.0)
    rebuilt = token_table(path, tokenizer, train, (0,))
    assert "stale" in capsys.readouterr().err
    assert not torch.equal(rebuilt.tokens, original.tokens)
    fresh = tokenizer.images_to_indices(step_batch(train, 4, 0, 0, flips=False)["image"])
    index = torch.from_numpy(step_batch(train, 4, 0, 0, flips=False)["index"].numpy())
    for a, b in zip(rebuilt.lookup(index, torch.zeros_like(index)), fresh):
        assert torch.equal(a, b)
    blob = path.with_suffix(".safetensors")
    blob.write_bytes(blob.read_bytes()[:-7] + b"garbage")
    again = token_table(path, tokenizer, train, (0,))
    err = capsys.readouterr().err
    assert "unreadable" in err and "checksum mismatch" in err and len(err.strip().splitlines()) == 1
    assert torch.equal(again.tokens, rebuilt.tokens)
    assert torch.equal(load_state(path)["tokens"], rebuilt.tokens)  # the file on disk was rewritten whole


def test_training_on_cached_tokens_gives_the_weights_of_encoding_every_batch(
    measured_phantoms: Path, tokenizer_run: Path, tmp_path: Path
) -> None:
    import shutil

    weights = {}
    for cached in (True, False):
        out = tmp_path / f"cached-{cached}"
        shutil.copytree(tokenizer_run, out)
        options = TrainOptions(stage="transformer", progress=False, token_cache=cached)
        train_generator(measured_phantoms, out, micro_config(steps=3), options)
        assert (out / "cache" / "tokens-train.safetensors").exists() == cached
        tag = (out / "transformer" / "LATEST").read_text().strip()
        weights[cached] = load_file(str(out / "transformer" / tag / "weights.safetensors"))
    assert weights[True].keys() == weights[False].keys()
    assert all(torch.equal(weights[True][k], weights[False][k]) for k in weights[True])


def test_resuming_a_finished_transformer_encodes_nothing(
    measured_phantoms: Path, tokenizer_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from skinaug.generators import training

    out = tmp_path / "finished"
    shutil.copytree(tokenizer_run, out)
    train_generator(measured_phantoms, out, micro_config(steps=3), TrainOptions(stage="transformer", progress=False))
    shutil.rmtree(out / "cache")

    def must_not_encode(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a finished stage built its token tables")

    monkeypatch.setattr(training, "_token_tables", must_not_encode)
    options = TrainOptions(stage="transformer", progress=False, resume=True)
    assert train_generator(measured_phantoms, out, micro_config(steps=3), options).last["transformer"]["step"] == 3
