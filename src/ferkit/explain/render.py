"""Pictures of an ``Explanation``: the heatmap blended on the crop, and a PNG panel per face."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ferkit.explain.gradcam import Explanation


def as_rgb(crop: np.ndarray) -> np.ndarray:
    """uint8 (H, W) gray or (H, W, 3) RGB → (H, W, 3) RGB."""
    crop = np.asarray(crop)
    if crop.ndim == 2:
        return np.repeat(crop[..., None], 3, axis=2)
    if crop.shape[-1] == 1:
        return np.repeat(crop, 3, axis=2)
    return crop


def overlay(crop: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """JET-coloured heatmap blended onto the crop, RGB uint8 with the crop's H×W."""
    import cv2

    base = as_rgb(crop)
    heat = np.clip(heatmap * 255.0 + 0.5, 0, 255).astype(np.uint8)
    colour = cv2.cvtColor(cv2.applyColorMap(heat, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(colour, alpha, base, 1.0 - alpha, 0.0)


def save_panel(expl: Explanation, path: str | os.PathLike[str], title: str = "") -> Path:
    """Write crop | overlay | probability bars as one PNG (atomically); return the path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ferkit.io import atomic_path

    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.4),
                             gridspec_kw={"width_ratios": [1, 1, 1.3]})
    try:
        axes[0].imshow(as_rgb(expl.crop))
        axes[0].set_title("face", fontsize=9)
        axes[1].imshow(overlay(expl.crop, expl.heatmap))
        axes[1].set_title(f"{expl.method}: {expl.target}", fontsize=9)
        for ax in axes[:2]:
            ax.axis("off")
        _bars(axes[2], expl)
        fig.suptitle(title or f"{expl.label} ({expl.confidence:.0%})", fontsize=10)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(fig)
    return Path(path)


def _bars(ax, expl: Explanation) -> None:
    y = np.arange(len(expl.labels))
    top = int(np.argmax(expl.probs))
    colours = ["tab:orange" if i == top else "tab:blue" for i in y]
    ax.barh(y, expl.probs, color=colours)
    ax.set_yticks(y, labels=list(expl.labels), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability", fontsize=8)
    for i, p in enumerate(expl.probs):
        ax.text(min(float(p) + 0.02, 0.85), i, f"{float(p):.2f}", va="center", fontsize=7)
