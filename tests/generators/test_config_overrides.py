"""GeneratorConfig.with_overrides: the command line's steps, batch and switches on a named or file config."""

from __future__ import annotations

from pathlib import Path

from skinaug.generators.config import load_config
from skinaug.schedules import warmup_cosine

ROOT = Path(__file__).resolve().parents[2]


def test_short_runs_get_a_warm_up_that_ends_and_a_decay() -> None:
    # the demo's 150 + 200 steps on `tiny` (warm-up 200 for its 2,000 steps): the learning rate must peak and decay
    config = load_config("tiny").with_overrides(tokenizer_steps=150, transformer_steps=200)
    for optim in (config.tokenizer_optim, config.transformer_optim):
        assert optim.warmup_steps == optim.steps // 10
        rates = [warmup_cosine(step, optim.warmup_steps, optim.steps) for step in range(optim.steps)]
        assert max(rates) == 1.0 and rates[-1] < 0.01  # peaks, then decays to ~0 by the last step


def test_steps_well_above_the_warm_up_keep_it() -> None:
    # the evidence runs' recipes (tiny_l16: warm-up 200; 1,500 + 1,000 steps) and the GPU run's `small` steps
    evidence = load_config(str(ROOT / "benchmarks" / "configs" / "tiny_l16.json"))
    config = evidence.with_overrides(tokenizer_steps=1500, transformer_steps=1000)
    assert (config.tokenizer_optim.warmup_steps, config.transformer_optim.warmup_steps) == (200, 200)
    small = load_config("small").with_overrides(tokenizer_steps=1500, transformer_steps=2000)
    assert (small.tokenizer_optim.warmup_steps, small.transformer_optim.warmup_steps) == (500, 500)
    assert load_config("tiny").with_overrides().tokenizer_optim.warmup_steps == 200  # nothing asked, nothing changed
