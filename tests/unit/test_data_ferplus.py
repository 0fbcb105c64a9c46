"""FER+ votes joined to FER2013 (CSV or images): majority and probability label modes."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.data import load_dataset
from ferkit.data.api import detect_format
from ferkit.data.formats.ferplus import label_votes
from ferkit.data.synthetic import make_ferplus
from ferkit.errors import DataError
from ferkit.types import EMOTIONS, EMOTIONS_8


def _votes(**kw):
    cols = (*EMOTIONS_8, "unknown", "nf")
    return np.array([kw.get(c, 0) for c in cols], dtype=float)


def test_label_votes_majority_and_probability():
    dist, _ = label_votes(_votes(happy=6, surprise=3, sad=1), "majority")
    assert dist.argmax() == EMOTIONS_8.index("happy") and dist.max() == 1.0
    dist, _ = label_votes(_votes(happy=6, surprise=3, sad=1), "probability")
    # the single 'sad' vote is an outlier (FER+ reference code): 6/9 happy, 3/9 surprise
    assert dist[EMOTIONS_8.index("happy")] == pytest.approx(6 / 9) and dist.sum() == 1.0
    assert label_votes(_votes(happy=5, sad=5), "majority")[0] is None  # no majority
    assert label_votes(_votes(happy=5, sad=5), "probability")[0] is not None
    assert "not a face" in label_votes(_votes(nf=8, happy=2), "probability")[1]


def test_ferplus_csv_majority(tmp_path):
    root = make_ferplus(tmp_path / "fp", n_per_class=3)
    assert detect_format(root) == "ferplus"
    ds = load_dataset(root, progress=False)
    fer = load_dataset(root / "fer2013.csv", progress=False)
    assert ds.classes == EMOTIONS_8 and list(ds.splits) == ["train", "val"]
    train, fer_train = ds.split("train"), fer.split("train")
    # kept rows keep their FER2013 label (the fixture gives it the majority) and pixels
    rows = [int(p.rsplit(":", 1)[1]) - 2 for p in train.paths]
    assert [EMOTIONS_8[k] for k in train.labels] == [EMOTIONS[k] for k in fer_train.labels[rows]]
    np.testing.assert_array_equal(train.images, fer_train.images[rows])
    assert train.soft is None
    reasons = {r for _, r in ds.skipped}
    assert any("not a face" in r for r in reasons) and any("no image name" in r for r in reasons)
    assert len(train) + len(ds.split("val")) + len(ds.skipped) == 42


def test_ferplus_probability_mode_and_image_join(tmp_path):
    root = make_ferplus(tmp_path / "fp", n_per_class=3)
    probs = load_dataset(root, format="ferplus_probs", progress=False).split("train")
    assert probs.soft.shape == (len(probs), 8)
    np.testing.assert_allclose(probs.soft.sum(1), 1.0, rtol=1e-6)
    assert probs.labels.tolist() == probs.soft.argmax(1).tolist()
    np.testing.assert_allclose(np.unique(probs.soft.max(1).round(2)), [0.6, 0.7], rtol=1e-6)
    imgs = make_ferplus(tmp_path / "img", n_per_class=3, images=True)
    joined = load_dataset(imgs, progress=False)
    csv_joined = load_dataset(root, progress=False)
    np.testing.assert_array_equal(joined.split("val").images, csv_joined.split("val").images)
    assert joined.split("train").paths[0].endswith("FER2013Train/fer0000000.png")


def test_ferplus_row_count_mismatch_is_one_clear_error(tmp_path):
    root = make_ferplus(tmp_path / "fp", n_per_class=2)
    votes = root / "fer2013new.csv"
    votes.write_text("\n".join(votes.read_text().splitlines()[:-3]) + "\n")
    with pytest.raises(DataError, match="row by row"):
        load_dataset(root, progress=False)
