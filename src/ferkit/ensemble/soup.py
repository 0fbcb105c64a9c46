"""Model soups: one network whose weights are the (weighted) average of several fine-tunes.

Why: fine-tunes that share a starting point usually stay in one basin of the loss, so averaging
their weights behaves much like an ensemble of them at the cost of ONE model (Wortsman et al.
2022, "Model soups"; averaging a fine-tune with its own start is their WiSE-FT). It is the way an
ensemble's gain reaches a model that must stay a single network for speed, such as the bundled
default. Networks trained from different starts do not average (their units are permuted): that
is what ``ferkit ensemble`` is for.

The checks here are structural: the same registered network and arguments, tensors, labels and
preprocessing. Whether the ingredients share a start cannot be read from the files; ``ferkit
evaluate`` on the soup tells (a soup of unrelated networks scores near chance).

BatchNorm running statistics are averaged like the weights. In an exploratory probe on the issue
#11 Lite1 soup, recomputing them on the training images afterwards scored lower on PublicTest
than the averaged ones, so no re-estimation pass is offered. Measured soups:
``benchmarks/bench_soup.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ferkit.errors import CheckpointError, ConfigError


@dataclass
class SoupResult:
    """What ``make_soup`` wrote."""

    path: Path
    model: str
    ingredients: list[str]
    weights: list[float]  # normalised to sum 1
    tensors: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "model": self.model, "ingredients": self.ingredients,
                "weights": self.weights, "tensors": self.tensors}


def _weights(n: int, weights: list[float] | None) -> list[float]:
    if n < 2:
        raise ConfigError(f"a soup needs at least 2 checkpoints, got {n}")
    if weights is None:
        return [1.0 / n] * n
    if len(weights) != n:
        raise ConfigError(f"--weight: got {len(weights)} weights for {n} checkpoints; give one "
                          "per checkpoint, or none for a uniform soup")
    if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise ConfigError(f"--weight: weights must be finite, >= 0 and not all 0, got {weights}")
    total = sum(weights)
    return [w / total for w in weights]


def _same(what: str, first: Path, other: Path, a: Any, b: Any) -> None:
    if a != b:
        raise CheckpointError(f"{str(other)!r} cannot join a soup with {str(first)!r}: {what} "
                              f"differ ({b!r} vs {a!r}); a soup averages fine-tunes of one "
                              "network with the same labels and preprocessing")


def _tensor_mismatch(ref: dict[str, tuple[int, ...]], state: dict[str, torch.Tensor]) -> str:
    """'' when ``state`` has exactly the tensor names and shapes ``ref``, else the first
    difference."""
    for key in sorted(set(ref) | set(state)):
        if key not in state or key not in ref:
            return f"tensor {key!r} is only in {'the first' if key in ref else 'this one'}"
        if ref[key] != tuple(state[key].shape):
            return f"tensor {key!r} has shape {tuple(state[key].shape)} vs {ref[key]}"
    return ""


def soup_state(checkpoints: list[str], weights: list[float] | None = None):
    """(state dict, metas, normalised weights, files) of the weighted average of
    ``checkpoints`` (paths or bundled names). Floating tensors are summed in float32 one
    ingredient at a time, so only the running sum and one ingredient are in memory."""
    from ferkit.bundled import resolve_model
    from ferkit.checkpoint import load_checkpoint

    w = _weights(len(checkpoints), weights)
    files = [Path(resolve_model(c, "torch")) for c in checkpoints]
    ref, ref_meta = load_checkpoint(files[0])
    soup = {k: v.float() * w[0] if v.is_floating_point() else v.clone() for k, v in ref.items()}
    shapes = {k: tuple(v.shape) for k, v in ref.items()}
    del ref
    metas = [ref_meta]
    for file, wi in zip(files[1:], w[1:], strict=True):
        state, meta = load_checkpoint(file)
        first = files[0]
        _same("network", first, file, ref_meta.model, meta.model)
        _same("network arguments", first, file, ref_meta.model_kwargs, meta.model_kwargs)
        _same("labels", first, file, tuple(ref_meta.labels), tuple(meta.labels))
        _same("preprocessing", first, file, ref_meta.info.to_dict(), meta.info.to_dict())
        mismatch = _tensor_mismatch(shapes, state)
        if mismatch:
            raise CheckpointError(f"{str(file)!r} cannot join a soup with {str(first)!r}: "
                                  f"{mismatch}; a soup averages fine-tunes of one network")
        for key, value in state.items():  # integer buffers (num_batches_tracked): the first's
            if value.is_floating_point():
                soup[key] += value.float() * wi
        metas.append(meta)
    return soup, metas, w, files


def make_soup(checkpoints: list[str], output: str | Path,
              weights: list[float] | None = None) -> SoupResult:
    """Write the soup of ``checkpoints`` to ``output`` (.safetensors, atomically). Its metadata
    is the first ingredient's minus that run's metrics and history (the soup is not measured
    yet: ``ferkit evaluate`` it), with the temperature the weighted mean of the ingredients' and
    the ingredients (file, sha256, weight, and each one's seed, final metrics and epoch count, so
    the soup keeps its provenance) under ``extra['soup']``."""
    import dataclasses

    from ferkit.checkpoint import save_checkpoint, without_storage_notes
    from ferkit.io import file_sha256

    out = Path(output)
    if out.suffix != ".safetensors":
        raise ConfigError(f"--output {str(out)!r}: a soup is a checkpoint; give a path ending "
                          "in .safetensors")
    state, metas, w, files = soup_state(checkpoints, weights)
    fingerprints = {m.data_fingerprint for m in metas}
    ingredients = [{"file": str(c), "sha256": file_sha256(f), "weight": wi, "seed": m.seed,
                    "metrics": dict(m.metrics), "epochs": len(m.history)}
                   for c, f, wi, m in zip(checkpoints, files, w, metas, strict=True)]
    meta = dataclasses.replace(
        metas[0], metrics={}, history=[], seed=None, git_commit="",
        temperature=float(sum(m.temperature * wi for m, wi in zip(metas, w, strict=True))),
        data_fingerprint=metas[0].data_fingerprint if len(fingerprints) == 1 else "",
        extra={**without_storage_notes(metas[0].extra), "soup": ingredients})
    out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, state, meta)
    return SoupResult(out, meta.model, [str(c) for c in checkpoints], w, len(state))
