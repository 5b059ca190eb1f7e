"""Data-parallel tokenizer training (DDP, gloo, 2 processes) equals one process on the global batch; the
precision rules of bf16 training (autocast on CUDA only, the quantizer always float32)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from skinaug.generators.tokenizer import LesionTokenizer, MultiScaleQuantizer, TokenizerTrainer
from skinaug.generators.config import OptimConfig
from skinaug.machine import autocast, autocast_dtype

from .conftest import batch, small_config

STEPS_SCRIPT = Path(__file__).with_name("ddp_steps.py")


def _run_steps(out: Path, tmp_path: Path) -> None:
    """ddp_steps.py as one process (out/single) and as two gloo ranks (out/ddp), all three at once."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    runs = [(out / "single", ["0", "1"])] + [(out / "ddp", [str(r), "2", str(tmp_path / "store")]) for r in (0, 1)]
    procs = []
    for folder, args in runs:
        folder.mkdir(parents=True, exist_ok=True)
        procs.append(
            subprocess.Popen(
                [sys.executable, str(STEPS_SCRIPT), str(folder), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )
        )
    for proc in procs:
        output, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, output[-3000:]


def test_two_gloo_processes_train_the_tokenizer_like_one_process_on_the_global_batch(tmp_path: Path) -> None:
    _run_steps(tmp_path, tmp_path)
    single = load_file(str(tmp_path / "single" / "rank0.safetensors"))
    rows = json.loads((tmp_path / "single" / "rank0.json").read_text())
    ranks = [load_file(str(tmp_path / "ddp" / f"rank{r}.safetensors")) for r in (0, 1)]
    rank_rows = [json.loads((tmp_path / "ddp" / f"rank{r}.json").read_text()) for r in (0, 1)]

    # the steps compared include dead-code restarts and, from step 2, the adversarial phase
    assert all(row["restarted"] > 0 for row in rows)
    assert [("d_loss" in row) for row in rows] == [False, False, True, True, True]
    assert int(single["model.quantizer.restarts"]) == len(rows)
    # the ranks hold identical models (rank 1 started from other weights), codebook and counters included
    assert ranks[0].keys() == ranks[1].keys() == single.keys()
    for name in single:
        assert torch.equal(ranks[0][name], ranks[1][name]), name
    # ... equal to the single process's: weights, codebook, discriminator, spectral-norm vectors, counters, up to
    # float32 summation order (2 + 2 samples and an all-reduce against 4 in one process), which 5 AdamW steps
    # amplify to at most 1e-5 on a 2-core Intel Xeon and 3.6e-5 (the codebook) on a 2-core AMD EPYC; a rank
    # training on its own share, or a wrong restart, moves weights by about lr = 1e-3
    for name, value in single.items():
        if value.is_floating_point():
            torch.testing.assert_close(ranks[0][name], value, rtol=0, atol=1e-4, msg=name)
        else:
            assert torch.equal(ranks[0][name], value), name
    # the same codes restarted, the same adaptive GAN weight, and the global batch's code statistics
    for row, a, b in zip(rows, *rank_rows):
        assert a["restarted"] == b["restarted"] == row["restarted"]
        assert a["dead_codes"] == row["dead_codes"] and a["usage/s8"] == row["usage/s8"]
        if "adv_weight" in row:  # a ratio of gradient norms: the same rounding reaches 4e-4 of it (AMD EPYC)
            assert a["adv_weight"] == b["adv_weight"] == pytest.approx(row["adv_weight"], rel=2e-3)
        assert (a["loss"] + b["loss"]) / 2 == pytest.approx(row["loss"], rel=1e-5)


def test_every_tokenizer_parameter_gets_a_gradient_so_ddp_needs_no_unused_parameter_search() -> None:
    cfg = small_config(disc_channels=8, adversarial_start=1)
    torch.manual_seed(0)
    trainer = TokenizerTrainer(LesionTokenizer(cfg), cfg, OptimConfig(lr=1e-3, warmup_steps=1, steps=4))
    assert not trainer.model.quantizer.has_idle_phis
    images, masks = batch(2)
    for step in (0, 1):  # without and with the adversarial term
        trainer.step(images, masks, step)
        missing = [name for name, p in trainer.model.named_parameters() if p.grad is None or not p.grad.any()]
        assert missing == [], (step, missing)
    # a config with more phi convs than scales has one no scale uses: DDP must then search for unused ones
    assert MultiScaleQuantizer(small_config(scales=(2, 4, 8), phi_share=4)).has_idle_phis


def test_autocast_is_bf16_on_cuda_and_off_on_cpu() -> None:
    assert autocast_dtype(torch.device("cpu")) is None
    assert autocast_dtype(torch.device("cuda", 0)) is torch.bfloat16
    with autocast(torch.device("cpu")):
        assert (torch.ones(2, 3) @ torch.ones(3, 2)).dtype == torch.float32  # CPU training stays float32


def test_the_quantizer_computes_distances_and_codes_in_float32_under_bf16_autocast() -> None:
    torch.manual_seed(0)
    q = MultiScaleQuantizer(small_config(vocab_size=64)).train()
    with torch.no_grad():  # codes 1 and 2 differ from code 0 by less than bf16 can resolve
        base = torch.randn(8)
        q.codebook.weight[0] = base
        q.codebook.weight[1] = base + 2e-3 * torch.randn(8)
        q.codebook.weight[2] = base - 2e-3 * torch.randn(8)
    f = base.view(1, 8, 1, 1).repeat(3, 1, 8, 8) + 1e-3 * torch.randn(3, 8, 8, 8)
    flat = f.permute(0, 2, 3, 1).reshape(-1, 8)
    reference_scores = q.code_scores(flat)
    reference_tokens = q.f_to_indices(f)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert (flat @ q.codebook.weight.T).dtype == torch.bfloat16  # what an unguarded lookup would use
        scores = q.code_scores(flat)
        tokens = q.f_to_indices(f)
        out = q(f)
    assert scores.dtype == torch.float32 and torch.equal(scores, reference_scores)
    assert out.f_hat.dtype == torch.float32 and out.losses["codebook"].dtype == torch.float32
    assert [torch.equal(a, b) for a, b in zip(tokens, reference_tokens)] == [True] * len(q.scales)
    assert [torch.equal(a, b) for a, b in zip(out.indices, reference_tokens)] == [True] * len(q.scales)
    # the same search in bf16 picks other codes: the float32 guard is what keeps the tokens
    bf16_pick = (flat.bfloat16() @ q.codebook.weight.bfloat16().T).argmax(1)
    assert not torch.equal(bf16_pick, reference_scores.argmax(1))


def test_sampling_builds_f_hat_and_transformer_inputs_in_float32_under_bf16_autocast() -> None:
    # sampling on a GPU runs under bf16 autocast; the transformer was trained on float32 inputs from the token
    # cache, so next_input/indices_to_f_hat must give the same float32 numbers under autocast as without it
    torch.manual_seed(1)
    q = MultiScaleQuantizer(small_config(vocab_size=64)).eval()
    tokens = [torch.randint(0, 64, (2, s, s)) for s in q.scales]
    reference_f_hat = q.indices_to_f_hat(tokens)
    reference_inputs = q.indices_to_var_input(tokens)
    reference_next = q.next_input(1, q.next_input(0, None, tokens[0])[0], tokens[1])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert q.phis[0].conv(reference_f_hat).dtype == torch.bfloat16  # what an unguarded phi convolution gives
        f_hat = q.indices_to_f_hat(tokens)
        inputs = q.indices_to_var_input(tokens)
        nxt = q.next_input(1, q.next_input(0, None, tokens[0])[0], tokens[1])
    assert f_hat.dtype == inputs.dtype == torch.float32
    assert torch.equal(f_hat, reference_f_hat) and torch.equal(inputs, reference_inputs)
    assert all(torch.equal(a, b) for a, b in zip(nxt, reference_next))


def test_exact_float32_turns_tf32_off_inside_and_restores_it(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    from skinaug.generators.tokenizer import quantizer as quantizer_module
    from skinaug.machine import exact_float32

    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = matmul.allow_tf32, cudnn.allow_tf32
    matmul.allow_tf32 = cudnn.allow_tf32 = True  # as train-generator and bench-classifier set them on a GPU
    request.addfinalizer(lambda: (setattr(matmul, "allow_tf32", saved[0]), setattr(cudnn, "allow_tf32", saved[1])))
    with exact_float32("cpu"):
        assert (matmul.allow_tf32, cudnn.allow_tf32) == (False, False)
    assert (matmul.allow_tf32, cudnn.allow_tf32) == (True, True)
    with pytest.raises(RuntimeError), exact_float32("cpu"):
        raise RuntimeError("restored after an error too")
    assert (matmul.allow_tf32, cudnn.allow_tf32) == (True, True)
    # the nearest-code search runs with TF32 off
    seen: list[bool] = []
    real_normalize = quantizer_module.F.normalize

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(matmul.allow_tf32)
        return real_normalize(*args, **kwargs)

    monkeypatch.setattr(quantizer_module.F, "normalize", spy)
    q = MultiScaleQuantizer(small_config(vocab_size=64, l2_lookup=True))
    q.code_scores(torch.randn(5, 8))
    assert seen and not any(seen)


def test_a_bf16_step_runs_the_networks_in_bf16_and_the_quantizer_in_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    from skinaug.generators.tokenizer import train_step

    # CPU autocast stands in for what machine.autocast gives a CUDA device
    monkeypatch.setattr(train_step, "autocast", lambda device: torch.autocast("cpu", dtype=torch.bfloat16))
    cfg = small_config(disc_channels=8, adversarial_start=0, dead_code_steps=1, dead_code_check_every=1)
    torch.manual_seed(0)
    trainer = TokenizerTrainer(LesionTokenizer(cfg), cfg, OptimConfig(lr=1e-3, warmup_steps=1, steps=4))
    seen: dict[str, torch.dtype] = {}

    def record(name: str):  # noqa: ANN202
        def hook(module, inputs, output) -> None:  # noqa: ANN001
            seen.setdefault(name, getattr(output, "f_hat", output).dtype)

        return hook

    trainer.model.encoder.register_forward_hook(record("encoder"))
    trainer.model.quantizer.register_forward_hook(record("quantizer"))
    trainer.model.decoder.register_forward_hook(record("decoder"))
    trainer.discriminator.register_forward_hook(record("discriminator"))
    images, masks = batch(2)
    logs = trainer.step(images, masks, 0)
    assert seen == {
        "encoder": torch.bfloat16,
        "quantizer": torch.float32,
        "decoder": torch.bfloat16,
        "discriminator": torch.bfloat16,
    }
    assert all(torch.isfinite(torch.tensor(v)) for k, v in logs.items() if k != "psnr")
    assert logs["restarted"] > 0 and "d_loss" in logs
    assert trainer.model.quantizer.codebook.weight.dtype == torch.float32
