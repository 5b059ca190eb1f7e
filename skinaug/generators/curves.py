"""Training curves of a generator folder (tokenizer_log.csv, transformer_log.csv) as one PNG."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..pictures import save_figure


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() and path.stat().st_size else None


def plot_generator_curves(generator_dir: str | os.PathLike[str], path: str | os.PathLike[str]) -> bool:
    """Tokenizer loss and PSNR (train, val), transformer loss and token accuracy (train, val); False if no logs."""
    from matplotlib.figure import Figure

    folder = Path(generator_dir)
    tokenizer, transformer = _read(folder / "tokenizer_log.csv"), _read(folder / "transformer_log.csv")
    if tokenizer is None and transformer is None:
        return False
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    panels = [
        (tokenizer, "tokenizer loss", [("loss", "train")]),
        (tokenizer, "tokenizer PSNR (dB)", [("psnr", "train batch"), ("val_psnr", "val")]),
        (transformer, "transformer cross-entropy", [("loss", "train"), ("val_loss", "val")]),
        (transformer, "transformer token accuracy", [("accuracy", "train"), ("val_accuracy", "val")]),
    ]
    for i, (log, title, series) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        if log is None:
            ax.text(0.5, 0.5, "not trained", ha="center", va="center", transform=ax.transAxes)
            continue
        for column, label in series:
            if column in log.columns and log[column].notna().any():
                rows = log[log[column].notna()]
                marker = "o" if label == "val" else None
                values = rows[column] if label == "val" else rows[column].rolling(10, min_periods=1).mean()
                ax.plot(rows["step"], values, marker=marker, markersize=3, label=label)
        ax.legend(fontsize=8)
    save_figure(fig, path)
    return True
