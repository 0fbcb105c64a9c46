"""Cross-dataset evaluation: unknown classes, label maps, splits, --detect, several datasets."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from ferkit.data.synthetic import make_ckplus, make_folder_dataset
from ferkit.errors import ConfigError, DataError
from ferkit.eval import evaluate
from ferkit.eval.crossdata import match_labels


def test_match_labels_drop_error_and_map():
    data = ("happy", "contempt", "glee")
    model = ("angry", "happy", "sad")
    labels = np.array([0, 1, 1, 2, 0])
    with pytest.raises(DataError, match="--unknown-classes drop"):
        match_labels(data, model, labels, "d")
    m = match_labels(data, model, labels, "d", "drop")
    assert m.y.tolist() == [1, 1] and m.dropped == {"contempt": 2, "glee": 1}
    m = match_labels(data, model, labels, "d", "drop", {"glee": "sad"})
    assert m.y.tolist() == [1, 2, 1] and m.dropped == {"contempt": 2}
    with pytest.raises(ConfigError, match="no label 'joyful'"):
        match_labels(data, model, labels, "d", "drop", {"glee": "joyful"})


def test_ckplus_contempt_dropped_and_counted(tiny_checkpoint, tmp_path):
    root = make_ckplus(tmp_path / "ck", n_per_class=[1, 2, 3, 4, 5, 6, 7])
    with pytest.raises(DataError, match="contempt"):
        evaluate(tiny_checkpoint, root, progress=False)
    rep = evaluate(tiny_checkpoint, root, unknown_classes="drop", progress=False)
    assert rep.split == "train" and rep.dropped == {"contempt": 7} and rep.num_samples == 21
    assert rep.absent_classes == ["neutral"]


def test_unknown_split_lists_the_splits(tiny_checkpoint, tmp_path):
    root = make_folder_dataset(tmp_path / "d", classes=["happy", "sad"], n_per_class=2)
    with pytest.raises(DataError, match="it has: train, val"):
        evaluate(tiny_checkpoint, root, split="tset", progress=False)


def _photo(path, face: bool, rng):
    img = np.zeros((96, 96, 3), np.uint8)
    if face:
        y, x = rng.integers(5, 50, 2)
        img[y:y + 40, x:x + 40] = rng.integers(140, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)


def test_detect_mode_scores_like_the_pipeline(tiny_checkpoint, tmp_path, blob_detector):
    from ferkit.inference.pipeline import Pipeline

    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    faces = {"happy": [1, 1, 1, 0], "sad": [1, 1, 0, 0]}
    for cls, flags in faces.items():
        for i, f in enumerate(flags):
            _photo(root / cls / f"{i}.png", bool(f), rng)
    rep = evaluate(tiny_checkpoint, root, detect=blob_detector, progress=False,
                   output=tmp_path / "ev")
    assert (tmp_path / "ev" / "confusion_matrix.png").is_file()
    assert rep.detector == blob_detector and rep.faces_not_found == {"happy": 1, "sad": 2}
    pipe = Pipeline(tiny_checkpoint, detector=blob_detector)
    correct = 0
    for cls in faces:
        for r in pipe.predict_paths(sorted((root / cls).iterdir())):
            if r.faces:
                correct += max(r.faces, key=lambda f: f.bbox.area).label == cls
    assert rep.accuracy == pytest.approx(correct / 8)
    assert sum(map(sum, rep.confusion_matrix)) == 5  # the found faces


def test_cli_several_datasets_one_table(cli, tiny_checkpoint, tmp_path):
    a = make_folder_dataset(tmp_path / "a", classes=["happy", "sad"], n_per_class=2)
    b = make_ckplus(tmp_path / "b", n_per_class=1)
    code, out, err = cli("evaluate", "--model", tiny_checkpoint, "--data", a, "--data", b,
                         "--unknown-classes", "drop")
    assert code == 0, err
    assert "cross-dataset evaluation" in out and "ckplus" in out and "contempt 1" in err
    code, out, _ = cli("evaluate", "--model", tiny_checkpoint, "--data", a, "--data", b,
                       "--unknown-classes", "drop", "--json")
    reports = json.loads(out)["reports"]
    assert [r["split"] for r in reports] == ["val", "train"] and reports[1]["dropped"] == {
        "contempt": 1}
