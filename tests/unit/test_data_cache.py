"""The decoded-array cache: hits return identical arrays, changes to the files invalidate it."""

from __future__ import annotations

import os

import numpy as np

from ferkit.data import cache as data_cache
from ferkit.data import load_dataset
from ferkit.data.synthetic import make_fer2013_csv, make_folder_dataset
from ferkit.io import cache_dir


def entries():
    return sorted((cache_dir() / "datasets").glob("*.npz"))


def same(a, b):
    assert a.classes == b.classes and a.fingerprint == b.fingerprint
    assert a.skipped == b.skipped and a.source_sizes == b.source_sizes
    assert list(a.splits) == list(b.splits)
    for s in a.splits:
        np.testing.assert_array_equal(a.split(s).images, b.split(s).images)
        np.testing.assert_array_equal(a.split(s).labels, b.split(s).labels)
        assert a.split(s).paths == b.split(s).paths


def test_cache_hit_identical(tmp_path, monkeypatch):
    root = make_folder_dataset(tmp_path / "fer", n_per_class=2, ext=".jpg")
    (root / "train" / "happy" / "broken.jpg").write_bytes(b"not a jpeg")
    first = load_dataset(root, progress=False)
    before = set(entries())
    # a cache hit must not decode anything
    monkeypatch.setattr("ferkit.data.source.ImageListing.read",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded")))
    second = load_dataset(root, progress=False)
    same(first, second)
    assert set(entries()) == before
    assert any("broken.jpg" in f for f, _ in second.skipped)


def test_cache_disabled_decodes_same(tmp_path):
    root = make_fer2013_csv(tmp_path / "f.csv", n_per_class=2)
    same(load_dataset(root, progress=False), load_dataset(root, cache=False, progress=False))


def test_fingerprint_tracks_content_not_location_or_mtime(tmp_path):
    import shutil

    import cv2

    root = make_folder_dataset(tmp_path / "a", n_per_class=1)
    fp = load_dataset(root, progress=False).fingerprint
    moved = tmp_path / "b"
    os.rename(root, moved)
    assert load_dataset(moved, progress=False).fingerprint == fp
    copy = tmp_path / "c"
    shutil.copytree(moved, copy)  # new mtimes (a re-materialised dataset): same data
    os.utime(next((copy / "train" / "sad").iterdir()), (1, 1))
    assert load_dataset(copy, progress=False).fingerprint == fp
    victim = next((moved / "train" / "sad").iterdir())
    image = cv2.imread(str(victim), cv2.IMREAD_GRAYSCALE)
    image[0, 0] = 255 - image[0, 0]
    cv2.imwrite(str(victim), image)  # one pixel changes
    changed = load_dataset(moved, progress=False)
    assert changed.fingerprint != fp
    (moved / "train" / "sad" / "extra.png").write_bytes(victim.read_bytes())
    assert load_dataset(moved, progress=False).fingerprint not in (fp, changed.fingerprint)
    assert load_dataset(copy, progress=False, cache=False).fingerprint == fp


def test_color_and_size_have_separate_entries(tmp_path):
    root = make_folder_dataset(tmp_path / "a", n_per_class=1)
    gray = load_dataset(root, progress=False)
    rgb = load_dataset(root, color="rgb", progress=False)
    small = load_dataset(root, size=24, progress=False)
    assert gray.split("train").images.ndim == 3 and rgb.split("train").images.ndim == 4
    assert small.image_size == (24, 24)


def test_corrupt_cache_entry_is_rebuilt(tmp_path):
    root = make_folder_dataset(tmp_path / "a", n_per_class=1)
    first = load_dataset(root, progress=False)
    for entry in entries():
        entry.write_bytes(b"garbage")
    assert data_cache.load(entries()[0]) is None
    same(first, load_dataset(root, progress=False))
    assert not list((cache_dir() / "datasets").glob("*.tmp"))
