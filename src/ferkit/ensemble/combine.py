"""Ensembles of ferkit checkpoints: combination rules, honest (cross-fitted) evaluation.

Members give class probabilities p_i(c|x) (softmax of their logits at their calibrated
temperature). A rule in ``COMBINERS`` turns the stack (M, N, C) into scores (N, C) whose argmax
is the ensemble's decision (methods.md §7). Weighted rules are *fitted* on labelled probabilities
and then *applied* to others; when the only labelled held-out split is also the one reported on,
``cross_fit`` fits on one stratified half and predicts the other (and vice versa), so no
prediction comes from weights that saw its own label.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ferkit.errors import CheckpointError, ConfigError
from ferkit.registry import Registry
from ferkit.seed import seed_everything

#: q grid of the exponentially weighted rule (q = 0 is the simple average)
EXPO_Q_GRID = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
#: what ``--method all`` runs, in report order
ALL_METHODS = ("mean", "vote", "accuracy", "expo", "class")


@dataclass(frozen=True)
class FittedCombiner:
    """A rule with its fitted parameters: ``weights`` (M,) or (M, C), ``q`` for ``expo``."""

    method: str
    weights: np.ndarray | None = None
    q: float | None = None

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """(M, N, C) member probabilities → (N, C) ensemble scores (rows sum to 1)."""
        probs = _check_stack(probs)
        scores = COMBINERS.get(self.method).apply(self, probs)
        return scores / np.clip(scores.sum(axis=1, keepdims=True), 1e-12, None)

    def predict(self, probs: np.ndarray) -> np.ndarray:
        return self.apply(probs).argmax(axis=1)

    def to_dict(self) -> dict[str, Any]:
        w = None if self.weights is None else np.round(self.weights, 6).tolist()
        return {"method": self.method, "weights": w, "q": self.q}


@dataclass(frozen=True)
class Rule:
    """A registered combination rule: ``fit(probs, labels) → FittedCombiner`` and ``apply``."""

    name: str
    apply: Callable[[FittedCombiner, np.ndarray], np.ndarray]
    fit: Callable[[np.ndarray, np.ndarray], FittedCombiner] | None = None  # None: unfitted

    @property
    def needs_fit(self) -> bool:
        return self.fit is not None


COMBINERS: Registry[Rule] = Registry("ensemble method")


def _check_stack(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3:
        raise ConfigError(f"ensemble probabilities must be (members, samples, classes), got shape "
                          f"{probs.shape}")
    return probs


def member_accuracies(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return (probs.argmax(axis=2) == np.asarray(labels)[None, :]).mean(axis=1)


def _weighted(fc: FittedCombiner, probs: np.ndarray) -> np.ndarray:
    w = np.asarray(fc.weights, dtype=np.float64)
    return np.einsum("m,mnc->nc", w, probs) if w.ndim == 1 else np.einsum("mc,mnc->nc", w, probs)


def _vote(fc: FittedCombiner, probs: np.ndarray) -> np.ndarray:
    """Plurality of argmax; summed probabilities (scaled below one vote) break ties."""
    m, _, c = probs.shape
    counts = np.eye(c)[probs.argmax(axis=2)].sum(axis=0)
    return counts + probs.sum(axis=0) / (m + 1)


def _expo_weights(acc: np.ndarray, q: float) -> np.ndarray:
    z = q * (acc - acc.max())
    w = np.exp(z)
    return w / w.sum()


def _fit_accuracy(probs: np.ndarray, labels: np.ndarray) -> FittedCombiner:
    acc = member_accuracies(probs, labels)
    w = acc / acc.sum() if acc.sum() > 0 else np.full(len(acc), 1 / len(acc))
    return FittedCombiner("accuracy", w)


def _fit_expo(probs: np.ndarray, labels: np.ndarray) -> FittedCombiner:
    """w ∝ exp(q·a_i) with q the grid value of best fitting accuracy (ties: smallest q)."""
    acc = member_accuracies(probs, labels)
    best, best_acc = FittedCombiner("expo", _expo_weights(acc, 0.0), 0.0), -1.0
    for q in EXPO_Q_GRID:
        fc = FittedCombiner("expo", _expo_weights(acc, q), q)
        a = float((fc.predict(probs) == labels).mean())
        if a > best_acc:
            best, best_acc = fc, a
    return best


def _fit_class(probs: np.ndarray, labels: np.ndarray) -> FittedCombiner:
    """w_{i,c} ∝ member i's recall on class c (uniform where no member recalls c)."""
    m, _, c = probs.shape
    pred = probs.argmax(axis=2)
    recall = np.zeros((m, c))
    for k in range(c):
        mask = labels == k
        if mask.any():
            recall[:, k] = (pred[:, mask] == k).mean(axis=1)
    total = recall.sum(axis=0, keepdims=True)
    w = np.where(total > 0, recall / np.where(total > 0, total, 1), 1 / m)
    return FittedCombiner("class", w)


