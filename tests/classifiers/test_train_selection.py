"""The epoch a run keeps: the best on real val (with early stopping), or the last one by rule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import skinaug.classifiers.train as train_module
from skinaug.classifiers.train import TrainConfig, make_loader, train_classifier
from skinaug.errors import SkinaugError
from skinaug.labels import CLASSES

VAL_SCORES = [0.5, 0.9, 0.3, 0.2, 0.1, 0.1]  # the val mean recall reported after epochs 1, 2, ...


def _train(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> tuple[train_module.TrainResult, list[dict]]:
    """Train a linear model with val scores forced to VAL_SCORES; also return the weights after every epoch."""
    states: list[dict] = []
    real_predict = train_module.predict_proba

    def recording_predict(model: nn.Module, *args: Any, **kwargs: Any) -> Any:
        states.append({k: v.detach().clone() for k, v in model.state_dict().items()})  # after the epoch's steps
        return real_predict(model, *args, **kwargs)

    scores = iter(VAL_SCORES)
    monkeypatch.setattr(train_module, "predict_proba", recording_predict)
    monkeypatch.setattr(train_module, "classification_metrics", lambda *a, **k: {"mean_recall": next(scores)})
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(16, 3, 8, 8), torch.arange(16) % len(CLASSES))
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, len(CLASSES)))
    config = TrainConfig(batch_size=4, device="cpu", channels_last=False, lr=0.05, **changes)
    loader = make_loader(data, batch_size=4, workers=0, shuffle=True)
    result = train_classifier(model, loader, make_loader(data, 4, 0), config, seed=0, progress=False)
    return result, states


def _equal(model: nn.Module, state: dict) -> bool:
    return all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_val_selection_keeps_the_best_val_epoch_and_stops_early(monkeypatch: pytest.MonkeyPatch) -> None:
    result, states = _train(monkeypatch, epochs=6, patience=2, select="val")
    assert (result.best_epoch, result.epochs_run) == (2, 4)  # best at 2; epochs 3 and 4 not better: stop
    assert _equal(result.model, states[1]) and not _equal(result.model, states[3])


def test_last_selection_runs_every_epoch_and_keeps_the_last(monkeypatch: pytest.MonkeyPatch) -> None:
    result, states = _train(monkeypatch, epochs=6, patience=1, select="last")
    assert (result.best_epoch, result.epochs_run) == (6, 6)  # patience ignored: the schedule runs to its end
    assert _equal(result.model, states[-1]) and not _equal(result.model, states[1])
    assert [h["val_mean_recall"] for h in result.history] == VAL_SCORES  # val recall recorded, never used
    assert np.isclose(result.history[-1]["lr"], 0.0, atol=1e-3)  # the cosine schedule has run out


def test_an_unknown_selection_is_refused() -> None:
    with pytest.raises(SkinaugError, match="unknown epoch selection 'best'"):
        TrainConfig(select="best")
