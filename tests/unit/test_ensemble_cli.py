"""``ferkit ensemble``: members from real checkpoints, label mapping by name, and bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ferkit.checkpoint import CheckpointMeta, save_checkpoint
from ferkit.data.synthetic import make_folder_dataset
from ferkit.ensemble.combine import member_probabilities
from ferkit.models import create_model
from ferkit.types import EMOTIONS, EMOTIONS_8


def _save(path: Path, model, kwargs, *, labels=EMOTIONS, temperature=1.0) -> Path:
    info = dataclasses.replace(model.ferkit_info, labels=tuple(labels))
    meta = CheckpointMeta(model="tinycnn_test", info=info, model_kwargs=kwargs,
                          num_classes=len(labels), temperature=temperature)
    return save_checkpoint(path, model.state_dict(), meta)


@pytest.fixture(scope="module")
def members(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("members")
    torch.manual_seed(0)
    a = create_model("tinycnn_test", input_size=24)
    b = create_model("tinycnn_test", input_size=16)
    # a's weights with the label order reversed (classifier rows reversed to match)
    rev = create_model("tinycnn_test", input_size=24)
    state = {k: v.clone() for k, v in a.state_dict().items()}
    state["classifier.weight"] = state["classifier.weight"].flip(0)
    state["classifier.bias"] = state["classifier.bias"].flip(0)
    rev.load_state_dict(state)
    eight = create_model("tinycnn_test", num_classes=8, input_size=16)
    return {
        "a": _save(d / "a.safetensors", a, {"input_size": 24}, temperature=1.3),
        "b": _save(d / "b.safetensors", b, {"input_size": 16}),
        "rev": _save(d / "rev.safetensors", rev, {"input_size": 24},
                     labels=tuple(reversed(EMOTIONS)), temperature=1.3),
        "eight": _save(d / "eight.safetensors", eight, {"input_size": 16}, labels=EMOTIONS_8),
    }


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("d") / "fer", n_per_class=4, seed=2)


def test_members_with_other_label_order_are_mapped_by_name(members, data):
    mp = member_probabilities([members["a"], members["rev"]], str(data), "val")
    assert mp.label_names == EMOTIONS and mp.probs.shape == (2, 28, 7)
    np.testing.assert_allclose(mp.probs[0], mp.probs[1], atol=1e-6)
    assert mp.members[0].accuracy == mp.members[1].accuracy
    np.testing.assert_array_equal(np.bincount(mp.labels), [4] * 7)


def test_cli_writes_report_and_confusion_png(cli, members, data, tmp_path):
    out = tmp_path / "ens"
    code, stdout, err = cli("ensemble", "--model", members["a"], "--model", members["b"],
                            "--model", members["rev"], "--data", data, "--output", out)
    assert code == 0, err
    rep = json.loads((out / "ensemble.json").read_text())
    assert [m["method"] for m in rep["methods"]] == ["mean", "vote", "accuracy", "expo", "class"]
    assert [m["input_size"] for m in rep["members"]] == [24, 16, 24]
    assert rep["num_samples"] == 28 and rep["split"] == "val" and rep["n_folds"] == 2
    best = max(rep["methods"], key=lambda m: m["accuracy"])
    assert rep["best_method"] == best["method"]
    assert (out / "confusion_matrix.png").stat().st_size > 1000
    # macro-F1 is the rule's own: recomputed here from its confusion matrix
    for m in rep["methods"] + rep["members"]:
        assert 0.0 <= m["macro_f1"] <= 1.0
    cm = np.asarray(rep["methods"][0]["confusion_matrix"], dtype=float)
    f1 = 2 * np.diag(cm) / np.maximum(cm.sum(0) + cm.sum(1), 1)
    assert rep["methods"][0]["macro_f1"] == pytest.approx(f1.mean())
    assert stdout.count("member tinycnn_test") == 3 and "method expo: accuracy" in stdout
    assert "macro-F1" in stdout
    assert "cross-fitted on 2 folds" in stdout and "(no fitting)" in stdout


def test_cli_json_is_only_json_and_single_method(cli, members, data):
    code, stdout, err = cli("ensemble", "-m", members["a"], "-m", members["b"], "-d", data,
                            "--method", "vote", "--json")
    assert code == 0, err
    rep = json.loads(stdout)
    assert [m["method"] for m in rep["methods"]] == ["vote"]
    assert rep["methods"][0]["cross_fitted"] is False


def _one_line(code: int, err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err
    return lines[0]


def test_fewer_than_two_models(cli, members, data):
    line = _one_line(*cli("ensemble", "--model", members["a"], "--data", data)[::2])
    assert "at least 2 models" in line


def test_unknown_method(cli, members, data):
    line = _one_line(*cli("ensemble", "-m", members["a"], "-m", members["b"], "-d", data,
                          "--method", "avg")[::2])
    assert "unknown ensemble method 'avg'" in line


def test_missing_model_file(cli, members, data, tmp_path):
    line = _one_line(*cli("ensemble", "-m", members["a"], "-m", tmp_path / "nope.safetensors",
                          "-d", data)[::2])
    assert "nope.safetensors" in line and "not found" in line


def test_members_with_different_label_sets_are_refused(cli, members, data):
    line = _one_line(*cli("ensemble", "-m", members["a"], "-m", members["eight"], "-d",
                          data)[::2])
    assert "contempt" in line and "same label set" in line
