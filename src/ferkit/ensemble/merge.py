"""Merge trained checkpoints into one runnable ``mean_ensemble`` checkpoint.

``ferkit ensemble`` measures an ensemble; this makes it a model: one ``.safetensors`` file that
``predict``, ``evaluate``, ``serve`` and ``export --format onnx-int8`` take like any other
(``ferkit.models.merged`` explains the network). Only the unweighted mean is merged: it needs no
fitting, so its PublicTest figure is not fitted on the data it is read on, and a user's own
members need no labelled split to be combined.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from ferkit.errors import CheckpointError

#: ModelInfo fields every member must share: they decide the one tensor all members see.
SHARED_FIELDS = ("input_size", "in_chans", "mean", "std", "interpolation", "labels")


def _check_compatible(files: Sequence[Path], metas: Sequence) -> None:
    for f, m in zip(files, metas, strict=True):
        if m.model == "mean_ensemble":
            raise CheckpointError(f"{str(f)!r} is already a merged ensemble; merge its original "
                                  "members instead")
    first, ref = files[0], metas[0]
    for f, m in zip(files[1:], metas[1:], strict=True):
        for name in SHARED_FIELDS:
            a, b = getattr(ref.info, name), getattr(m.info, name)
            if _norm(a) != _norm(b):
                raise CheckpointError(
                    f"{str(f)!r} cannot be merged with {str(first)!r}: its {name} is {_norm(b)!r}, "
                    f"not {_norm(a)!r}; merged members see one input, so they must share input "
                    "size, channels, normalisation and labels (evaluate mixed members with "
                    "'ferkit ensemble' instead)")


def _norm(v):
    return tuple(v) if isinstance(v, (list, tuple)) else v


def check_mergeable(models: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str]
                    ) -> tuple[list[Path], list]:
    """Member files and metadata, after every check that needs no weights (so a CLI can fail
    before a long evaluation): ≥ 2 existing checkpoints, one preprocessing, a new output."""
    from ferkit.checkpoint import read_meta
    from ferkit.ensemble.combine import check_member_paths

    files = check_member_paths(models)
    out = Path(output)
    if out.suffix != ".safetensors":
        raise CheckpointError(f"--save {str(out)!r}: the merged model is a checkpoint, so its "
                              "name must end in .safetensors")
    if any(out.resolve() == f.resolve() for f in files):
        raise CheckpointError(f"--save {str(out)!r} is one of the members; choose a new file name")
    metas = [read_meta(f) for f in files]
    _check_compatible(files, metas)
    return files, metas


def merge_checkpoints(models: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str],
                      *, metrics: dict | None = None) -> Path:
    """Write the mean of ``models`` (checkpoint paths or bundled names) as one checkpoint.

    The members' weights are stored in float32 under ``members.<i>.``; their temperatures go
    into the network (so the merged file's own temperature is 1), and their metrics, data
    fingerprints and commits into ``extra["members"]`` so the file says what it was made of.
    ``metrics`` (e.g. the mean rule's accuracy measured by ``ferkit ensemble``) is stored as the
    merged file's own.
    """
    from ferkit.checkpoint import CheckpointMeta, load_model, save_checkpoint

    files, metas = check_mergeable(models, output)
    out = Path(output)
    state = {}
    for i, f in enumerate(files):
        model, _ = load_model(f)
        state.update({f"members.{i}.{k}": (v.float() if v.is_floating_point() else v)
                      for k, v in model.state_dict().items()})
    specs = [{"model": m.model, "kwargs": dict(m.model_kwargs), "temperature": float(m.temperature),
              "source": f.name} for f, m in zip(files, metas, strict=True)]
    fingerprints = {m.data_fingerprint for m in metas}
    info = dataclasses.replace(
        metas[0].info, name="mean_ensemble",
        reference=f"mean of {len(files)} ferkit models: " + ", ".join(f.name for f in files),
        weights_source="; ".join(dict.fromkeys(m.info.weights_source for m in metas
                                               if m.info.weights_source)),
        weights_licence="; ".join(dict.fromkeys(m.info.weights_licence for m in metas
                                                if m.info.weights_licence)))
    meta = CheckpointMeta(
        model="mean_ensemble", info=info, model_kwargs={"members": specs},
        num_classes=metas[0].num_classes, metrics=dict(metrics or {}),
        data_fingerprint=fingerprints.pop() if len(fingerprints) == 1 else "",
        temperature=1.0,
        extra={"members": [{"source": f.name, "model": m.model, "metrics": m.metrics,
                            "data_fingerprint": m.data_fingerprint, "git_commit": m.git_commit}
                           for f, m in zip(files, metas, strict=True)]})
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(out, state, meta)
