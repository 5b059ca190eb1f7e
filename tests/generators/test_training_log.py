"""Training logs: append-only CSV every log_every steps, checkpoints that do not grow, no duplicate rows after resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest

from skinaug.generators import train_log, training
from skinaug.generators.checkpoint import latest_checkpoint
from skinaug.generators.config import GeneratorConfig
from skinaug.generators.training import TrainOptions, train_generator

from .conftest import interrupt_transformer_at, micro_config

QUIET = TrainOptions(progress=False)
ORIGINAL_RUN_STAGE = training.run_stage


def _config(steps: int = 6, log_every: int = 2) -> GeneratorConfig:
    config = micro_config(steps=steps)
    config.tokenizer.adversarial_start = 1  # the discriminator's optimizer state exists in every checkpoint
    for optim in (config.tokenizer_optim, config.transformer_optim):
        optim.log_every, optim.val_every, optim.checkpoint_every = log_every, steps, 3
    return config


class FakeWriter:
    """Records what TensorBoard's SummaryWriter would be given (every writer opened is kept in `instances`)."""

    opened: ClassVar[list[tuple[str, int | None]]] = []
    instances: ClassVar[list[FakeWriter]] = []

    def __init__(self, folder: Path, purge_step: int | None) -> None:
        FakeWriter.opened.append((Path(folder).name, purge_step))
        self.stage, self.scalars, self.closed = Path(folder).name, [], False
        FakeWriter.instances.append(self)

    def add_scalar(self, tag: str, scalar_value: float, global_step: int) -> None:
        self.scalars.append((tag, scalar_value, global_step))

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_rows_every_log_every_steps_and_checkpoints_that_do_not_grow(measured_phantoms: Path, tmp_path: Path) -> None:
    out = tmp_path / "gen"
    train_generator(measured_phantoms, out, _config(steps=6, log_every=2), QUIET)
    for stage in ("tokenizer", "transformer"):
        log = pd.read_csv(out / f"{stage}_log.csv")
        assert list(log["step"]) == [2, 4, 6]  # steps / log_every rows, not one per step
        validation = "val_psnr" if stage == "tokenizer" else "val_loss"
        assert log[validation].isna().tolist() == [True, True, False]  # the column arrived at step 6
        sizes = {p.name: (p / "train_state.json").stat().st_size for p in (out / stage).glob("step*")}
        assert set(sizes) == {"step0000003", "step0000006"}
        one_row = len((out / f"{stage}_log.csv").read_text().splitlines()[1])
        growth = sizes["step0000006"] - sizes["step0000003"]  # the 3 steps between would add >= 3 rows of history
        assert one_row > 100 and growth < one_row, sizes
        meta = json.loads((latest_checkpoint(out / stage) / "checkpoint.json").read_text())
        assert meta["meta"]["last"]["step"] == 6
        assert set(json.loads((latest_checkpoint(out / stage) / "train_state.json").read_text())) == {
            "trainer",
            "torch_rng",
        }


def test_resume_neither_duplicates_nor_loses_rows_and_tensorboard_purges(
    measured_phantoms: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train_log, "open_tensorboard", FakeWriter)
    FakeWriter.opened, FakeWriter.instances = [], []
    train_generator(measured_phantoms, tmp_path / "straight", _config(log_every=1), QUIET)
    straight_scalars = next(w.scalars for w in FakeWriter.instances if w.stage == "transformer")

    FakeWriter.opened, FakeWriter.instances = [], []
    out = tmp_path / "resumed"
    interrupt_transformer_at(4, monkeypatch)  # killed after logging step 4, past the step-3 checkpoint
    with pytest.raises(KeyboardInterrupt):
        train_generator(measured_phantoms, out, _config(log_every=1), QUIET)
    assert list(pd.read_csv(out / "transformer_log.csv")["step"]) == [1, 2, 3]  # the CSV follows the checkpoints
    assert [s[2] for s in FakeWriter.instances[-1].scalars if s[0] == "loss"] == [1, 2, 3, 4]  # TensorBoard: live
    assert all(w.closed for w in FakeWriter.instances)
    lines = (out / "transformer_log.csv").read_text().splitlines(keepends=True)
    (out / "transformer_log.csv").write_text("".join(lines[:2]) + "3,0.12")  # killed while appending row 3
    monkeypatch.setattr(training, "run_stage", ORIGINAL_RUN_STAGE)
    FakeWriter.opened = []
    train_generator(measured_phantoms, out, _config(log_every=1), TrainOptions(resume=True, progress=False))
    for stage in ("tokenizer", "transformer"):
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / "straight" / f"{stage}_log.csv"), pd.read_csv(out / f"{stage}_log.csv")
        )
    assert ("transformer", 3) in FakeWriter.opened  # TensorBoard drops the events after the checkpoint
    resumed = [w.scalars for w in FakeWriter.instances if w.stage == "transformer"][-1]
    assert resumed == [s for s in straight_scalars if s[2] > 3]  # steps 4..6 again, with the same values
    assert {tag for tag, _, _ in resumed} >= {"loss", "val_loss"}


def test_a_broken_tensorboard_is_one_line_and_training_logs_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a GPU image ships tensorboard; if it cannot run there (e.g. a protobuf it does not fit), no step is lost
    import sys
    import types

    broken = types.ModuleType("torch.utils.tensorboard")

    def summary_writer(**kwargs):  # noqa: ANN003, ANN202
        raise TypeError("Descriptors cannot be created directly")

    broken.SummaryWriter = summary_writer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", broken)
    assert train_log.open_tensorboard(tmp_path, None) is None
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "skinaug: tensorboard unusable here (TypeError: Descriptors cannot be created directly); logging to CSV only"
    ]
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # not installed: silently None
    assert train_log.open_tensorboard(tmp_path, None) is None and capsys.readouterr().err == ""