COMBINERS.add("mean", Rule("mean", lambda fc, p: p.mean(axis=0)))
COMBINERS.add("vote", Rule("vote", _vote))
COMBINERS.add("accuracy", Rule("accuracy", _weighted, _fit_accuracy))
COMBINERS.add("expo", Rule("expo", _weighted, _fit_expo))
COMBINERS.add("class", Rule("class", _weighted, _fit_class))


def fit_combiner(method: str, probs: np.ndarray, labels: np.ndarray) -> FittedCombiner:
    """Fit ``method`` on labelled member probabilities (unfitted rules just return the rule)."""
    rule = COMBINERS.get(method)
    probs = _check_stack(probs)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (probs.shape[1],):
        raise ConfigError(f"{len(labels)} labels for {probs.shape[1]} samples")
    return rule.fit(probs, labels) if rule.fit else FittedCombiner(method)


def stratified_folds(labels: np.ndarray, n_folds: int = 2, seed: int = 0) -> list[np.ndarray]:
    """Indices split into ``n_folds`` folds with every class spread evenly (seeded)."""
    rng = seed_everything(seed)
    fold_of = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        fold_of[idx] = (np.arange(len(idx)) + offset) % n_folds
        offset += len(idx)  # alternate which fold gets a class's odd sample
    return [np.flatnonzero(fold_of == f) for f in range(n_folds)]


def cross_fit(method: str, probs: np.ndarray, labels: np.ndarray, *, n_folds: int = 2,
              seed: int = 0) -> np.ndarray:
    """Out-of-fold ensemble scores (N, C): each fold is scored by a combiner fitted on the rest."""
    probs = _check_stack(probs)
    labels = np.asarray(labels, dtype=np.int64)
    if n_folds < 2:
        raise ConfigError(f"cross-fitting needs at least 2 folds, got n_folds={n_folds}")
    if not COMBINERS.get(method).needs_fit:
        return FittedCombiner(method).apply(probs)
    out = np.zeros(probs.shape[1:])
    folds = stratified_folds(labels, n_folds, seed)
    for f, test in enumerate(folds):
        train = np.concatenate([g for i, g in enumerate(folds) if i != f])
        out[test] = fit_combiner(method, probs[:, train], labels[train]).apply(probs[:, test])
    return out


def resolve_methods(method: str | Sequence[str]) -> list[str]:
    """'all' → every rule; otherwise each name checked against the registry."""
    names = [method] if isinstance(method, str) else list(method)
    if names == ["all"]:
        return list(ALL_METHODS)
    for name in names:
        COMBINERS.get(name)
    return names


@dataclass
class MemberResult:
    checkpoint: str
    model: str
    input_size: int
    accuracy: float
    name: str = ""  # as given: a bundled model name (default, fast) or the checkpoint path
    macro_f1: float = float("nan")


@dataclass
class MethodResult:
    method: str
    accuracy: float
    cross_fitted: bool
    fitted_on_all: dict[str, Any]  # the combiner fitted on the whole split (for inspection)
    confusion_matrix: list[list[int]]
    macro_f1: float = float("nan")


@dataclass
class EnsembleReport:
    data: str
    split: str
    num_samples: int
    labels: list[str]
    seed: int
    n_folds: int
    members: list[MemberResult]
    methods: list[MethodResult]
    best_method: str
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ferkit.io import to_jsonable

        return to_jsonable(dataclasses.asdict(self))


def score_methods(probs: np.ndarray, labels: np.ndarray, methods: Sequence[str], *,
                  label_names: Sequence[str], seed: int = 0, n_folds: int = 2
                  ) -> list[MethodResult]:
    """Accuracy of each rule on (probs, labels): cross-fitted where the rule is fitted."""
    from ferkit.eval.metrics import compute_metrics

    results = []
    for name in methods:
        pred = cross_fit(name, probs, labels, n_folds=n_folds, seed=seed).argmax(axis=1)
        m = compute_metrics(labels, pred, tuple(label_names))
        results.append(MethodResult(name, m.accuracy, COMBINERS.get(name).needs_fit,
                                    fit_combiner(name, probs, labels).to_dict(), m.confusion,
                                    m.macro_f1))
    return results


def check_member_paths(paths: Sequence[str | os.PathLike[str]], min_members: int = 2
                       ) -> list[Path]:
    """At least two existing checkpoint files (bundled names resolved), checked before any
    work."""
    from ferkit.bundled import resolve_model

    if len(paths) < min_members:
        raise ConfigError(f"an ensemble needs at least 2 models (--model A --model B), got "
                          f"{len(paths)}")
    out = [resolve_model(str(p), "torch") for p in paths]
    for p in out:
        if not p.is_file():
            raise CheckpointError(f"model file {str(p)!r} not found; pass a ferkit .safetensors "
                                  "checkpoint (e.g. runs/<run>/best.safetensors) or a bundled "
                                  "model name (default, fast)")
    return out


