"""Every dataset format on its synthetic fixture: counts, canonical labels, splits, detection."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.data import DATASETS, detect_format, load_dataset
from ferkit.data.synthetic import (
    make_ckplus,
    make_fer2013_csv,
    make_folder_dataset,
    make_images,
    make_jaffe,
    make_rafdb,
    write_image,
)
from ferkit.errors import DataError, UnknownNameError
from ferkit.types import EMOTIONS, EMOTIONS_8

#: a distinct count per class, so a wrong label mapping cannot give the right counts
COUNTS = [1, 2, 3, 4, 5, 6, 7]


def counts(ds, split):
    return ds.split(split).class_counts(len(ds.classes)).tolist()


def load(path, **kw):
    return load_dataset(path, progress=False, **kw)


def test_registry_has_all_formats():
    assert set(DATASETS.names()) == {"fer2013_csv", "fer2013_folder", "image_folder", "rafdb",
                                     "ckplus", "jaffe", "ferplus", "ferplus_probs"}


def test_fer2013_folder_splits(tmp_path):
    root = make_folder_dataset(tmp_path / "fer", n_per_class=COUNTS, splits=("train", "val"))
    ds = load(root)
    assert ds.format == "fer2013_folder" and ds.classes == EMOTIONS
    assert counts(ds, "train") == COUNTS and counts(ds, "val") == COUNTS
    assert ds.split("train").images.shape == (28, 48, 48)
    assert ds.split("train").images.dtype == np.uint8
    assert ds.split("train").labels.dtype == np.int64
    assert ds.source_sizes == {"48x48": 56}


@pytest.mark.parametrize("names,expected", [
    (("Training", "PublicTest", "PrivateTest"), ["train", "val", "test"]),
    (("train", "validation", "test"), ["train", "val", "test"]),
])
def test_fer2013_folder_split_names(tmp_path, names, expected):
    root = make_folder_dataset(tmp_path / "fer", n_per_class=1, splits=names)
    assert list(load(root).splits) == expected


def test_fer2013_flat_prefixes(tmp_path):
    root = make_folder_dataset(tmp_path / "flat", n_per_class=COUNTS, flat=True,
                               prefix_style="fer2013", splits=("train", "val", "test"))
    assert detect_format(root) == "fer2013_folder"
    ds = load(root)
    assert {s: counts(ds, s) for s in ds.splits} == {s: COUNTS for s in ("train", "val", "test")}
    assert all("PublicTest_" in p for p in ds.split("val").paths)


def test_image_folder_synonyms_single_split(tmp_path):
    names = ["Anger", "DISGUSTED", "fearful", "Happiness", "sadness", "Surprised", "neutrality"]
    root = make_folder_dataset(tmp_path / "syn", classes=names, n_per_class=COUNTS,
                               splits=("train",), flat=True)
    assert detect_format(root) == "image_folder"
    ds = load(root)
    assert list(ds.splits) == ["train"] and counts(ds, "train") == COUNTS


def test_image_folder_classes_are_the_emotions_present_in_canonical_order(tmp_path):
    root = make_folder_dataset(tmp_path / "c", classes=["happy", "Contemptuous"],
                               n_per_class=[2, 3], flat=True, splits=("train",))
    ds = load(root)
    assert ds.classes == ("happy", "contempt") and counts(ds, "train") == [2, 3]
    four = make_folder_dataset(tmp_path / "4", classes=["neutral", "Sadness", "happy", "surprise"],
                               n_per_class=1, splits=("train", "val"))
    assert load(four).classes == ("happy", "sad", "surprise", "neutral")


def test_image_folder_any_folder_name_is_a_class(tmp_path):
    root = make_folder_dataset(tmp_path / "x", classes=["pain", "happy"], n_per_class=[3, 2],
                               splits=("train", "val"))
    assert detect_format(root) == "image_folder"
    ds = load(root)
    assert ds.classes == ("happy", "pain") and counts(ds, "train") == [2, 3]
    assert not ds.skipped
    odd = make_folder_dataset(tmp_path / "y", classes=["bored", "Excited"], n_per_class=1,
                              flat=True, splits=("train",))
    assert load(odd).classes == ("Excited", "bored")


def test_fer2013_csv(tmp_path):
    ds = load(make_fer2013_csv(tmp_path / "fer.csv", n_per_class=COUNTS))
    assert ds.format == "fer2013_csv" and list(ds.splits) == ["train", "val", "test"]
    assert all(counts(ds, s) == COUNTS for s in ds.splits)
    assert ds.split("val").paths[0].endswith(".csv:30")  # header + 28 Training rows + 1


def test_fer2013_csv_gz_equals_plain(tmp_path):
    plain = load(make_fer2013_csv(tmp_path / "a.csv", n_per_class=2))
    gz = load(make_fer2013_csv(tmp_path / "b.csv.gz", n_per_class=2, gz=True))
    assert gz.format == "fer2013_csv"
    for s in plain.splits:
        np.testing.assert_array_equal(plain.split(s).images, gz.split(s).images)
        np.testing.assert_array_equal(plain.split(s).labels, gz.split(s).labels)


def test_fer2013_csv_without_usage_is_train(tmp_path):
    path = tmp_path / "nousage.csv"
    pixels = " ".join(["7"] * 2304)
    path.write_text(f"emotion,pixels\n3,{pixels}\n0,{pixels}\n")
    ds = load(path)
    assert list(ds.splits) == ["train"] and ds.split("train").labels.tolist() == [3, 0]


def test_rafdb_labels_remapped(tmp_path):
    ds = load(make_rafdb(tmp_path / "raf", n_per_class=COUNTS))
    assert ds.format == "rafdb" and list(ds.splits) == ["train", "test"]
    assert counts(ds, "train") == COUNTS and counts(ds, "test") == COUNTS
    assert ds.split("train").images.shape[1:] == (100, 100)


def test_rafdb_list_in_root_and_missing_image(tmp_path):
    root = make_rafdb(tmp_path / "raf", n_per_class=1, list_in_root=True)
    (root / "Image" / "aligned" / "test_00001_aligned.jpg").unlink()
    ds = load(root)
    assert len(ds.split("test")) == 6
    assert any("test_00001" in f and "missing" in r for f, r in ds.skipped)


def test_rafdb_bad_label_line(tmp_path):
    root = make_rafdb(tmp_path / "raf", n_per_class=1)
    lst = root / "EmoLabel" / "list_patition_label.txt"
    lst.write_text(lst.read_text() + "train_09999.jpg 9\n")
    with pytest.raises(DataError, match="line 15"):
        load(root)


def test_ckplus(tmp_path):
    ds = load(make_ckplus(tmp_path / "ck", n_per_class=COUNTS))
    assert ds.format == "ckplus" and list(ds.splits) == ["train"]
    # CK+48 has no neutral: its classes are the other seven, in canonical order
    assert ds.classes == tuple(c for c in EMOTIONS_8 if c != "neutral")
    assert counts(ds, "train") == [1, 2, 3, 4, 5, 6, 7]


def test_jaffe(tmp_path):
    root = make_jaffe(tmp_path / "jaffe", n_per_class=COUNTS)
    write_image(root / "README.tiff", make_images([0], 7, 64)[0])
    ds = load(root)
    assert ds.format == "jaffe" and list(ds.splits) == ["train"]
    assert counts(ds, "train") == COUNTS
    assert any("README" in f for f, _ in ds.skipped)


def test_mixed_sizes_resized_to_most_common(tmp_path):
    root = make_folder_dataset(tmp_path / "m", classes=["happy"], n_per_class=3, size=48,
                               splits=("train",))
    write_image(root / "train" / "happy" / "big.png", make_images([0], 1, 96)[0])
    ds = load(root)
    assert ds.image_size == (48, 48) and ds.source_sizes == {"48x48": 3, "96x96": 1}
    assert load(root, size=32).split("train").images.shape == (4, 32, 32)
    assert load(root, size=(40, 30)).image_size == (40, 30)


def test_rgb_and_gray(tmp_path):
    root = make_folder_dataset(tmp_path / "rgb", n_per_class=1, color="rgb", ext=".jpg")
    rgb = load(root, color="rgb")
    gray = load(root, color="gray")
    assert rgb.split("train").images.shape == (7, 48, 48, 3)
    assert gray.split("train").images.shape == (7, 48, 48)
    import cv2

    expect = cv2.cvtColor(rgb.split("train").images[0], cv2.COLOR_RGB2GRAY)
    np.testing.assert_array_equal(gray.split("train").images[0], expect)


def test_explicit_format_and_unknown_name(tmp_path):
    root = make_folder_dataset(tmp_path / "fer", n_per_class=1)
    assert load(root, format="image_folder").format == "image_folder"
    with pytest.raises(UnknownNameError, match="did you mean 'image_folder'"):
        load(root, format="image_foldr")


@pytest.mark.parametrize("maker,expected", [
    (lambda p: make_fer2013_csv(p / "f.csv", n_per_class=1), "fer2013_csv"),
    (lambda p: make_folder_dataset(p / "d", n_per_class=1), "fer2013_folder"),
    (lambda p: make_folder_dataset(p / "d", classes=["anger", "joy"], n_per_class=1,
                                   flat=True), "image_folder"),
    (lambda p: make_rafdb(p / "d", n_per_class=1), "rafdb"),
    (lambda p: make_ckplus(p / "d", n_per_class=1), "ckplus"),
    (lambda p: make_jaffe(p / "d", n_per_class=1), "jaffe"),
])
def test_auto_detection(tmp_path, maker, expected):
    assert detect_format(maker(tmp_path)) == expected
