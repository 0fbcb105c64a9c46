"""INT8 export: metadata carried over, close to the float model, usable everywhere, bad input."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from ferkit.data.synthetic import make_folder_dataset, make_images
from ferkit.errors import CheckpointError, DataError, ExportError, UnknownNameError
from ferkit.eval import evaluate
from ferkit.export import EXPORT_FORMATS, export_model
from ferkit.export.onnx import export_onnx, read_onnx_meta
from ferkit.export.quantize import QUANT_KEY, calibration_images, quantize_onnx
from ferkit.inference.backends import OnnxBackend, TorchBackend, load_backend


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_folder_dataset(tmp_path_factory.mktemp("q") / "ds", n_per_class=6)


@pytest.fixture(scope="module")
def int8(tiny_checkpoint, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("int8") / "tiny.int8.onnx"
    return export_model(tiny_checkpoint, "onnx-int8", out, calibration=data,
                        calibration_size=32)


def test_int8_file_keeps_metadata_and_is_marked(int8, tiny_checkpoint):
    assert "onnx-int8" in EXPORT_FORMATS and int8.path.is_file()
    props = {p.key: p.value for p in onnx.load(str(int8.path)).metadata_props}
    assert QUANT_KEY in props and "int8" in props[QUANT_KEY]
    assert "train" in int8.calibration["note"] and int8.calibration["images"] == 24
    meta = read_onnx_meta(int8.path)
    assert meta.info.labels == TorchBackend(tiny_checkpoint).info.labels
    ops = {n.op_type for n in onnx.load(str(int8.path)).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops  # really quantized


def test_int8_probabilities_follow_the_float_model(int8, tiny_checkpoint):
    crops = np.asarray(make_images(list(range(7)) * 3, 7, 48, "gray", 5), np.uint8)
    p_float = TorchBackend(tiny_checkpoint).predict_proba(crops)
    backend = load_backend(int8.path, threads=1)  # auto → ONNX Runtime for .onnx
    assert isinstance(backend, OnnxBackend)
    p_int8 = backend.predict_proba(crops)
    assert p_int8.shape == p_float.shape
    np.testing.assert_allclose(p_int8.sum(1), 1.0, atol=1e-5)
    assert np.abs(p_int8 - p_float).max() < 0.1
    assert 0.0 <= int8.agreement <= 1.0 and int8.max_prob_diff < 0.1


def test_evaluate_runs_on_an_int8_file(int8, tiny_checkpoint, data, tmp_path):
    rep8 = evaluate(int8.path, data, split="val", progress=False, output=tmp_path / "ev")
    rep = evaluate(tiny_checkpoint, data, split="val", progress=False)
    assert rep8.num_samples == rep.num_samples == 42
    assert abs(rep8.accuracy - rep.accuracy) <= 0.1
    assert (tmp_path / "ev" / "confusion_matrix.png").is_file()
    flip = evaluate(int8.path, data, split="val", tta="flip", progress=False)
    assert flip.tta == "flip" and flip.num_samples == 42


def test_evaluate_refuses_tsne_on_onnx(int8, data):
    from ferkit.errors import ConfigError

    with pytest.raises(ConfigError, match="--tsne needs"):
        evaluate(int8.path, data, tsne=True, output="unused", progress=False)


def test_quantizing_twice_and_bad_inputs(int8, tiny_checkpoint, data, tmp_path):
    images, _ = calibration_images(data, "train", 16)
    with pytest.raises(ExportError, match="already quantized"):
        quantize_onnx(int8.path, tmp_path / "x.onnx", calibration=images)
    with pytest.raises(ExportError, match="uint8"):
        quantize_onnx(tiny_checkpoint, tmp_path / "x.onnx", calibration=images.astype(float))
    with pytest.raises(CheckpointError, match="does not exist"):
        quantize_onnx(tmp_path / "nope.safetensors", calibration=images)
    with pytest.raises(UnknownNameError, match="calibration method"):
        quantize_onnx(tiny_checkpoint, calibration=images, method="bogus")
    with pytest.raises(DataError, match="no split 'test'"):
        calibration_images(data, "test", 8)
    with pytest.raises(ExportError, match="needs calibration images"):
        export_model(tiny_checkpoint, "onnx-int8", tmp_path / "y.onnx")
    with pytest.raises(ExportError, match="onnx-int8"):
        export_model(tiny_checkpoint, "onnx", tmp_path / "y.onnx", calibration=data)
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "y.onnx").exists()


def test_quantize_accepts_a_float_onnx(tiny_checkpoint, data, tmp_path):
    float_onnx = export_onnx(tiny_checkpoint, tmp_path / "f.onnx").path
    images, note = calibration_images(data, "train", 16, seed=3)
    res = quantize_onnx(float_onnx, calibration=images, calibration_note=note)
    assert res.path == tmp_path / "f.int8.onnx" and res.path.is_file()
    assert res.size_bytes > 0 and res.format == "onnx-int8"


def test_float_nodes_stay_float_and_unknown_names_fail(tiny_checkpoint, data, tmp_path):
    images, _ = calibration_images(data, "train", 16)
    full = quantize_onnx(tiny_checkpoint, tmp_path / "a.int8.onnx", calibration=images)
    graph = onnx.load(str(full.path)).graph
    first = next(n for n in graph.node if n.op_type == "Conv")
    name = first.name  # a quantized Conv reads a DequantizeLinear'd weight
    producers = {o: n.op_type for n in graph.node for o in n.output}
    assert producers.get(first.input[1]) == "DequantizeLinear"
    part = quantize_onnx(tiny_checkpoint, tmp_path / "b.int8.onnx", calibration=images,
                         float_nodes=[name])
    model = onnx.load(str(part.path))
    graph = model.graph
    conv = next(n for n in graph.node if n.name == name)
    producers = {o: n.op_type for n in graph.node for o in n.output}
    assert producers.get(conv.input[1]) != "DequantizeLinear"  # its weight stays float
    props = {p.key: p.value for p in model.metadata_props}
    assert f"float nodes: {name}" in props[QUANT_KEY]
    with pytest.raises(ExportError, match="not in the graph: /no/such/Conv"):
        quantize_onnx(tiny_checkpoint, tmp_path / "c.int8.onnx", calibration=images,
                      float_nodes=["/no/such/Conv"])
    assert not (tmp_path / "c.int8.onnx").exists()


def test_export_cli_int8_and_its_errors(cli, tiny_checkpoint, data, tmp_path):
    out = tmp_path / "c.int8.onnx"
    code, stdout, _ = cli("export", str(tiny_checkpoint), "--format", "onnx-int8",
                          "--calibration", str(data), "--calibration-size", "16",
                          "--output", str(out))
    assert code == 0 and out.is_file() and "agreement" in stdout
    code, _, err = cli("export", str(tiny_checkpoint), "--format", "onnx-int8")
    assert code == 1 and "--calibration DATA" in err and "Traceback" not in err
    code, _, err = cli("export", str(tiny_checkpoint), "--format", "onnx-int8",
                       "--calibration", str(data), "--calibration-split", "nope")
    assert code == 1 and "no split 'nope'" in err
    code, _, err = cli("export", str(tiny_checkpoint), "--format", "onnx-int8",
                       "--calibration", str(tmp_path / "missing"))
    assert code == 1 and "Traceback" not in err
