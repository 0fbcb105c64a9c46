"""``ferkit evaluate``: reports with TTA, cross-dataset label mapping, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ferkit.checkpoint import CheckpointMeta, save_checkpoint
from ferkit.data.synthetic import make_folder_dataset
from ferkit.eval import evaluate
from ferkit.models import create_model
from ferkit.types import EMOTIONS


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = create_model("tinycnn_test", input_size=24)
    path = tmp_path_factory.mktemp("ckpt") / "m.safetensors"
    meta = CheckpointMeta(model="tinycnn_test", info=model.ferkit_info,
                          model_kwargs={"input_size": 24}, temperature=1.5)
    return save_checkpoint(path, model.state_dict(), meta)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("d") / "fer", n_per_class=3, seed=1)


def test_flip_and_tencrop_give_different_valid_reports(cli, ckpt, data, tmp_path):
    reports = {}
    for tta in ("flip", "tencrop"):
        out = tmp_path / tta
        code, stdout, err = cli("evaluate", "--model", ckpt, "--data", data, "--split", "val",
                                "--tta", tta, "--output", out)
        assert code == 0, err
        rep = json.loads((out / "report.json").read_text())
        reports[tta] = rep
        assert rep["tta"] == tta and rep["num_samples"] == 21 and rep["schema_version"] == 1
        assert sum(map(sum, rep["confusion_matrix"])) == 21
        assert 0 <= rep["accuracy"] <= 1 and rep["temperature"] == 1.5
        for name in ("confusion_matrix.png", "confusion_matrix.json", "per_class.png",
                     "reliability.png"):
            assert (out / name).is_file()
        assert f"tta={tta}" in stdout
    assert reports["flip"]["nll"] != reports["tencrop"]["nll"]


def test_json_output_is_only_json(cli, ckpt, data):
    code, stdout, err = cli("evaluate", "-m", ckpt, "-d", data, "--json")
    assert code == 0, err
    rep = json.loads(stdout)
    assert rep["split"] == "val" and rep["tta"] == "none" and rep["labels"] == list(EMOTIONS)


def test_tsne_plot(ckpt, data, tmp_path):
    rep = evaluate(ckpt, data, split="train", output=tmp_path, tsne=True, progress=False)
    assert Path(rep.files["tsne"]).is_file()
    assert json.loads((tmp_path / "report.json").read_text())["files"]["tsne"]


def test_cross_dataset_subset_reports_absent_classes(ckpt, tmp_path):
    root = make_folder_dataset(tmp_path / "five", classes=("happy", "sad", "angry", "neutral"),
                               n_per_class=2)
    rep = evaluate(ckpt, root, split="val", progress=False)
    assert sorted(rep.absent_classes) == ["disgust", "fear", "surprise"]
    assert rep.labels == list(EMOTIONS) and rep.num_samples == 8
    assert rep.per_class["fear"]["support"] == 0 and rep.per_class["happy"]["support"] == 2


def _one_line(code: int, err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err
    return lines[0]


def test_data_class_unknown_to_the_model(cli, ckpt, tmp_path):
    root = make_folder_dataset(tmp_path / "ck", classes=("happy", "contempt"), n_per_class=2)
    code, _, err = cli("evaluate", "-m", ckpt, "-d", root, "--split", "val")
    line = _one_line(code, err)
    assert "'contempt'" in line and "does not know" in line


def test_bad_tta_split_and_checkpoint(cli, ckpt, data, tmp_path):
    code, _, err = cli("evaluate", "-m", ckpt, "-d", data, "--tta", "flipp")
    assert code == 2 and "did you mean 'flip'" in err  # a bad option value: a usage error
    assert "no split 'test'" in _one_line(*cli("evaluate", "-m", ckpt, "-d", data,
                                               "--split", "test")[::2])
    assert "does not exist" in _one_line(*cli("evaluate", "-m", tmp_path / "x.safetensors",
                                              "-d", data)[::2])


def test_a_model_that_trained_on_the_split_is_marked_not_held_out(cli, data, tmp_path):
    from ferkit.data import load_dataset

    torch.manual_seed(0)
    model = create_model("tinycnn_test", input_size=24)
    fingerprint = load_dataset(data).fingerprint
    meta = CheckpointMeta(model="tinycnn_test", info=model.ferkit_info,
                          model_kwargs={"input_size": 24}, data_fingerprint=fingerprint,
                          extra={"train_on": "train+val", "val_split": "val"})
    ckpt = save_checkpoint(tmp_path / "trainval.safetensors", model.state_dict(), meta)
    assert not evaluate(ckpt, data, split="val", progress=False).held_out
    assert evaluate(ckpt, data, split="train", progress=False).held_out is False  # trained too
    code, _, err = cli("evaluate", "--model", ckpt, "--data", data, "--split", "val")
    assert code == 0 and "trained on this split" in err and "not held out" in err
    other = make_folder_dataset(tmp_path / "other", n_per_class=3, seed=7)
    assert evaluate(ckpt, other, split="val", progress=False).held_out  # other data: held out
