"""benchmarks/training_length.py: one column per training length, gains with both intervals, selected epochs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from skinaug.atomic import write_json
from skinaug.errors import SkinaugError
from skinaug.labels import CLASSES

from ..conftest import load_benchmark

K = len(CLASSES)


def _bench(folder: Path, epochs: int, skill: dict[str, float], best: dict[str, int], select: str | None = None) -> Path:
    """A bench-classifier folder: 3 seeds of each arm on one test set; arm's share of correct answers = skill
    (`select` None: a folder made before the epoch rule was recorded)."""
    rng = np.random.default_rng(epochs)
    y = rng.integers(0, K, size=300)
    ids = np.array([f"ISIC_{i:07d}" for i in range(y.size)])
    train = {"epochs": epochs} if select is None else {"epochs": epochs, "select": select}
    write_json(folder / "bench_config.json", {"train": train})
    for arm, share in skill.items():
        for seed in range(3):
            run = folder / "runs" / f"{arm}_seed{seed}"
            run.mkdir(parents=True)
            proba = rng.dirichlet(np.ones(K), size=y.size)
            hit = rng.random(y.size) < share
            proba[hit, y[hit]] += 2.0
            buffer = io.BytesIO()
            np.savez(buffer, y_true=y, proba=(proba / proba.sum(1, keepdims=True)).astype(np.float32), image_ids=ids)
            (run / "predictions.npz").write_bytes(buffer.getvalue())
            history = [{"epoch": e, "val_mean_recall": e / 100} for e in range(1, epochs + 1)]
            write_json(
                run / "run.json",
                {"arm": arm, "seed": seed, "best_epoch": best[arm], "epochs_run": epochs, "history": history},
            )
    return folder


def test_columns_gains_and_selected_epochs(tmp_path: Path) -> None:
    script = load_benchmark("training_length")
    arms = ["b", "share0.25", "share0.25-copies"]
    short = _bench(tmp_path / "e5", 5, {"b": 0.5, "share0.25": 0.5, "share0.25-copies": 0.5}, dict.fromkeys(arms, 5))
    long = _bench(
        tmp_path / "e15", 15, {"b": 0.5, "share0.25": 0.8, "share0.25-copies": 0.5}, {**dict.fromkeys(arms, 9), "b": 15}
    )
    columns = [script.measure(short, arms, n_boot=200), script.measure(long, arms, n_boot=200)]
    assert [c["epochs"] for c in columns] == [5, 15]
    # the gains the bench report shows between these arms: vs b, and the generated arm vs its copies control
    assert set(columns[1]["gains"]) == {"share0.25 vs b", "share0.25-copies vs b", "share0.25 vs share0.25-copies"}
    clear = columns[1]["gains"]["share0.25 vs b"]  # 0.8 against 0.5 correct answers on every seed
    assert clear["test_images"]["ci_low"] > 0.1 and clear["over_seeds"]["ci_low"] > 0.1
    assert len(clear["over_seeds"]["differences"]) == 3
    text = "\n".join(script.table(columns, arms))
    assert "| 5 epochs | 15 epochs |" in text
    assert "| b: epoch selected on val, per seed | 5, 5, 5 (3 last) | 15, 15, 15 (3 last) |" in text
    assert "| share0.25: epoch selected on val, per seed | 5, 5, 5 (3 last) | 9, 9, 9 (0 last) |" in text
    # val recall of each run at the epoch it selected (epoch / 100 in these runs)
    assert "| b: real-val mean recall at the kept epoch | 0.050 | 0.150 |" in text
    assert "| share0.25: real-val mean recall at the kept epoch | 0.050 | 0.090 |" in text
    kept_last = _bench(tmp_path / "e15last", 15, dict.fromkeys(arms, 0.5), dict.fromkeys(arms, 15), select="last")
    columns.append(script.measure(kept_last, arms, n_boot=50))
    text = "\n".join(script.table(columns, arms))
    assert "| 5 epochs | 15 epochs | 15 epochs, last epoch kept |" in text
    assert "| b: epoch selected on val, per seed | 5, 5, 5 (3 last) | 15, 15, 15 (3 last) | the last, by rule |" in text
    with pytest.raises(SkinaugError, match="arm.*share0.5"):
        script.measure(short, ["b", "share0.5"], n_boot=10)
