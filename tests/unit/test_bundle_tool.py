"""``tools/bundle_model.py``: a bundled file carries what was measured of it (``--metrics``), and a
model trained on train+val carries held-out figures of other files only as marked estimates
(``--heldout``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ferkit.io import file_sha256


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("bundle_model")


def _report(path: Path, digest: str) -> Path:
    path.write_text(json.dumps({"checkpoint_fingerprint": digest, "split": "val", "tta": "none",
                                "checkpoint": "/runs/parent.int8.onnx", "data": "/data/fer2013",
                                "accuracy": 0.7, "macro_f1": 0.66, "ece": 0.04, "nll": 0.86,
                                "num_samples": 3435, "data_fingerprint": "fp"}))
    return path


def test_a_report_of_this_file_becomes_its_metrics(tool, tmp_path):
    ckpt = tmp_path / "soup.safetensors"
    ckpt.write_bytes(b"weights")
    rep = _report(tmp_path / "report.json", file_sha256(ckpt)[:16])
    m = tool._measured_metrics(str(rep), [str(ckpt)])
    assert m["val_acc"] == 0.7 and m["val_macro_f1"] == 0.66 and m["tta"] == "none"
    assert m["measured_by"] == "ferkit evaluate" and m["num_samples"] == 3435


def test_a_report_of_another_file_is_refused_with_the_fix(tool, tmp_path):
    ckpt = tmp_path / "soup.safetensors"
    ckpt.write_bytes(b"weights")
    rep = _report(tmp_path / "report.json", "0123456789abcdef")
    with pytest.raises(SystemExit, match="evaluated another file.*ferkit evaluate --model"):
        tool._measured_metrics(str(rep), [str(ckpt)])
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SystemExit, match="not a readable report.json"):
        tool._measured_metrics(str(tmp_path / "bad.json"), [str(ckpt)])
    with pytest.raises(SystemExit, match="one checkpoint"):
        tool._measured_metrics(str(rep), [str(ckpt), str(ckpt)])


def _trained_on(tmp_path: Path, train_on: str) -> Path:
    from ferkit.checkpoint import CheckpointMeta, save_checkpoint
    from ferkit.models import create_model

    model = create_model("tinycnn_test")
    path = tmp_path / f"{train_on.replace('+', '_')}.safetensors"
    save_checkpoint(path, model.state_dict(), CheckpointMeta(
        model="tinycnn_test", info=model.ferkit_info, extra={"train_on": train_on}))
    return path


def test_a_trainval_model_records_other_files_figures_as_estimates(tool, tmp_path):
    ckpt = _trained_on(tmp_path, "train+val")
    est = tool._heldout_estimates([str(_report(tmp_path / "parent.json", "0123456789abcdef"))],
                                  [str(ckpt)])
    assert est == [{"file": "parent.int8.onnx", "checkpoint_fingerprint": "0123456789abcdef",
                    "data": "/data/fer2013", "data_fingerprint": "fp", "split": "val",
                    "tta": "none", "num_samples": 3435, "accuracy": 0.7, "macro_f1": 0.66,
                    "measured_by": "ferkit evaluate"}]


def test_heldout_estimates_refuse_what_would_not_be_held_out(tool, tmp_path):
    trainval = _trained_on(tmp_path, "train+val")
    own = _report(tmp_path / "own.json", file_sha256(trainval)[:16])
    with pytest.raises(SystemExit, match="evaluated .* itself, which trained on that split"):
        tool._heldout_estimates([str(own)], [str(trainval)])
    other = _report(tmp_path / "other.json", "0123456789abcdef")
    with pytest.raises(SystemExit, match="held-out split of its own.*--metrics"):
        tool._heldout_estimates([str(other)], [str(_trained_on(tmp_path, "train"))])
    (tmp_path / "partial.json").write_text(json.dumps({"accuracy": 0.7}))
    with pytest.raises(SystemExit, match="partial.json.*not a readable ferkit evaluate report"):
        tool._heldout_estimates([str(tmp_path / "partial.json")], [str(trainval)])


def test_metrics_and_heldout_exclude_each_other(tool, capsys):
    with pytest.raises(SystemExit) as e:
        tool.main(["default", "x.safetensors", "--calibration", "d", "--metrics", "a.json",
                   "--heldout", "b.json"])
    assert e.value.code == 2 and "exclude each other" in capsys.readouterr().err
