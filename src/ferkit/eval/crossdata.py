"""Cross-dataset evaluation: matching label sets, picking a split, evaluating through faces.

A model trained on one dataset meets another with other names (``joy`` for ``happy``), extra
classes (CK+'s contempt for a 7-class FER2013 model) or full photos instead of face crops.
``match_labels`` maps data classes onto model labels by name (plus a user ``label_map``), and
drops or refuses classes the model lacks, counting every dropped image per class;
``detect_probabilities`` runs the data through the same face ``Pipeline`` as ``ferkit predict``,
so a full-frame dataset scores what prediction would give, with faces not found as errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ferkit.errors import ConfigError, DataError

UNKNOWN_CLASS_MODES = ("error", "drop")
#: the order ``pick_split`` tries when no split is named
SPLIT_PREFERENCE = ("val", "test", "train")


@dataclass
class LabelMatch:
    """Data labels as model label indices for the kept rows."""

    y: np.ndarray  # (n_kept,) model label indices
    keep: np.ndarray  # (N,) bool: rows whose class the model knows
    dropped: dict[str, int] = field(default_factory=dict)  # data class → images dropped
    mapping: dict[str, str] = field(default_factory=dict)  # data class → model label used


def parse_label_map(items: list[str] | dict[str, str] | None) -> dict[str, str]:
    """``["joy=happy", "pain=sad"]`` (or a dict) → ``{"joy": "happy", "pain": "sad"}``."""
    if not items:
        return {}
    if isinstance(items, dict):
        return {str(k): str(v) for k, v in items.items()}
    out = {}
    for item in items:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise ConfigError(f"--map {item!r} is not DATA_CLASS=MODEL_LABEL (example: "
                              "--map joy=happy)")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def match_labels(data_classes: tuple[str, ...], model_labels: tuple[str, ...],
                 labels: np.ndarray, where: str, unknown: str = "error",
                 label_map: dict[str, str] | None = None) -> LabelMatch:
    """Map data label indices to model label indices by name (``label_map`` first).

    ``unknown='error'`` refuses data classes the model does not know; ``'drop'`` excludes their
    images and counts them in ``dropped``.
    """
    if unknown not in UNKNOWN_CLASS_MODES:
        raise ConfigError(f"--unknown-classes must be one of {', '.join(UNKNOWN_CLASS_MODES)}, "
                          f"got {unknown!r}")
    label_map = dict(label_map or {})
    for src, dst in label_map.items():
        if src not in data_classes:
            raise ConfigError(f"--map {src}={dst}: {where} has no class {src!r} (its classes: "
                              f"{', '.join(data_classes)})")
        if dst not in model_labels:
            raise ConfigError(f"--map {src}={dst}: the model has no label {dst!r} (its labels: "
                              f"{', '.join(model_labels)})")
    names = [label_map.get(c, c) for c in data_classes]
    lut = np.array([model_labels.index(n) if n in model_labels else -1 for n in names],
                   dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    mapped = lut[labels] if len(labels) else np.zeros(0, np.int64)
    keep = mapped >= 0
    present = np.unique(labels[~keep]) if (~keep).any() else []
    if len(present) and unknown == "error":
        unknown_names = ", ".join(repr(data_classes[i]) for i in present)
        raise DataError(f"{where} has class(es) {unknown_names} that the model does not know "
                        f"(model labels: {', '.join(model_labels)}); pass --unknown-classes drop "
                        "to leave those images out, or --map DATA_CLASS=MODEL_LABEL")
    dropped = {data_classes[i]: int((labels == i).sum()) for i in present}
    mapping = {c: n for c, n, i in zip(data_classes, names, lut, strict=True) if i >= 0}
    return LabelMatch(mapped[keep], keep, dropped, mapping)


def pick_split(dataset: Any, split: str | None) -> str:
    """``split`` if given (an unknown name is an error listing the splits); else the first of
    val, test, train the dataset has."""
    if split is not None:
        dataset.split(split)  # raises, listing the splits there are
        return split
    for name in SPLIT_PREFERENCE:
        if name in dataset.splits:
            return name
    return next(iter(dataset.splits))


@dataclass
class DetectResult:
    """Per-image outcome of classifying through the face pipeline."""

    probs: np.ndarray  # (N, K) model-label probabilities; rows of images without a face: 0
    found: np.ndarray  # (N,) bool: a face was found and classified
    detector: str


def detect_probabilities(model: Any, paths: list[str], detector: str, *,
                         flip: bool = False, progress=None) -> DetectResult:
    """Each image → the largest detected face's probabilities, exactly as ``ferkit predict``
    would compute them (same Pipeline, backend and crop); no face → ``found`` False."""
    from ferkit.inference.pipeline import Pipeline

    bad = next((p for p in paths if not Path(p).is_file()), None)
    if bad is not None:
        raise ConfigError(f"--detect needs a dataset of image files, but a sample comes from "
                          f"{bad!r} (a CSV row?); evaluate it without --detect")
    pipe = Pipeline(model, detector=detector, flip_tta=flip)
    k = len(pipe.labels)
    probs = np.zeros((len(paths), k), dtype=np.float64)
    found = np.zeros(len(paths), dtype=bool)
    for i, result in enumerate(pipe.predict_paths(paths)):
        if result.faces:
            face = max(result.faces, key=lambda f: f.bbox.area)
            probs[i] = [face.probs[name] for name in pipe.labels]
            found[i] = True
        if progress is not None:
            progress(1)
    return DetectResult(probs, found, detector)


def cross_table(reports: list[Any]) -> list[dict[str, Any]]:
    """One row per evaluated dataset: what ``ferkit evaluate --data A --data B`` prints."""
    rows = []
    for r in reports:
        rows.append({"data": r.data, "format": r.data_format, "split": r.split,
                     "n": r.num_samples, "accuracy": r.accuracy, "macro_f1": r.macro_f1,
                     "balanced_accuracy": r.balanced_accuracy,
                     "dropped": sum(r.dropped.values()),
                     "faces_not_found": sum(r.faces_not_found.values())})
    return rows