@dataclass
class MemberProbs:
    """Members' probabilities on one split, columns in the first member's label order."""

    probs: np.ndarray  # (M, N, C)
    labels: np.ndarray  # (N,) true classes as indices into ``label_names``
    label_names: tuple[str, ...]
    members: list[MemberResult]
    data: str
    split: str = "val"


def member_probabilities(paths: Sequence[str | os.PathLike[str]], data: str,
                         split: str | None = None,
                         *, tta: str = "none", batch_size: int = 256,
                         data_format: str | None = None,
                         log: Callable[[str], None] | None = None,
                         min_members: int = 2) -> MemberProbs:
    """Each checkpoint's softmax(logits / T) on ``split`` (None: val, else test, else train),
    mapped to one label order by name."""
    from ferkit.checkpoint import load_model, read_meta
    from ferkit.ensemble.tta import get_tta, predict_logits
    from ferkit.eval.crossdata import pick_split
    from ferkit.eval.metrics import compute_metrics
    from ferkit.eval.report import data_color, map_labels
    from ferkit.probability import softmax

    get_tta(tta)
    files = check_member_paths(paths, min_members)
    metas = [read_meta(p) for p in files]
    ref = tuple(metas[0].info.labels)
    for p, meta in zip(files, metas, strict=True):
        if set(meta.info.labels) != set(ref):
            raise ConfigError(f"model {str(p)!r} has labels {', '.join(meta.info.labels)} but "
                              f"{str(files[0])!r} has {', '.join(ref)}; ensemble members need "
                              "the same label set")
    datasets: dict[str, Any] = {}
    probs, members, y = [], [], None
    for given, p, meta in zip(paths, files, metas, strict=True):
        dataset, arrays = _load_split(datasets, data, split, data_color(meta), data_format)
        split = pick_split(dataset, split)
        where = f"dataset {str(dataset.root)!r} split {split!r}"
        y = map_labels(tuple(dataset.classes), ref, arrays.labels, where)
        model, meta = load_model(p)
        logits = predict_logits(model, arrays.images, meta.info, tta, batch_size=batch_size)
        order = [list(meta.info.labels).index(c) for c in ref]
        pr = softmax(logits, float(meta.temperature or 1.0))[:, order]
        probs.append(pr)
        m = compute_metrics(y, pr.argmax(axis=1), ref)
        members.append(MemberResult(str(p), meta.model, int(meta.info.input_size), m.accuracy,
                                    str(given), m.macro_f1))
        if log:
            log(f"predicted {split} with {given} ({meta.model})")
    return MemberProbs(np.stack(probs), np.asarray(y), ref, members, str(data), str(split))


def _load_split(cache: dict[str, Any], data: str, split: str | None, color: str,
                fmt: str | None):
    from ferkit.data import load_dataset
    from ferkit.eval.crossdata import pick_split

    if color not in cache:
        cache[color] = load_dataset(data, format=fmt, color=color)
    return cache[color], cache[color].split(pick_split(cache[color], split))


def evaluate_ensemble(models: Sequence[str | os.PathLike[str]], data: str,
                      split: str | None = None,
                      method: str | Sequence[str] = "all", *,
                      output: str | os.PathLike[str] | None = None, tta: str = "none",
                      seed: int = 0, n_folds: int = 2, batch_size: int = 256,
                      data_format: str | None = None,
                      log: Callable[[str], None] | None = None) -> EnsembleReport:
    """Members' and rules' accuracy on ``split``; with ``output``, ensemble.json + a confusion
    matrix PNG of the best rule."""
    methods = resolve_methods(method)  # unknown names fail before any model is run
    mp = member_probabilities(models, data, split, tta=tta, batch_size=batch_size,
                              data_format=data_format, log=log)
    results = score_methods(mp.probs, mp.labels, methods, label_names=mp.label_names, seed=seed,
                            n_folds=n_folds)
    best = max(results, key=lambda r: r.accuracy)
    report = EnsembleReport(mp.data, mp.split, int(len(mp.labels)), list(mp.label_names), seed,
                            n_folds, mp.members, results, best.method)
    if output is not None:
        from ferkit.eval.plots import plot_confusion
        from ferkit.io import atomic_write_json

        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        png = plot_confusion(best.confusion_matrix, list(mp.label_names),
                             out / "confusion_matrix.png",
                             title=f"Ensemble '{best.method}' (row-normalised)")
        report.files = {"report": str(out / "ensemble.json"), "confusion_matrix_png": str(png)}
        atomic_write_json(out / "ensemble.json", report.to_dict())
    return report
