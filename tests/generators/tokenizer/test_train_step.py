"""TokenizerTrainer steps: learning-rate schedule, adversarial start, resumable state."""

from __future__ import annotations

import copy
import io
import traceback

import pytest
import torch

from skinaug.generators.config import OptimConfig
from skinaug.generators.tokenizer import LesionTokenizer, TokenizerTrainer
from skinaug.generators.training import to_floats
from skinaug.schedules import warmup_cosine

from .conftest import batch, small_config


def lr_at(step_index: int, optim: OptimConfig) -> float:
    """The tokenizer's learning rate at a step (TokenizerTrainer._set_lr with schedule=True)."""
    return optim.lr * warmup_cosine(step_index, optim.warmup_steps, optim.steps)


def test_lr_schedule_warms_up_then_decays_to_zero() -> None:
    optim = OptimConfig(lr=1e-3, warmup_steps=10, steps=110)
    assert lr_at(0, optim) == pytest.approx(1e-4)
    assert lr_at(9, optim) == pytest.approx(1e-3)
    assert lr_at(60, optim) == pytest.approx(5e-4)
    assert lr_at(110, optim) == pytest.approx(0.0) and lr_at(500, optim) == pytest.approx(0.0)


def _trainer(seed: int, **changes) -> TokenizerTrainer:
    settings = {"disc_channels": 8, "adversarial_start": 1, "dead_code_steps": 1, "dead_code_check_every": 1}
    cfg = small_config(**{**settings, **changes})
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
    logs_a = [to_floats(a.step(images, masks, i)) for i in (2, 3)]
    assert sum(log["restarted"] for log in logs_a) > 0  # restarts happen and must resume too

    b = _trainer(123)  # different initial weights
    buffer.seek(0)
    b.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(b.model.quantizer.codebook.weight, saved_codebook)
    logs_b = [to_floats(b.step(images, masks, i)) for i in (2, 3)]
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


def test_a_step_reads_nothing_from_the_device_unless_codes_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a GPU every value read on the host (item, float, tolist, bool...) waits for the device: a step leaves its
    logs on the device (the training loop reads them on logged steps); only a dead-code restart reads one counter.
    AdamW's step counters are host tensors (torch.optim keeps them on the CPU unless capturable): not counted."""
    trainer = _trainer(0)
    trainer.model.quantizer.dead_code_restart = False
    images, masks = batch(2)
    reads: list[str] = []
    for name in ("item", "__bool__", "__int__", "__float__", "tolist", "__index__"):
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _original=original, _name=name):  # noqa: ANN001, ANN002, ANN202
            if not any("/torch/optim/" in frame.filename for frame in traceback.extract_stack()):
                reads.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(torch.Tensor, name, spy)
    logs = [trainer.step(images, masks, i) for i in (0, 1)]  # step 1 runs the GAN phase (adversarial_start 1)
    monkeypatch.undo()
    assert reads == []
    assert "d_loss" in logs[1] and isinstance(logs[1]["psnr"], torch.Tensor)
    assert all(v == v for v in to_floats(logs[1]).values())  # readable afterwards, no NaN


def test_dead_codes_are_looked_for_only_every_dead_code_check_every_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding the dead codes reads a count from the device (torch.nonzero: a host sync on a GPU): a trainer
    looks for them after every third step only, and still restarts them then."""
    trainer = _trainer(0, dead_code_check_every=3)
    images, masks = batch(2)
    calls: list[int] = []
    original = torch.nonzero

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(len(calls))
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "nonzero", spy)
    restarted = []
    for step in range(6):
        before = len(calls)
        logs = trainer.step(images, masks, step)
        restarted.append((len(calls) - before, logs["restarted"]))
    monkeypatch.undo()
    assert [n for n, _ in restarted] == [0, 0, 1, 0, 0, 1]  # after steps 2 and 5 (the 3rd and 6th)
    assert [r for _, r in restarted][0:2] == [0.0, 0.0] and restarted[2][1] > 0  # dead_code_steps=1: all unused
