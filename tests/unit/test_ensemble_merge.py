"""``ferkit ensemble --save`` / ``merge_checkpoints``: one runnable file whose probabilities are
the members' calibrated mean, refused for members that cannot share one input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ferkit.checkpoint import CheckpointMeta, load_model, read_meta, save_checkpoint
from ferkit.data.synthetic import make_folder_dataset
from ferkit.ensemble.combine import member_probabilities
from ferkit.ensemble.merge import merge_checkpoints
from ferkit.errors import CheckpointError, ConfigError
from ferkit.models import create_model, list_models
from ferkit.types import EMOTIONS


def _save(path: Path, seed: int, *, input_size=24, labels=EMOTIONS, temperature=1.0,
          mean=None) -> Path:
    torch.manual_seed(seed)
    model = create_model("tinycnn_test", input_size=input_size)
    with torch.no_grad():  # spread the logits so the members disagree and temperatures matter
        model.classifier.weight.mul_(8.0)
    info = dataclasses.replace(model.ferkit_info, labels=tuple(labels))
    if mean is not None:
        info = dataclasses.replace(info, mean=(mean,))
    meta = CheckpointMeta(model="tinycnn_test", info=info, model_kwargs={"input_size": input_size},
                          num_classes=len(labels), temperature=temperature,
                          data_fingerprint="fp-1", metrics={"val_acc": 0.5 + seed / 100})
    return save_checkpoint(path, model.state_dict(), meta)


@pytest.fixture(scope="module")
def members(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("members")
    return {"a": _save(d / "a.safetensors", 1, temperature=1.7),
            "b": _save(d / "b.safetensors", 2, temperature=0.6),
            "c": _save(d / "c.safetensors", 3),
            "small": _save(d / "small.safetensors", 4, input_size=16),
            "mean": _save(d / "mean.safetensors", 5, mean=0.4),
            "rev": _save(d / "rev.safetensors", 6, labels=tuple(reversed(EMOTIONS)))}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_folder_dataset(tmp_path_factory.mktemp("d") / "fer", n_per_class=3, seed=4)


def test_merged_file_predicts_the_mean_of_calibrated_member_probabilities(members, data,
                                                                          tmp_path):
    out = merge_checkpoints([members["a"], members["b"], members["c"]], tmp_path / "m.safetensors")
    each = member_probabilities([members["a"], members["b"], members["c"]], str(data), "val")
    merged = member_probabilities([out, members["a"]], str(data), "val")
    np.testing.assert_allclose(merged.probs[0], each.probs.mean(axis=0), atol=1e-5)
    # the temperatures matter: an uncalibrated mean differs (so the check above can fail)
    model, meta = load_model(out)
    assert meta.model == "mean_ensemble" and meta.temperature == 1.0
    assert [m["temperature"] for m in meta.model_kwargs["members"]] == [1.7, 0.6, 1.0]
    x = torch.randn(4, 1, 24, 24)
    with torch.no_grad():
        raw = torch.stack([torch.softmax(m(x), 1) for m in model.members]).mean(0)
        assert not torch.allclose(model(x).exp(), raw, atol=1e-3)
    assert meta.data_fingerprint == "fp-1"
    assert [m["source"] for m in meta.extra["members"]] == ["a.safetensors", "b.safetensors",
                                                            "c.safetensors"]
    assert meta.extra["members"][1]["metrics"] == {"val_acc": 0.52}


@pytest.mark.parametrize("other, field", [("small", "input_size"), ("mean", "mean"),
                                          ("rev", "labels")])
def test_members_that_cannot_share_one_input_are_refused(members, tmp_path, other, field):
    with pytest.raises(CheckpointError, match=f"its {field} is"):
        merge_checkpoints([members["a"], members[other]], tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


def test_bad_outputs_and_nested_merges_are_refused(members, tmp_path):
    with pytest.raises(CheckpointError, match="must end in .safetensors"):
        merge_checkpoints([members["a"], members["b"]], tmp_path / "m.onnx")
    with pytest.raises(CheckpointError, match="is one of the members"):
        merge_checkpoints([members["a"], members["b"]], members["b"])
    with pytest.raises(ConfigError, match="at least 2"):
        merge_checkpoints([members["a"]], tmp_path / "m.safetensors")
    merged = merge_checkpoints([members["a"], members["b"]], tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match="already a merged ensemble"):
        merge_checkpoints([merged, members["c"]], tmp_path / "m2.safetensors")


def test_mean_ensemble_is_hidden_from_the_zoo_listing_and_needs_members():
    assert "mean_ensemble" not in list_models()
    assert list_models("mean_ensemble") == ["mean_ensemble"]
    with pytest.raises(ConfigError, match="at least 2 members"):
        create_model("mean_ensemble")
    with pytest.raises(ConfigError, match="temperature"):
        create_model("mean_ensemble", members=[{"model": "tinycnn_test", "temperature": 0},
                                               {"model": "tinycnn_test"}])


def test_merged_file_exports_to_onnx_and_int8(members, data, tmp_path):
    from ferkit.export import export_model
    from ferkit.inference.backends import load_backend

    merged = merge_checkpoints([members["a"], members["b"]], tmp_path / "m.safetensors")
    export_model(str(merged), "onnx", tmp_path / "m.onnx")  # runs the torch-vs-runtime check
    crops = np.random.default_rng(0).integers(0, 255, (5, 40, 40), dtype=np.uint8)
    p_onnx = load_backend(tmp_path / "m.onnx").predict_proba(crops)
    p_torch = load_backend(merged, backend="torch").predict_proba(crops)
    np.testing.assert_allclose(p_onnx, p_torch, atol=1e-4)
    export_model(str(merged), "onnx-int8", tmp_path / "m.int8.onnx", calibration=str(data))
    assert load_backend(tmp_path / "m.int8.onnx").predict_proba(crops).shape == (5, 7)


def test_ensemble_cli_saves_the_mean_and_records_its_figures(cli, members, data, tmp_path):
    out = tmp_path / "merged.safetensors"
    code, stdout, err = cli("ensemble", "-m", members["a"], "-m", members["b"], "--data", data,
                            "--method", "mean", "--save", out, "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["saved"] == str(out)
    meta = read_meta(out)
    assert meta.metrics["ensemble_mean_accuracy"] == pytest.approx(doc["methods"][0]["accuracy"])
    code, stdout, err = cli("evaluate", "-m", out, "-d", data, "--json")
    assert code == 0, err
    assert json.loads(stdout)["accuracy"] == pytest.approx(doc["methods"][0]["accuracy"])


def test_ensemble_cli_checks_save_before_evaluating(cli, members, data, tmp_path):
    code, _, err = cli("ensemble", "-m", members["a"], "-m", members["small"], "--data", data,
                       "--save", tmp_path / "m.safetensors")
    assert code == 1 and "its input_size is 16, not 24" in err and "Traceback" not in err
    assert "member" not in err.split("error:")[0]  # failed before any member was evaluated
    code, _, err = cli("ensemble", "-m", members["a"], "-m", members["b"], "--data", data,
                       "--save", tmp_path / "m.txt")
    assert code == 1 and "must end in .safetensors" in err
