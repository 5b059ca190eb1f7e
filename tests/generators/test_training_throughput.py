"""The fast paths of generator training keep runs exact: loader workers, decoded cache, logged-step syncs,
CUDA RNG state in checkpoints, --compile plumbing and --time-budget."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from skinaug.cli import main
from skinaug.generators import rng_state, training
from skinaug.generators.batches import step_batch, step_loader
from skinaug.generators.checkpoint import read_checkpoint
from skinaug.generators.data import MeasurementSpace, conditioned_split
from skinaug.generators.generator import Generator
from skinaug.generators.training import TrainOptions, train_generator

from .conftest import interrupt_transformer_at, micro_config


RUN_STAGE = training.run_stage


def _weights(out: Path, stage: str) -> dict[str, torch.Tensor]:
    tag = (out / stage / "LATEST").read_text().strip()
    return load_file(str(out / stage / tag / "weights.safetensors"))


def _same_weights(a: Path, b: Path) -> None:
    for stage in ("tokenizer", "transformer"):
        x, y = _weights(a, stage), _weights(b, stage)
        assert x.keys() == y.keys()
        assert all(torch.equal(x[k], y[k]) for k in x), stage


def test_loader_workers_hand_the_batches_of_the_main_process_in_step_order(measured_phantoms: Path) -> None:
    space = MeasurementSpace.load(measured_phantoms)
    train = conditioned_split(measured_phantoms, "train", 32, space)
    make = lambda step: step_batch(train, 4, 0, step)  # noqa: E731
    got = list(step_loader(make, 3, 9, workers=2))
    assert [step for step, _ in got] == list(range(3, 9))
    for step, batch in got:
        expected = make(step)
        assert expected.keys() == batch.keys()
        assert all(torch.equal(expected[k], batch[k]) for k in expected), step


def test_workers_and_decoded_cache_resume_to_the_weights_of_a_plain_straight_run(
    measured_phantoms: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = TrainOptions(progress=False, workers=0, decoded_cache=False, token_cache=False)
    train_generator(measured_phantoms, tmp_path / "plain", micro_config(), plain)
    fast = TrainOptions(progress=False, workers=1)
    interrupt_transformer_at(4, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train_generator(measured_phantoms, tmp_path / "fast", micro_config(), fast)
    monkeypatch.undo()
    train_generator(
        measured_phantoms, tmp_path / "fast", micro_config(), TrainOptions(progress=False, workers=1, resume=True)
    )
    assert list((tmp_path / "fast" / "cache" / "decoded").glob("images-32px-*.npy"))
    _same_weights(tmp_path / "plain", tmp_path / "fast")


def test_values_are_read_from_the_device_on_logged_steps_only_and_the_logs_are_unchanged(
    measured_phantoms: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = micro_config(steps=6)
    for optim in (config.tokenizer_optim, config.transformer_optim):
        optim.log_every, optim.val_every, optim.checkpoint_every = 2, 6, 6
    train_generator(measured_phantoms, tmp_path / "every", config, TrainOptions(progress=False, sync_every_log=False))
    reads: list[int] = []
    original = training.to_floats

    def counted(values):  # noqa: ANN001, ANN202
        reads.append(1)
        return original(values)

    monkeypatch.setattr(training, "to_floats", counted)
    train_generator(measured_phantoms, tmp_path / "logged", config, TrainOptions(progress=False))
    assert len(reads) == 2 * 3  # steps 2, 4 and 6 of each stage, not 6 per stage
    for stage in ("tokenizer", "transformer"):
        a = pd.read_csv(tmp_path / "every" / f"{stage}_log.csv")
        b = pd.read_csv(tmp_path / "logged" / f"{stage}_log.csv")
        assert list(b["step"]) == [2, 4, 6]
        pd.testing.assert_frame_equal(a, b)


def test_cuda_rng_states_are_saved_in_checkpoints_and_handed_back_on_resume(
    measured_phantoms: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter(range(1, 10_000))
    restored: list[list[torch.Tensor]] = []
    monkeypatch.setattr(rng_state, "cuda_present", lambda: True)  # torch.cuda.is_available() on a GPU machine
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(  # a different fake state per call, as a generator that moved on would give
        torch.cuda, "get_rng_state_all", lambda: [torch.full((8,), next(draws) % 256, dtype=torch.uint8)] * 2
    )
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", lambda states: restored.append(list(states)))
    options = TrainOptions(device="cpu", progress=False)
    interrupt_transformer_at(4, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train_generator(measured_phantoms, tmp_path / "g", micro_config(), options)
    files, _ = read_checkpoint(tmp_path / "g" / "transformer")
    saved = load_file_bytes(files["train_state.safetensors"])
    saved_states = [v for k, v in sorted(saved.items()) if k.startswith("/cuda_rng/")]
    assert len(saved_states) == 2 and not restored
    monkeypatch.setattr(training, "run_stage", RUN_STAGE)
    train_generator(
        measured_phantoms, tmp_path / "g", micro_config(), TrainOptions(device="cpu", progress=False, resume=True)
    )
    assert len(restored) == 2  # the tokenizer's last checkpoint, then the transformer's step-3 one
    assert all(torch.equal(a, b) for a, b in zip(restored[-1], saved_states))


def load_file_bytes(blob: bytes) -> dict[str, torch.Tensor]:
    """The tensors of safetensors bytes."""
    from safetensors.torch import load

    return load(blob)


def test_compile_reaches_both_models_and_the_cli_passes_its_options(
    measured_phantoms: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[str] = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: compiled.append(type(self).__name__))
    train_generator(
        measured_phantoms, tmp_path / "g", micro_config(steps=3), TrainOptions(progress=False, compile=True)
    )
    assert compiled == ["LesionTokenizer", "VARTransformer"]
    seen: list[TrainOptions] = []

    def fake(workdir, out, config, options):  # noqa: ANN001, ANN202
        seen.append(options)
        raise SystemExit(0)

    monkeypatch.setattr(training, "train_generator", fake)
    args = ["train-generator", str(measured_phantoms), "--compile", "--time-budget", "1.5", "--workers", "3"]
    CliRunner().invoke(main, args)
    assert (seen[0].compile, seen[0].time_budget, seen[0].workers) == (True, 1.5, 3)
    bad = CliRunner().invoke(main, ["train-generator", str(measured_phantoms), "--time-budget", "0"])
    assert bad.exit_code != 0 and "--time-budget" in bad.output
    assert "for GPUs" in CliRunner().invoke(main, ["train-generator", "--help"]).output


def test_a_spent_time_budget_stops_cleanly_leaves_a_usable_generator_and_resume_finishes(
    measured_phantoms: Path, tmp_path: Path
) -> None:
    out = tmp_path / "g"
    config = micro_config(steps=8)
    result = train_generator(measured_phantoms, out, config, TrainOptions(progress=False, time_budget=1e-5))
    assert result.stopped == {"tokenizer": 1, "transformer": 1}
    assert "(time budget spent)" in result.summary_line()
    assert "Stopped by the time budget" in (out / "model_card.md").read_text()
    for stage in ("tokenizer", "transformer"):
        assert (out / stage / "LATEST").read_text().strip() == "step0000001"
        assert list(pd.read_csv(out / f"{stage}_log.csv")["step"]) == [1]
    images = Generator.load(out, device="cpu").free(["mel", "nv"], seed=0)
    assert images.shape == (2, 32, 32, 3)
    finished = train_generator(measured_phantoms, out, config, TrainOptions(progress=False, resume=True))
    assert finished.stopped == {} and finished.last["tokenizer"]["step"] == 8
    assert finished.last["transformer"]["step"] == 8
    assert (out / "transformer.superseded-1").is_dir()  # trained on the step-1 tokenizer: kept aside, redone
    assert list(pd.read_csv(out / "transformer_log.csv")["step"]) == list(range(1, 9))


def test_a_transformer_checkpoint_from_before_the_tokenizer_digest_is_resumed_not_moved_aside(
    measured_phantoms: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checkpoints made by an earlier skinaug hold no tokenizer digest; upgrading must not discard them."""
    import json

    out = tmp_path / "g"
    config = micro_config(steps=3)
    train_generator(measured_phantoms, out, config, TrainOptions(progress=False))
    latest = out / "transformer" / (out / "transformer" / "LATEST").read_text().strip()
    manifest_path = latest / "checkpoint.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["meta"]["tokenizer_sha256"]
    manifest_path.write_text(json.dumps(manifest))
    capsys.readouterr()
    again = train_generator(measured_phantoms, out, config, TrainOptions(progress=False, resume=True))
    assert again.last["transformer"]["step"] == 3
    assert not list(out.glob("transformer.superseded-*"))
    assert "made before skinaug recorded tokenizer_sha256" in capsys.readouterr().err
