"""Evaluation and training plots: matplotlib with the Agg backend, figures closed after saving.

Each ``plot_*`` writes a PNG atomically and returns its path; nothing is ever shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ferkit.eval.calibration import ReliabilityBins  # noqa: E402
from ferkit.io import atomic_path  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    try:
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path


def plot_confusion(confusion: list[list[int]], labels: list[str], path: str | Path,
                   title: str = "Confusion matrix (row-normalised)") -> Path:
    cm = np.asarray(confusion, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(labels), 0.8 + 0.7 * len(labels)))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{norm[i, j]:.2f}\n{int(cm[i, j])}", ha="center", va="center",
                    fontsize=7, color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)


def plot_per_class(per_class: dict[str, Any], path: str | Path) -> Path:
    labels = list(per_class)
    keys = ("precision", "recall", "f1")
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(1.5 + 0.9 * len(labels), 3.6))
    for i, key in enumerate(keys):
        vals = [_get(per_class[c], key) for c in labels]
        ax.bar(x + (i - 1) * 0.27, vals, width=0.27, label=key)
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_title("Per-class precision / recall / F1")
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


def _get(obj: Any, key: str) -> float:
    return float(obj[key] if isinstance(obj, dict) else getattr(obj, key))


def plot_reliability(bins: ReliabilityBins, path: str | Path, ece: float | None = None) -> Path:
    centers = 0.5 * (bins.edges[1:] + bins.edges[:-1])
    width = bins.edges[1] - bins.edges[0]
    acc = np.nan_to_num(bins.accuracy)
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.bar(centers, acc, width=width * 0.95, edgecolor="k", label="accuracy")
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ece_s = f" (ECE {ece:.3f})" if ece is not None else ""
    ax.set_title(f"Reliability diagram{ece_s}")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def plot_tsne(embedding: np.ndarray, labels: np.ndarray, names: list[str],
              path: str | Path) -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 5.0))
    for k, name in enumerate(names):
        m = labels == k
        if m.any():
            ax.scatter(embedding[m, 0], embedding[m, 1], s=6, label=name, alpha=0.7)
    ax.set_title("t-SNE of forward_features")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, markerscale=2)
    return _save(fig, path)


def plot_learning_curves(history: list[dict[str, Any]], path: str | Path) -> Path:
    """Loss and accuracy per epoch (train and val) and the learning rate."""
    ep = [r["epoch"] for r in history]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for ax, metric in zip(axes[:2], ("loss", "acc"), strict=True):
        for split in ("train", "val"):
            vals = [r.get(f"{split}_{metric}") for r in history]
            if any(v is not None for v in vals):
                ax.plot(ep, [np.nan if v is None else v for v in vals], "o-", label=split)
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    axes[2].plot(ep, [r.get("lr") for r in history], "o-")
    axes[2].set_title("learning rate")
    axes[2].set_xlabel("epoch")
    return _save(fig, path)


def plot_shifts(rows: list[dict[str, Any]], path: str | Path, title: str) -> Path:
    """Accuracy per camera shift (``ferkit.eval.report.shift_table`` rows), the unshifted
    images' as a dashed line when present."""
    names = [r["shift"] for r in rows]
    acc = [100.0 * r["accuracy"] for r in rows]
    fig, ax = plt.subplots(figsize=(1.5 + 0.7 * len(rows), 3.6))
    bars = ax.bar(names, acc, color=["#7a7a7a" if n == "none" else "#3b75af" for n in names])
    for bar, a in zip(bars, acc, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, a + 0.5, f"{a:.1f}", ha="center", fontsize=8)
    base = next((100.0 * r["accuracy"] for r in rows if r["shift"] == "none"), None)
    if base is not None:
        ax.axhline(base, color="#7a7a7a", linestyle="--", linewidth=1)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, min(100.0, max(acc) + 8.0))
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="x", rotation=30)
    return _save(fig, path)
