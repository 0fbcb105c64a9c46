"""Camera shifts (``ferkit evaluate --shift``): deterministic, shape-keeping, each doing what its
name says, and the CLI table, files and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ferkit.data.synthetic import make_folder_dataset, make_images
from ferkit.errors import ConfigError, UnknownNameError
from ferkit.eval import evaluate
from ferkit.eval.shifts import ALL, SHIFTS, apply_shift, parse_shifts


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return np.asarray(make_images(list(range(7)) * 2, 7, 48, "gray", 3), np.uint8)


@pytest.mark.parametrize("name", ["none", *ALL])
def test_every_shift_keeps_shape_and_dtype_and_is_deterministic(name, faces):
    rgb = np.repeat(faces[..., None], 3, axis=-1)
    for images in (faces, rgb):
        a, b = apply_shift(name, images, seed=1), apply_shift(name, images, seed=1)
        assert a.shape == images.shape and a.dtype == np.uint8
        np.testing.assert_array_equal(a, b)
        if name == "none":
            assert a is images
        else:
            assert np.abs(a.astype(int) - images).mean() > 0.5, name  # really changed
    assert SHIFTS.meta(name)["what"]


def test_each_shift_changes_what_its_name_says(faces):
    f = faces.astype(np.float64)
    assert apply_shift("dark", faces).mean() < f.mean() - 10
    assert apply_shift("bright", faces).mean() > f.mean() + 10
    std = lambda x: x.reshape(len(x), -1).std(axis=1).mean()  # noqa: E731
    assert std(apply_shift("contrast", faces)) == pytest.approx(0.5 * std(f), rel=0.05)
    detail = lambda x: np.abs(np.diff(x.astype(np.float64), axis=2)).mean()  # noqa: E731
    for smoothing in ("blur", "lowres"):
        assert detail(apply_shift(smoothing, faces)) < 0.8 * detail(faces), smoothing
    assert detail(apply_shift("noise", faces)) > detail(faces)
    # another seed, another box; a box keeps most of the face's brightness
    assert not np.array_equal(apply_shift("box", faces, 1), apply_shift("box", faces, 2))
    assert abs(apply_shift("box", faces).mean() - f.mean()) < 10
    assert apply_shift("blur", faces[:0]).shape == (0, 48, 48)


def test_parse_shifts_and_bad_input():
    assert parse_shifts(["all"]) == list(ALL)
    assert parse_shifts(["blur,none", "blur", " jpeg "]) == ["blur", "none", "jpeg"]
    with pytest.raises(UnknownNameError, match="did you mean 'blur'"):
        parse_shifts(["blurr"])
    with pytest.raises(ConfigError, match="at least one"):
        parse_shifts([","])
    with pytest.raises(ConfigError, match="uint8"):
        apply_shift("blur", np.zeros((2, 8, 8), np.float32))


@pytest.fixture(scope="module")
def ckpt(tiny_checkpoint) -> Path:
    return tiny_checkpoint


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("d") / "fer", n_per_class=4, seed=2)


def test_shift_none_is_the_plain_evaluation(ckpt, data):
    plain = evaluate(ckpt, data, "val", progress=False)
    none = evaluate(ckpt, data, "val", progress=False, shift="none")
    blur = evaluate(ckpt, data, "val", progress=False, shift="blur")
    assert none.confusion_matrix == plain.confusion_matrix and none.shift == "none"
    assert blur.shift == "blur" and blur.to_dict()["shift"] == "blur"


def test_cli_shift_table_files_and_errors(cli, ckpt, data, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = cli("evaluate", "--model", ckpt, "--data", data, "--split", "val",
                            "--shift", "blur,jpeg", "--output", out)
    assert code == 0, err
    assert "[val, tta=none" in stdout  # the title's brackets are not eaten as markup
    for name in ("none", "blur", "jpeg"):  # none is always the baseline row
        assert f"│ {name}" in stdout
        rep = json.loads((out / f"shift-{name}" / "report.json").read_text())
        assert rep["shift"] == name
    doc = json.loads((out / "shifts.json").read_text())
    assert [r["shift"] for r in doc["rows"]] == ["none", "blur", "jpeg"]
    assert doc["rows"][0]["delta"] == 0.0
    assert (out / "shifts.png").stat().st_size > 1000 and "mean over 2 shift(s)" in stdout

    code, stdout, _ = cli("evaluate", "--model", ckpt, "--data", data, "--shift", "noise",
                          "--json")
    assert code == 0 and [r["shift"] for r in json.loads(stdout)["rows"]] == ["none", "noise"]
    code, _, err = cli("evaluate", "--model", ckpt, "--data", data, "--shift", "blurr")
    assert code == 1 and "did you mean 'blur'" in err and "Traceback" not in err
    code, _, err = cli("evaluate", "--model", ckpt, "--data", data, "--shift", "blur",
                       "--detect", "haar")
    assert code == 1 and "--detect" in err and "Traceback" not in err
