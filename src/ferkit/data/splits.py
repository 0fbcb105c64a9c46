"""Validation hold-outs and k-fold splits: stratified, seeded, and by subject where known.

A dataset without a validation split (a flat folder of your own, CK+, JAFFE) would otherwise
train blind: no model selection, no early stopping, no temperature calibration. ``holdout``
carves a stratified fraction of the training split out instead, and ``kfold`` gives the folds
of a cross-validation. Where a format knows who is in each image (CK+ ``S005_001_…`` and JAFFE
``KA.AN1.39`` file names, see ``subject`` in the format registry), splits keep each subject on
one side, so a model is never validated on a person it was trained on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ferkit.data.base import Dataset, SplitArrays
from ferkit.errors import DataError


def take(split: SplitArrays, idx: np.ndarray) -> SplitArrays:
    """Rows ``idx`` of a split (images, labels, paths and soft targets alike)."""
    idx = np.asarray(idx, dtype=np.int64)
    paths = [split.paths[i] for i in idx] if split.paths else []
    soft = None if split.soft is None else split.soft[idx]
    return SplitArrays(split.images[idx], split.labels[idx], paths, soft)


def concat(a: SplitArrays, b: SplitArrays) -> SplitArrays:
    soft = (None if a.soft is None or b.soft is None
            else np.concatenate([a.soft, b.soft]))
    return SplitArrays(np.concatenate([a.images, b.images]),
                       np.concatenate([a.labels, b.labels]), list(a.paths) + list(b.paths), soft)


def subjects(dataset: Dataset, split: SplitArrays) -> np.ndarray | None:
    """Subject id per row when the dataset's format knows them for every row, else None."""
    from ferkit.data.formats import DATASETS

    if dataset.format not in DATASETS or not split.paths:
        return None
    subject_of = DATASETS.get(dataset.format).subject
    if subject_of is None:
        return None
    ids = [subject_of(p) for p in split.paths]
    if any(s is None for s in ids) or len(set(ids)) < 2:
        return None
    return np.array(ids)


