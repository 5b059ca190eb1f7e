"""A measured phantom work directory and a very small LF-VAR config for generator tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skinaug.generators import training
from skinaug.generators.config import GeneratorConfig, OptimConfig, TokenizerConfig, TransformerConfig
from skinaug.measurements import measure_workdir
from skinaug.phantoms import PhantomConfig, make_phantoms
from skinaug.prepare import prepare_dataset


def micro_config(steps: int = 6) -> GeneratorConfig:
    """32 px, 4 scales, 64 codes, a 2-block transformer: seconds per run on a CPU."""
    optim = OptimConfig(
        lr=1e-3, warmup_steps=2, steps=steps, batch_size=4, checkpoint_every=3, val_every=3, log_every=1
    )
    return GeneratorConfig(
        name="micro",
        tokenizer=TokenizerConfig(
            image_size=32,
            channels=16,
            channel_mult=(1, 2, 2),
            latent_dim=8,
            vocab_size=64,
            scales=(1, 2, 4, 8),
            adversarial_start=4,
            disc_channels=16,
            disc_layers=2,
        ),
        transformer=TransformerConfig(depth=2, width=64, heads=2),
        tokenizer_optim=optim,
        transformer_optim=OptimConfig(**optim.__dict__),
    )


@pytest.fixture(scope="session")
def measured_phantoms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prepared and measured 56-image phantom work directory."""
    root = tmp_path_factory.mktemp("genwork")
    make_phantoms(root / "ph", PhantomConfig(n=56, seed=4, width=64, height=48), progress=False)
    prepare_dataset("ham10000", root / "ph", root / "work", progress=False)
    measure_workdir(root / "work", workers=1, progress=False)
    return root / "work"


def interrupt_transformer_at(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the transformer stage raise KeyboardInterrupt (as Ctrl-C would) when it reaches step `index`."""
    original = training.run_stage

    def interrupted(stage: Any, out: Path, ctx: Any, resume: bool, progress: bool) -> dict[str, Any]:
        real_step = stage.train_step

        def step(batch: dict[str, Any], i: int) -> dict[str, float]:
            if i == index and stage.name == "transformer":
                raise KeyboardInterrupt
            return real_step(batch, i)

        stage.train_step = step
        return original(stage, out, ctx, resume, progress)

    monkeypatch.setattr(training, "run_stage", interrupted)
