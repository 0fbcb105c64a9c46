"""Pictures of an evolution: the Pareto front, progress per generation, and where it looks.

The attention map is the paper's interpretability claim made visible: the chosen genome's patches
drawn on the average training face, beside a heat map of how often each pixel is covered by the
patches of the front's best genomes (so a user sees which regions the evolution keeps choosing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ferkit.io import atomic_path


def _save(fig, path: Path) -> str:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return str(path)


def plot_front(study, front: list[dict[str, Any]], chosen: dict[str, Any] | None,
               path: Path) -> str:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter([t.values[1] for t in done], [t.values[0] for t in done], s=18, c="#9aa5b1",
               label="evaluated genomes")
    if front:
        ax.plot([r["params"] for r in front], [r["val_acc"] for r in front], "o-", c="#1f6feb",
                label="Pareto front")
    if chosen:
        ax.scatter([chosen["params"]], [chosen["val_acc"]], marker="*", s=220, c="#d1242f",
                   zorder=5, label=f"chosen ({chosen['param_ratio']:.1%} of twin params)")
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters (log)")
    ax.set_ylabel("validation accuracy (short schedule)")
    ax.set_title("Deep evolution: accuracy vs parameters")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_generations(rows: list[dict[str, Any]], path: Path) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    gens = [r["generation"] for r in rows]
    ax.plot(gens, [r["best_val_acc"] for r in rows], "o-", c="#1f6feb", label="best so far")
    ax.plot(gens, [r["gen_best_val_acc"] for r in rows], "s--", c="#8250df",
            label="best of generation")
    ax.set_xlabel("generation")
    ax.set_ylabel("validation accuracy")
    ax2 = ax.twinx()
    ax2.plot(gens, [r["median_params"] for r in rows], "^:", c="#bf8700",
             label="median parameters")
    ax2.set_ylabel("median trainable parameters")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="lower right", fontsize=8)
    ax.set_title("Evolution progress")
    return _save(fig, path)


def average_face(data: str, input_size: int, limit: int = 4000) -> np.ndarray:
    """Mean of up to ``limit`` training images (gray, resized to the model's input)."""
    import cv2

    from ferkit.data import load_dataset

    ds = load_dataset(data, color="gray")
    images = ds.split("train").images[:limit].astype(np.float32)
    mean = images.mean(axis=0)
    if mean.shape[0] != input_size:
        mean = cv2.resize(mean, (input_size, input_size), interpolation=cv2.INTER_AREA)
    return mean


def coverage(patch_sets: list[list[list[float]]], nose: tuple[float, float],
             input_size: int) -> np.ndarray:
    """How many of the genomes' patches cover each pixel, normalised to [0, 1]."""
    heat = np.zeros((input_size, input_size), np.float32)
    for patches in patch_sets:
        for dx, dy, s in patches:
            cx, cy = nose[0] + dx, nose[1] + dy
            x0, x1 = int(max(0, round(cx - s / 2))), int(min(input_size, round(cx + s / 2)))
            y0, y1 = int(max(0, round(cy - s / 2))), int(min(input_size, round(cy + s / 2)))
            heat[y0:y1, x0:x1] += 1
    return heat / heat.max() if heat.max() > 0 else heat


def plot_attention(face: np.ndarray, chosen: dict[str, Any], front: list[dict[str, Any]],
                   nose: tuple[float, float], path: Path, top: int = 8) -> str:
    import matplotlib.patches as mpatches
    import matplotlib.pyplot as plt

    size = face.shape[0]
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 4.4))
    axes[0].imshow(face, cmap="gray", vmin=0, vmax=255)
    colors = ["#d1242f", "#1f6feb", "#1a7f37", "#bf8700", "#8250df", "#cf222e", "#0969da"]
    for i, (dx, dy, s) in enumerate(chosen["patches"]):
        cx, cy = nose[0] + dx, nose[1] + dy
        axes[0].add_patch(mpatches.Rectangle((cx - s / 2 - 0.5, cy - s / 2 - 0.5), s, s,
                                             fill=False, lw=2, ec=colors[i % len(colors)]))
    axes[0].plot([nose[0] - 0.5], [nose[1] - 0.5], "+", c="yellow", ms=12, mew=2)
    axes[0].set_title(f"chosen genome: {len(chosen['patches'])} patches\n"
                      f"val acc {chosen['val_acc']:.3f}, {chosen['params']:,} params")
    best = sorted(front, key=lambda r: -r["val_acc"])[:top]
    heat = coverage([r["patches"] for r in best], nose, size)
    axes[1].imshow(face, cmap="gray", vmin=0, vmax=255)
    axes[1].imshow(heat, cmap="inferno", alpha=0.55, vmin=0, vmax=1)
    axes[1].plot([nose[0] - 0.5], [nose[1] - 0.5], "+", c="cyan", ms=12, mew=2)
    axes[1].set_title(f"patch coverage of the front's best {len(best)} genomes")
    for ax in axes:
        ax.set_xlim(-0.5, size - 0.5)
        ax.set_ylim(size - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Where the evolved models look (average training face, + = nose)")
    return _save(fig, path)


def write_all(study, space, front, chosen, gens, out: Path, data: str) -> dict[str, str]:
    files: dict[str, str] = {}
    if front:
        files["pareto_png"] = plot_front(study, front, chosen, out / "pareto_front.png")
    if gens:
        files["generations_png"] = plot_generations(gens, out / "generations.png")
    if chosen:
        face = average_face(data, space.input_size)
        files["attention_png"] = plot_attention(face, chosen, front, space.nose_xy,
                                                out / "attention_map.png")
    return files
