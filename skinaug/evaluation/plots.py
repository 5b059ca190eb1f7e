"""The evaluation's pictures: real vs synthetic grids, the inter-class heatmap, a PCA / t-SNE of features,
in-painting strips. Every PNG is written atomically."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ..atomic import write_png
from ..data.decode import decode_image, decode_mask
from ..labels import CLASSES
from ..manifest import Prepared
from ..pictures import labelled_grid, save_figure
from ..synthetic import SyntheticSet

CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def real_vs_synthetic_grid(
    path: str | os.PathLike[str],
    real: np.ndarray,
    real_labels: np.ndarray,
    synthetic: np.ndarray,
    synthetic_labels: np.ndarray,
    per_side: int = 6,
) -> None:
    """Per class: `per_side` real images | a blank | `per_side` synthetic images (uint8 N x H x W x 3 arrays)."""
    blank = np.full_like(real[:1][0] if len(real) else synthetic[0], 255)
    rows = []
    for k, name in enumerate(CLASSES):
        left = list(real[real_labels == k][:per_side])
        right = list(synthetic[synthetic_labels == k][:per_side])
        if not left and not right:
            continue
        left += [blank] * (per_side - len(left))
        rows.append((name, left + [blank] + right))
    header = ["real"] + [""] * per_side + ["synthetic"]
    write_png(path, labelled_grid(rows, tile=64, header=header))


def _short(value: float) -> str:
    """At most 4 characters of digits: 1234, 56.7, 0.12."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2g}"


def interclass_heatmap(path: str | os.PathLike[str], matrices: dict[str, np.ndarray], extractor: str) -> None:
    """One panel per metric: rows = the synthetic images' requested class, columns = real class."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * len(matrices), 4.6), layout="constrained")
    for i, (title, matrix) in enumerate(matrices.items()):
        ax = fig.add_subplot(1, len(matrices), i + 1)
        shown = np.ma.masked_invalid(matrix)
        image = ax.imshow(shown, cmap="viridis_r")
        fig.colorbar(image, ax=ax, shrink=0.8)
        ax.set_xticks(range(len(CLASSES)), CLASSES)
        ax.set_yticks(range(len(CLASSES)), CLASSES)
        ax.set_xlabel("real class (reference images)")
        ax.set_ylabel("synthetic images of requested class")
        ax.set_title(f"{title} ({extractor})", fontsize=10)
        finite = matrix[np.isfinite(matrix)]
        middle = float(np.median(finite)) if finite.size else 0.0
        for r in range(matrix.shape[0]):
            row = matrix[r]
            best = int(np.nanargmin(row)) if np.isfinite(row).any() else -1
            for c in range(matrix.shape[1]):
                if np.isfinite(row[c]):
                    text = _short(row[c]) + ("*" if c == best else "")
                    ax.text(
                        c,
                        r,
                        text,
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color="white" if row[c] < middle else "black",
                    )
    fig.suptitle("Inter-class distances (* = nearest real class in each row; the diagonal should win)", fontsize=10)
    save_figure(fig, path)


def embedding_plot(
    path: str | os.PathLike[str],
    real: np.ndarray,
    real_labels: np.ndarray,
    synthetic: np.ndarray,
    synthetic_labels: np.ndarray,
    extractor: str,
    seed: int = 0,
) -> None:
    """PCA and t-SNE of features: colour = class, circle = real, cross = synthetic (the paper's Fig. 3)."""
    from matplotlib.figure import Figure
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    features = np.concatenate([real, synthetic]).astype(np.float64)
    features = (features - features.mean(0)) / (features.std(0) + 1e-8)
    is_real = np.r_[np.ones(len(real), bool), np.zeros(len(synthetic), bool)]
    labels = np.r_[real_labels, synthetic_labels]
    pca_dims = min(50, features.shape[1], len(features))
    reduced = PCA(n_components=pca_dims, random_state=seed).fit_transform(features)
    perplexity = float(max(2, min(30, (len(features) - 1) // 3)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced)
    fig = Figure(figsize=(11, 5), layout="constrained")
    for i, (title, points) in enumerate((("PCA", reduced[:, :2]), ("t-SNE (on 50 PCA components)", tsne))):
        ax = fig.add_subplot(1, 2, i + 1)
        for k, name in enumerate(CLASSES):
            for real_side, marker, alpha in ((True, "o", 0.55), (False, "x", 0.8)):
                chosen = (labels == k) & (is_real == real_side)
                if chosen.any():
                    ax.scatter(
                        points[chosen, 0],
                        points[chosen, 1],
                        s=14,
                        marker=marker,
                        alpha=alpha,
                        color=CLASS_COLOURS[k],
                        label=f"{name} {'real' if real_side else 'synthetic'}",
                    )
        ax.set_title(f"{title} of {extractor}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.axes[0].legend(fontsize=6.5, ncol=2, loc="best")
    save_figure(fig, path)


def inpainting_strips(
    path: str | os.PathLike[str], syn: SyntheticSet, prepared: Prepared, count: int = 8, tile: int = 64
) -> bool:
    """Rows: source image, its mask, the synthetic image (with its mode and classes). False if the set has no
    source-based (intra/inter) images."""
    rows = syn.manifest[
        syn.manifest["mode"].isin(["intra", "inter", "reconstruct"]) & (syn.manifest["source_image_id"] != "")
    ]
    if rows.empty:
        return False
    sources = prepared.manifest.set_index("image_id")
    chosen = rows.groupby(["mode", "label"], sort=True).head(1).head(count)  # one per mode and class
    strips: list[tuple[str, list[Image.Image]]] = []
    for row in chosen.to_dict("records"):
        source = sources.loc[row["source_image_id"]]
        mask_file = syn.mask_file(row) or prepared.mask_file(source)
        mask = decode_mask(mask_file, tile, tile)
        strips.append(
            (
                f"{row['mode']} {source['label']}>{row['label']}",
                [
                    Image.fromarray(decode_image(prepared.image_file(source), tile)),
                    Image.fromarray((mask * 255).astype(np.uint8)),
                    Image.fromarray(decode_image(syn.image_file(row), tile)),
                ],
            )
        )
    write_png(path, labelled_grid(strips, tile=tile, label_width=110, header=["source", "mask", "result"]))
    return True
