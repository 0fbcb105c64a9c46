"""``tools/bundle_model.py --metrics``: a bundled soup carries what was measured of that file."""

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
