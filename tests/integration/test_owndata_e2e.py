"""Your own data end to end: a 2-class pain/happy folder through every command, k-fold,
FER+ soft targets, and the bundled models by name wherever a model file is accepted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ferkit.bundled import bundled_summary
from ferkit.checkpoint import read_meta
from ferkit.data.synthetic import make_ferplus, make_folder_dataset

TINY = ["--model", "tinycnn_test", "model.kwargs={input_size: 24, width: 8}",
        "trainer.progress=false", "trainer.batch_size=8", "optimizer.lr=0.01",
        "scheduler.name=none"]
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "ferkit" / "assets" / "sample_face.jpg"
SEVEN = ("angry", "disgust", "fear", "sad", "surprise", "neutral")  # happy is shared


@pytest.fixture(scope="module")
def pain(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("own") / "mydata",
                               classes=["pain", "happy"], n_per_class=8, seed=1)


def _no_emotions(*texts: str) -> None:
    for text in texts:
        assert not any(name in text for name in SEVEN), text[:300]


def test_two_class_folder_through_every_command(cli, pain, tmp_path):
    run = tmp_path / "run"
    code, _, err = cli("train", "--data", pain, *TINY, "trainer.epochs=2", "--output", run)
    assert code == 0, err
    ckpt = run / "best.safetensors"
    meta = read_meta(ckpt)
    assert meta.labels == ("happy", "pain") and meta.num_classes == 2
    code, out, err = cli("evaluate", "--model", ckpt, "--data", pain, "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["labels"] == ["happy", "pain"] and len(rep["confusion_matrix"]) == 2
    img = next((pain / "val" / "pain").iterdir())
    code, out, err = cli("predict", img, "--model", ckpt, "--no-face-mode", "whole-image",
                         "--json")
    assert code == 0, err
    assert set(json.loads(out)["images"][0]["faces"][0]["probs"]) == {"happy", "pain"}
    code, out, err = cli("export", ckpt, "--format", "onnx", "--output", tmp_path / "m.onnx")
    assert code == 0, err
    code, out2, err = cli("export", ckpt, "--format", "onnx-int8", "--calibration", pain,
                          "--output", tmp_path / "m.int8.onnx")
    assert code == 0, err
    code, out3, err = cli("evaluate", "--model", tmp_path / "m.int8.onnx", "--data", pain,
                          "--json")
    assert code == 0 and json.loads(out3)["labels"] == ["happy", "pain"], err
    shutil.copy(ckpt, tmp_path / "twin.safetensors")
    code, out4, err = cli("ensemble", "-m", ckpt, "-m", tmp_path / "twin.safetensors",
                          "--data", pain, "--method", "mean")
    assert code == 0 and "labels: happy, pain" in out4, err
    code, out5, err = cli("explain", img, "--model", ckpt, "--no-detect", "--output",
                          tmp_path / "cams", "--json")
    assert code == 0, err
    assert set(json.loads(out5)["faces"][0]["probs"]) == {"happy", "pain"}
    _no_emotions(out, out2, out3, out4, out5)


def test_one_class_is_one_clear_error(cli, tmp_path):
    root = make_folder_dataset(tmp_path / "one", classes=["pain"], n_per_class=3)
    code, _, err = cli("train", "--data", root, *TINY, "--output", tmp_path / "r")
    assert code == 1 and "at least 2" in err and "Traceback" not in err


def test_flat_folder_holds_out_and_calibrates(cli, tmp_path):
    root = make_folder_dataset(tmp_path / "flat", classes=["pain", "happy"], n_per_class=10,
                               flat=True, splits=("train",))
    code, out, err = cli("train", "--data", root, *TINY, "trainer.epochs=1", "--output",
                         tmp_path / "r", "--json")
    assert code == 0, err
    assert "holding out 2 of 20" in err and "temperature scaling on val" in err
    assert read_meta(tmp_path / "r" / "best.safetensors").extra["val_holdout"]["n"] == 2
    assert json.loads(out)["best_val_acc"] is not None


def test_kfold_mean_and_std(cli, pain, tmp_path):
    code, out, err = cli("train", "--data", pain, *TINY, "trainer.epochs=1", "data.folds=3",
                         "--output", tmp_path / "cv", "--json")
    assert code == 0, err
    cv = json.loads(out)
    assert len(cv["folds"]) == 3 and cv["accuracy_mean"] is not None
    assert cv["accuracy_std"] >= 0 and (tmp_path / "cv" / "cv.json").is_file()
    assert all((tmp_path / "cv" / f"fold{i}" / "best.safetensors").is_file() for i in range(3))
    assert read_meta(tmp_path / "cv" / "fold1" / "best.safetensors").extra["fold"]["fold"] == 1


def test_ferplus_soft_targets_train(cli, tmp_path):
    root = make_ferplus(tmp_path / "fp", n_per_class=2)
    code, out, err = cli("train", "--data", root, *TINY, "data.format=ferplus_probs",
                         "trainer.epochs=1", "--output", tmp_path / "r", "--json")
    assert code == 0, err
    assert read_meta(tmp_path / "r" / "best.safetensors").num_classes == 8


# ---- bundled model names wherever a model file is accepted ------------------------------------

def test_default_training_fine_tunes_the_bundled_model(cli, pain, tmp_path):
    code, _, err = cli("train", "--data", pain, "trainer.epochs=1", "trainer.batch_size=8",
                       "trainer.progress=false", "--output", tmp_path / "r")
    assert code == 0, err
    assert "fine-tuning the bundled default model" in err
    meta = read_meta(tmp_path / "r" / "best.safetensors")
    assert meta.labels == ("happy", "pain")
    assert meta.config["model"]["init_from"] == "default"
    # the fine-tune keeps the bundled network and its input size, whatever ships as the default
    bundled = bundled_summary("default")
    assert meta.model == bundled["model"] and meta.config["model"]["name"] == bundled["model"]
    assert meta.model_kwargs["input_size"] == bundled["input_size"]


def test_bundled_names_in_export_ensemble_explain_and_distill(cli, tmp_path, monkeypatch):
    from ferkit.train.teachers import load_teachers

    monkeypatch.chdir(tmp_path)
    code, out, err = cli("export", "default", "--format", "onnx", "--no-check")
    assert code == 0 and (tmp_path / "default.onnx").is_file(), err
    data = make_folder_dataset(tmp_path / "fer", n_per_class=1, size=64)
    code, out, err = cli("ensemble", "-m", "default", "-m", "fast", "--data", data,
                         "--method", "mean", "--json")
    assert code == 0, err
    assert [m["name"] for m in json.loads(out)["members"]] == ["default", "fast"]
    code, out, err = cli("explain", SAMPLE, "--model", "fast", "--output", tmp_path / "c")
    assert code == 0 and "face 0" in out, err
    teachers = load_teachers(["default"], read_meta(_bundled("fast")).info)
    assert len(teachers) == 1
    code, _, err = cli("export", "defualt")
    assert code == 1 and "did you mean" in err


def _bundled(name: str) -> Path:
    from ferkit.bundled import BUNDLED

    return BUNDLED.get(name).path("torch")
