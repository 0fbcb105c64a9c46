"""Conversions: CSV → folder → CSV is pixel-exact; outputs are atomic and never overwrite."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.data import load_dataset
from ferkit.data.convert import convert_dataset
from ferkit.data.synthetic import make_fer2013_csv, make_folder_dataset, make_rafdb
from ferkit.errors import DataError, UnknownNameError


def arrays(ds):
    """Per split, images/labels sorted by content: conversions may reorder rows."""
    out = {}
    for name, split in ds.splits.items():
        flat = split.images.reshape(len(split), -1)
        key = np.lexsort(np.c_[flat, split.labels].T[::-1])
        out[name] = (split.images[key], split.labels[key])
    return out


def assert_same(a, b):
    assert a.keys() == b.keys()
    for s in a:
        np.testing.assert_array_equal(a[s][0], b[s][0])
        np.testing.assert_array_equal(a[s][1], b[s][1])


def test_csv_folder_csv_roundtrip_exact(tmp_path):
    src = make_fer2013_csv(tmp_path / "src.csv", n_per_class=3)
    folder = tmp_path / "folder"
    back = tmp_path / "back.csv"
    r1 = convert_dataset(src, "folder", folder, progress=False)
    r2 = convert_dataset(folder, "csv", back, progress=False)
    assert r1.counts == r2.counts == {"train": 21, "val": 21, "test": 21}
    assert sorted(p.name for p in folder.iterdir()) == ["test", "train", "val"]
    assert next((folder / "val" / "happy").iterdir()).name.startswith("PublicTest_")
    original, via_folder, via_csv = (load_dataset(p, progress=False) for p in (src, folder, back))
    assert via_folder.format == "fer2013_folder"
    assert_same(arrays(original), arrays(via_folder))
    assert_same(arrays(original), arrays(via_csv))
    assert back.read_text().splitlines()[0] == "emotion,pixels,Usage"


def test_folder_csv_folder_keeps_order(tmp_path):
    src = make_folder_dataset(tmp_path / "src", n_per_class=2, splits=("train", "val", "test"))
    csv_path = tmp_path / "out.csv.gz"
    convert_dataset(src, "csv", csv_path, progress=False)
    a, b = load_dataset(src, progress=False), load_dataset(csv_path, progress=False)
    for s in a.splits:  # folder order (split, class, name) is kept row by row
        np.testing.assert_array_equal(a.split(s).images, b.split(s).images)
        np.testing.assert_array_equal(a.split(s).labels, b.split(s).labels)


def test_rgb_folder_conversion(tmp_path):
    src = make_rafdb(tmp_path / "raf", n_per_class=1, size=40)
    out = tmp_path / "rgb"
    convert_dataset(src, "folder", out, color="rgb", progress=False)
    a, b = load_dataset(src, color="rgb", progress=False), load_dataset(out, color="rgb",
                                                                        progress=False)
    assert_same(arrays(a), arrays(b))


def test_refuses_non_empty_destination_unless_forced(tmp_path):
    src = make_fer2013_csv(tmp_path / "src.csv", n_per_class=1)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="--force"):
        convert_dataset(src, "folder", dest, progress=False)
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]
    convert_dataset(src, "folder", dest, force=True, progress=False)
    assert sorted(p.name for p in dest.iterdir()) == ["test", "train", "val"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_empty_destination_folder_is_fine(tmp_path):
    src = make_fer2013_csv(tmp_path / "src.csv", n_per_class=1)
    (tmp_path / "dest").mkdir()
    convert_dataset(src, "folder", tmp_path / "dest", progress=False)
    assert (tmp_path / "dest" / "train").is_dir()


def test_output_inside_source_and_unknown_target(tmp_path):
    src = make_folder_dataset(tmp_path / "src", n_per_class=1)
    with pytest.raises(DataError, match="overlaps"):
        convert_dataset(src, "csv", src / "x.csv", progress=False)
    with pytest.raises(UnknownNameError, match="did you mean 'csv'"):
        convert_dataset(src, "cvs", tmp_path / "x.csv", progress=False)
