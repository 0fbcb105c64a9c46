"""The synthetic datasets are learnable: a nearest-centroid classifier clearly beats chance."""

from __future__ import annotations

import numpy as np

from ferkit.data import load_dataset
from ferkit.data.synthetic import make_folder_dataset, make_images


def test_patterns_are_learnable(tmp_path):
    root = make_folder_dataset(tmp_path / "s", n_per_class=10, ext=".jpg", seed=3)
    ds = load_dataset(root, progress=False)
    tr, va = ds.split("train"), ds.split("val")
    x_tr = tr.images.reshape(len(tr), -1).astype(np.float32)
    x_va = va.images.reshape(len(va), -1).astype(np.float32)
    # orientation/frequency energy (phase-free): magnitude of the 2-D spectrum
    f_tr = np.abs(np.fft.rfft2(tr.images.astype(np.float32))).reshape(len(tr), -1)
    f_va = np.abs(np.fft.rfft2(va.images.astype(np.float32))).reshape(len(va), -1)
    for a, b in ((x_tr, x_va), (f_tr, f_va)):
        centroids = np.stack([a[tr.labels == k].mean(0) for k in range(7)])
        pred = np.argmin(((b[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
        assert (pred == va.labels).mean() > 0.6  # chance is 1/7


def test_deterministic_and_shapes():
    a = make_images([0, 1, 2], 7, 48, "gray", seed=5)
    b = make_images([0, 1, 2], 7, 48, "gray", seed=5)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.uint8 and a.shape == (3, 48, 48)
    assert make_images([0], 7, (30, 40), "rgb").shape == (1, 30, 40, 3)
