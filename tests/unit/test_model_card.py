"""``benchmarks/model_card.py``: the card says what the model trained on, so a reader can tell
which of its figures are held out for it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def card(load_tool):
    return load_tool("model_card", "benchmarks")


def _checkpoint(tmp_path: Path, extra: dict, history: list[dict]) -> Path:
    from ferkit.checkpoint import CheckpointMeta, save_checkpoint
    from ferkit.models import create_model

    model = create_model("tinycnn_test")
    path = tmp_path / "model.safetensors"
    save_checkpoint(path, model.state_dict(), CheckpointMeta(
        model="tinycnn_test", info=model.ferkit_info, extra=extra, history=history))
    return path


def _report(tmp_path: Path, file: str, data: str) -> Path:
    labels = ["angry", "happy"]
    path = tmp_path / f"{file}.json"
    path.write_text(json.dumps({
        "checkpoint": f"/runs/{file}", "data": data, "split": "val", "tta": "none",
        "num_samples": 10, "accuracy": 0.7, "macro_f1": 0.65, "balanced_accuracy": 0.66,
        "ece": 0.04, "nll": 0.9, "temperature": 1.0, "labels": labels,
        "per_class": {n: {"precision": 0.7, "recall": 0.7, "f1": 0.7, "support": 5}
                      for n in labels},
        "confusion_matrix": [[4, 1], [2, 3]]}))
    return path


def _build(card, ckpt: Path, reports: list[Path]) -> str:
    return card.build(argparse.Namespace(
        checkpoint=str(ckpt), onnx=None, report=[str(r) for r in reports], eval_command=[],
        speed=None, speed_model="default", train_command="ferkit train ...",
        hardware="2 cores", name="default", status=""))


def test_a_model_trained_on_train_only_reads_its_own_publictest(card, tmp_path):
    ckpt = _checkpoint(tmp_path, {"train_on": "train"},
                       [{"epoch": 0, "val_acc": 0.6}, {"epoch": 1, "val_acc": 0.7}])
    text = _build(card, ckpt, [_report(tmp_path, "model.safetensors", "/data/fer2013")])
    assert "used for model selection" in text and "best epoch by val accuracy: 1" in text
    assert "Held-out estimates" not in text
    assert "### `model.safetensors` on `fer2013` · val split" in text


def test_a_trainval_model_shows_only_other_files_held_out_figures(card, tmp_path):
    estimate = {"file": "parent.int8.onnx", "data": "/data/fer2013", "split": "val",
                "tta": "none", "num_samples": 3435, "accuracy": 0.7077, "macro_f1": 0.6809}
    ckpt = _checkpoint(tmp_path, {"train_on": "train+val", "heldout_estimates": [estimate]},
                       [{"epoch": 0, "train_acc": 0.73}, {"epoch": 1, "train_acc": 0.74}])
    text = _build(card, ckpt, [_report(tmp_path, "proxy.int8.onnx", "/proxy/train_only")])
    assert "used for model selection" not in text
    assert "PublicTest is not held out for this file" in text
    assert "no validation split (trained on it), so the last epoch is the one shipped" in text
    assert "| `parent.int8.onnx` | `fer2013` | val | none | 3435 | 70.77% | 68.09% |" in text
    assert "none of these reports is of this file" in text
    assert "### `proxy.int8.onnx` on `train_only` · val split" in text


def test_a_report_that_is_not_held_out_is_refused(card, tmp_path):
    ckpt = _checkpoint(tmp_path, {"train_on": "train+val"}, [])
    rep = _report(tmp_path, "model.safetensors", "/data/fer2013")
    rep.write_text(json.dumps({**json.loads(rep.read_text()), "held_out": False}))
    with pytest.raises(SystemExit, match="trained on this split.*held-out report"):
        _build(card, ckpt, [rep])


def test_bench_bundled_gives_no_accuracy_verdict_on_a_split_the_model_trained_on(load_tool):
    bench = load_tool("bench_bundled", "benchmarks")
    speed = {"b1": {"faces_per_s": 1500.0}, "b64": {"faces_per_s": 2500.0}}
    row = {"as_predict_runs_it": True, "accuracy": 0.712}
    held = bench.verdicts("default", [{**row, "held_out": True}], speed)
    assert held["accuracy"]["met"] is True
    seen = bench.verdicts("default", [{**row, "held_out": False}], speed)
    assert seen["accuracy"]["met"] is None and seen["faces_per_s_b64"]["met"] is True


def test_speed_section_takes_the_models_own_rows_only(card):
    rows = [{"model": m, "file": m.rsplit("/", 1)[-1], "backend": "auto", "threads": 2, "batch": b,
             "faces_per_s": f}
            for m, b, f in (("fast", 64, 5000.0), ("/runs/old_fast.int8.onnx", 64, 1.0),
                            ("src/ferkit/weights/fast.int8.onnx", 1, 1700.0),
                            ("default", 64, 2.0))]
    lines = card.speed_section({"rows": rows, "machine": {}}, "fast")
    speeds = [line.rsplit("|", 2)[-2].strip() for line in lines if line.startswith("| ")][1:]
    assert speeds == ["5,000", "1,700"]  # not old_fast's 1 nor default's 2
    assert not any("old_fast" in line for line in lines)
