"""Validation hold-outs, k-fold and subject-aware splits (ferkit.data.splits)."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.data import load_dataset
from ferkit.data.splits import (
    fold_datasets,
    kfold,
    resolve_validation,
    stratified_holdout,
    subjects,
)
from ferkit.data.synthetic import make_ckplus, make_folder_dataset, make_jaffe
from ferkit.errors import ConfigError, DataError
from ferkit.train import load_train_config


def test_holdout_is_stratified_seeded_and_disjoint():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    keep, held = stratified_holdout(labels, 0.1, seed=3)
    assert np.bincount(labels[held]).tolist() == [5, 3, 2]
    assert len(np.intersect1d(keep, held)) == 0 and len(keep) + len(held) == 100
    again = stratified_holdout(labels, 0.1, seed=3)[1]
    other = stratified_holdout(labels, 0.1, seed=4)[1]
    assert held.tolist() == again.tolist() and held.tolist() != other.tolist()
    # a class with 2 images still puts one on each side; a single image stays in training
    keep, held = stratified_holdout(np.array([0, 0, 1, 2, 2, 2]), 0.1)
    assert sorted(np.array([0, 0, 1, 2, 2, 2])[held].tolist()) == [0, 2]


def test_holdout_by_subject_never_splits_a_person():
    labels = np.tile([0, 1], 20)
    groups = np.repeat([f"S{i}" for i in range(10)], 4)
    keep, held = stratified_holdout(labels, 0.2, seed=0, groups=groups)
    assert len(held) and not set(groups[keep]) & set(groups[held])


def test_kfold_partitions_every_image_once():
    labels = np.repeat([0, 1, 2], 10)
    folds = kfold(labels, 5, seed=0)
    vals = np.concatenate([va for _, va in folds])
    assert len(folds) == 5 and sorted(vals.tolist()) == list(range(30))
    assert all(np.bincount(labels[va]).tolist() == [2, 2, 2] for _, va in folds)
    with pytest.raises(DataError, match="folds"):
        kfold(np.array([0, 1, 0]), 5)


def test_subjects_from_ckplus_and_jaffe_names(tmp_path):
    ck = load_dataset(make_ckplus(tmp_path / "ck", n_per_class=3), progress=False)
    ids = subjects(ck, ck.split("train"))
    assert ids is not None and ids[0].startswith("S0")
    jaffe = load_dataset(make_jaffe(tmp_path / "j", n_per_class=2), progress=False)
    assert set(subjects(jaffe, jaffe.split("train"))) <= {"KA", "KL", "KM", "KR", "MK", "NA",
                                                           "NM", "TM", "UY", "YM"}
    for _, fold, info in fold_datasets(jaffe, 3, seed=0):  # 14 images of 10 posers
        tr, va = (set(subjects(jaffe, fold.split(s))) for s in ("train", "val"))
        assert info["by_subject"] and tr and va and not tr & va
    flat = load_dataset(make_folder_dataset(tmp_path / "f", classes=["a", "b"], n_per_class=3,
                                            flat=True, splits=("train",)), progress=False)
    assert subjects(flat, flat.split("train")) is None


def test_resolve_validation_holds_out_warns_and_rejects_typos(tmp_path):
    root = make_folder_dataset(tmp_path / "f", classes=["pain", "happy"], n_per_class=10,
                               flat=True, splits=("train",))
    ds = load_dataset(root, progress=False)
    val = resolve_validation(ds, "val", 0.1, seed=0)
    assert len(val.dataset.split("val")) == 2 and len(val.dataset.split("train")) == 18
    assert "holding out 2 of 20" in val.note and val.holdout["fraction"] == 0.1
    assert "NO VALIDATION DATA" in resolve_validation(ds, "val", 0.0).warning
    with pytest.raises(DataError, match=r"val_split='vall'.*it has: train"):
        resolve_validation(ds, "vall", 0.1)
    with_val = load_dataset(make_folder_dataset(tmp_path / "v", classes=["a", "b"],
                                                n_per_class=2), progress=False)
    assert resolve_validation(with_val, "val", 0.1).dataset is with_val


def test_fold_datasets_pool_train_and_val_and_keep_test(tmp_path):
    root = make_folder_dataset(tmp_path / "d", classes=["a", "b"], n_per_class=6,
                               splits=("train", "val", "test"))
    ds = load_dataset(root, progress=False)
    folds = list(fold_datasets(ds, 3, seed=0))
    assert [len(f.split("val")) for _, f, _ in folds] == [8, 8, 8]
    assert all(len(f.split("train")) == 16 and len(f.split("test")) == 12 for _, f, _ in folds)


@pytest.mark.parametrize("override", ["data.folds=1", "data.val_fraction=0.95",
                                      "data.val_fraction=-0.1"])
def test_split_config_ranges(override):
    with pytest.raises(ConfigError):
        load_train_config(None, [override])
