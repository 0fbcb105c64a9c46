"""ONNX export: metadata round trip, parity check, dynamic batch, atomic output, CLI errors."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from ferkit.checkpoint import CheckpointMeta, save_checkpoint
from ferkit.errors import ExportError, UnknownNameError
from ferkit.export import EXPORT_FORMATS, export_model
from ferkit.export.onnx import export_onnx, make_session, read_onnx_meta
from ferkit.models import create_model
from ferkit.preprocess import to_model_input


def _checkpoint(path, in_chans=1, temperature=1.7, **kw):
    model = create_model("tinycnn_test", in_chans=in_chans, **kw)
    meta = CheckpointMeta(model="tinycnn_test", info=model.ferkit_info, model_kwargs=kw,
                          temperature=temperature, metrics={"val_acc": 0.5})
    return save_checkpoint(path, model.state_dict(), meta), model.eval()


def test_export_embeds_metadata_and_passes_parity(tmp_path):
    ckpt, _ = _checkpoint(tmp_path / "m.safetensors")
    result = export_onnx(ckpt, tmp_path / "out" / "m.onnx")
    assert result.path.is_file() and result.checked
    assert result.max_abs_diff is not None and result.max_abs_diff < 1e-4
    props = {p.key: p.value for p in onnx.load(str(result.path)).metadata_props}
    for key in ("labels", "input_size", "in_chans", "mean", "std", "interpolation",
                "temperature", "model", "version", "meta", "info"):
        assert f"ferkit.{key}" in props, key
    assert json.loads(props["ferkit.meta"])["metrics"] == {"val_acc": 0.5}
    meta = read_onnx_meta(result.path)
    assert meta.info.input_size == 48 and meta.temperature == pytest.approx(1.7)
    assert meta.info.labels[3] == "happy" and meta.model == "tinycnn_test"


@pytest.mark.parametrize("batch", [1, 3, 17])
def test_exported_graph_has_dynamic_batch(tmp_path, batch):
    ckpt, model = _checkpoint(tmp_path / "m.safetensors", in_chans=3, input_size=32)
    path = export_onnx(ckpt, tmp_path / "m.onnx", check=False).path
    rng = np.random.default_rng(batch)
    x = to_model_input(rng.integers(0, 256, (batch, 40, 40, 3), dtype=np.uint8),
                       model.ferkit_info)
    sess = make_session(path, threads=1)
    got = sess.run(None, {"input": x.numpy()})[0]
    import torch

    with torch.inference_mode():
        ref = model(x).numpy()
    assert got.shape == (batch, 7)
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=1e-3)


def test_failed_parity_raises_and_leaves_no_file(tmp_path):
    ckpt, _ = _checkpoint(tmp_path / "m.safetensors")
    target = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match="max abs diff"):
        export_onnx(ckpt, target, atol=-1.0)  # nothing can pass a negative tolerance
    assert not target.exists() and not list(tmp_path.glob(".m.onnx*"))


def test_unknown_exporter_and_format(tmp_path):
    ckpt, _ = _checkpoint(tmp_path / "m.safetensors")
    with pytest.raises(UnknownNameError, match="torchscript"):
        export_onnx(ckpt, exporter="tracer")
    with pytest.raises(UnknownNameError, match="onnx"):
        export_model(ckpt, "tflite")
    assert "onnx" in EXPORT_FORMATS


def test_cli_export_json(cli, tmp_path):
    ckpt, _ = _checkpoint(tmp_path / "m.safetensors")
    code, out, err = cli("export", ckpt, "--format", "onnx", "--opset", "13", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["opset"] == 13 and doc["path"].endswith("m.onnx") and doc["max_abs_diff"] < 1e-4
    assert (tmp_path / "m.onnx").is_file()


def test_cli_export_no_check(cli, tmp_path):
    ckpt, _ = _checkpoint(tmp_path / "m.safetensors")
    code, out, err = cli("export", ckpt, "--output", tmp_path / "x.onnx", "--no-check")
    assert code == 0, err
    assert "parity: skipped" in out and (tmp_path / "x.onnx").is_file()


def _corrupt(tmp_path):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(b"\x00\x01not a safetensors file")
    return p


def _pickle(tmp_path):
    p = tmp_path / "w.pt"
    p.write_bytes(b"x")
    return p


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.safetensors", "does not exist"),
    (_corrupt, "not a ferkit checkpoint"),
    (_pickle, "pickle"),
])
def test_cli_export_bad_checkpoint(cli, tmp_path, make, message):
    code, out, err = cli("export", make(tmp_path))
    assert code == 1 and out == ""
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_export_unknown_format(cli, tmp_path):
    ckpt, _ = _checkpoint(tmp_path / "m.safetensors")
    code, _, err = cli("export", ckpt, "--format", "tflite")
    assert code == 2 and "unknown export format 'tflite'" in err and "onnx" in err


def test_cli_export_bad_opset(cli, tmp_path):
    ckpt, _ = _checkpoint(tmp_path / "m.safetensors")
    code, _, err = cli("export", ckpt, "--opset", "3")
    assert code == 1 and "opset" in err


def test_dynamo_exporter_needs_onnxscript(tmp_path):
    import importlib.util

    if importlib.util.find_spec("onnxscript") is not None:
        pytest.skip("onnxscript is installed: the dynamo exporter is available")
    ckpt, _ = _checkpoint(tmp_path / "m.safetensors")
    with pytest.raises(ExportError, match="pip install onnxscript"):
        export_onnx(ckpt, tmp_path / "m.onnx", exporter="dynamo")
    assert not (tmp_path / "m.onnx").exists()