def stratified_holdout(labels: np.ndarray, fraction: float, seed: int = 0,
                       groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(keep, held) index arrays: about ``fraction`` of every class held out, seeded.

    With ``groups``, whole groups (subjects) are held out (sklearn ``StratifiedGroupKFold``'s
    first fold of ``round(1/fraction)``), so the fraction is approximate.
    """
    labels = np.asarray(labels)
    if not 0.0 < fraction < 1.0:
        raise DataError(f"a validation fraction must be in (0, 1), got {fraction}")
    if groups is not None:
        n_groups = len(np.unique(groups))
        k = min(max(2, round(1.0 / fraction)), n_groups)
        if k >= 2:
            keep, held = _group_folds(labels, groups, k, seed)[0]
            return np.sort(keep), np.sort(held)
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        n = int(round(len(idx) * fraction))
        if len(idx) >= 2:
            n = min(max(n, 1), len(idx) - 1)  # every class seen on both sides when it can be
        held.append(idx[:n])
    out = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    keep = np.setdiff1d(np.arange(len(labels)), out)
    return keep, out


def kfold(labels: np.ndarray, k: int, seed: int = 0,
          groups: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` stratified (train, val) index pairs, shuffled with ``seed``; by group if given."""
    labels = np.asarray(labels)
    if k < 2:
        raise DataError(f"k-fold cross-validation needs data.folds >= 2, got {k}")
    if len(labels) < k:
        raise DataError(f"{len(labels)} images cannot be split into {k} folds; lower data.folds")
    if groups is not None and len(np.unique(groups)) >= k:
        return _group_folds(labels, groups, k, seed)
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(labels)
    if counts[counts > 0].max() < k:
        raise DataError(f"no class has {k} images, so {k} stratified folds are impossible; "
                        "lower data.folds")
    import warnings

    with warnings.catch_warnings():  # a class rarer than k: sklearn warns, the folds are fine
        warnings.simplefilter("ignore", UserWarning)
        skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        return [(tr, va) for tr, va in skf.split(np.zeros(len(labels)), labels)]


def _group_folds(labels: np.ndarray, groups: np.ndarray, k: int,
                 seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    import warnings

    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    x = np.zeros(len(labels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            sgkf = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
            return [(tr, va) for tr, va in sgkf.split(x, labels, groups)]
        except ValueError:  # every class rarer than k: group folds without stratification
            return [(tr, va) for tr, va in GroupKFold(n_splits=k).split(x, labels, groups)]


@dataclass
class Validation:
    """The dataset training sees (maybe with a held-out val split) and what to tell the user."""

    dataset: Dataset
    note: str = ""  # info: how validation data was obtained
    warning: str = ""  # loud: training runs without validation data
    holdout: dict | None = None  # recorded in the checkpoint when a hold-out was made


def resolve_validation(dataset: Dataset, val_split: str = "val", val_fraction: float = 0.1,
                       seed: int = 0, train_on: str = "train") -> Validation:
    """Use ``val_split`` if the data has it; else hold ``val_fraction`` of train out.

    An explicitly named split (anything but the default 'val') that does not exist is an error
    listing the splits there are: a typo must not silently train without validation.
    """
    if val_split in dataset.splits:
        return Validation(dataset)
    have = ", ".join(dataset.splits) or "none"
    if val_split != "val":
        raise DataError(f"data.val_split={val_split!r}: dataset {str(dataset.root)!r} has no such "
                        f"split; it has: {have}")
    if train_on != "train":
        return Validation(dataset)
    if val_fraction <= 0:
        return Validation(dataset, warning=(
            f"NO VALIDATION DATA: {str(dataset.root)!r} has no {val_split!r} split (it has: "
            f"{have}) and data.val_fraction=0, so the best epoch is picked by training loss and "
            "the model is not calibrated; add a val/ folder next to train/, or set "
            "data.val_fraction=0.1"))
    train = dataset.split("train")
    groups = subjects(dataset, train)
    keep, held = stratified_holdout(train.labels, val_fraction, seed, groups)
    if len(held) == 0 or len(keep) == 0:
        return Validation(dataset, warning=(
            f"NO VALIDATION DATA: {len(train)} training images are too few to hold "
            f"{val_fraction:.0%} out; add a val/ folder next to train/"))
    splits = dict(dataset.splits)
    splits["train"], splits[val_split] = take(train, keep), take(train, held)
    by = ", whole subjects" if groups is not None else ""
    note = (f"no {val_split!r} split in {str(dataset.root)!r}: holding out {len(held)} of "
            f"{len(train)} training images ({val_fraction:.0%}, stratified{by}, seed {seed}) "
            "for validation and calibration")
    holdout = {"fraction": val_fraction, "seed": seed, "n": int(len(held)),
               "by_subject": groups is not None}
    return Validation(dataclasses.replace(dataset, splits=splits), note, "", holdout)


def fold_datasets(dataset: Dataset, k: int, seed: int = 0,
                  val_split: str = "val") -> Iterator[tuple[int, Dataset, dict]]:
    """(fold index, dataset with train/val of that fold, fold info) for k-fold CV.

    The pool is the training split plus the validation split if there is one; a test split is
    left untouched for a final, separate evaluation.
    """
    pool = dataset.split("train")
    if val_split in dataset.splits:
        pool = concat(pool, dataset.split(val_split))
    groups = subjects(dataset, pool)
    folds = kfold(pool.labels, k, seed, groups)
    for i, (tr, va) in enumerate(folds):
        splits = {n: s for n, s in dataset.splits.items() if n not in ("train", val_split)}
        splits = {"train": take(pool, tr), val_split: take(pool, va), **splits}
        info = {"fold": i, "folds": k, "seed": seed, "n_train": int(len(tr)),
                "n_val": int(len(va)), "by_subject": groups is not None}
        yield i, dataclasses.replace(dataset, splits=splits), info
