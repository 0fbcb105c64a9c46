"""The bundled models: present, self-describing, and usable with no arguments."""

import pytest

from ferkit.bundled import BUNDLED, WEIGHTS_DIR, backend_for, is_bundled_name, resolve_model
from ferkit.checkpoint import read_meta
from ferkit.export.onnx import read_onnx_meta
from ferkit.export.quantize import QUANT_KEY
from ferkit.inference.backends import OnnxBackend, TorchBackend
from ferkit.inference.pipeline import DEFAULT_MODEL, SAMPLE_IMAGE, Pipeline
from ferkit.types import EMOTIONS

SHIPPED = [n for n in BUNDLED.names()
           if BUNDLED.get(n).checkpoint and (WEIGHTS_DIR / BUNDLED.get(n).checkpoint).is_file()]


def test_default_model_ships_with_its_metadata():
    meta = read_meta(DEFAULT_MODEL)
    assert meta.labels == EMOTIONS
    assert DEFAULT_MODEL.stat().st_size < 20 * 2**20
    assert meta.data_fingerprint and 0.5 < meta.temperature < 2.0
    if meta.extra.get("train_on") == "train+val":  # no held-out split of its own: it carries
        estimates = meta.extra.get("heldout_estimates") or []  # other files' held-out figures
        assert estimates and all(e["accuracy"] > 0.6 and e["file"] for e in estimates)
        assert "val_acc" not in meta.metrics  # no PublicTest figure claimed as its own
    else:
        assert meta.metrics.get("val_acc", 0) > 0.6  # what was measured of this very file
    # provenance: its own training history, or (a weight soup) each ingredient's seed and metrics
    soup = meta.extra.get("soup") or []
    assert meta.history or (soup and all(i["metrics"].get("val_acc") and i["seed"] is not None
                                         and len(i["sha256"]) == 64 for i in soup))


@pytest.mark.parametrize("name", SHIPPED)
def test_bundled_int8_twin_matches_its_checkpoint(name):
    entry = BUNDLED.get(name)
    meta, onnx_meta = read_meta(WEIGHTS_DIR / entry.checkpoint), read_onnx_meta(entry.path())
    assert onnx_meta.info.labels == meta.info.labels == EMOTIONS
    assert onnx_meta.info.input_size == meta.info.input_size
    assert onnx_meta.temperature == pytest.approx(meta.temperature)
    assert onnx_meta.meta["data_fingerprint"] == meta.data_fingerprint  # same training run
    assert QUANT_KEY in {p.key for p in __import__("onnx").load(str(entry.path())).metadata_props}


def test_bundled_names_resolve_by_backend():
    assert "default" in SHIPPED and "fast" in BUNDLED
    assert resolve_model(None) == resolve_model("default") == WEIGHTS_DIR / "default.int8.onnx"
    assert resolve_model("default", "torch") == DEFAULT_MODEL
    assert backend_for(resolve_model(None)) == "onnx" and backend_for(DEFAULT_MODEL) == "torch"
    assert not is_bundled_name("some/dir/default")


def test_default_pipeline_reads_the_sample_portrait_as_happy():
    pipe = Pipeline()
    assert isinstance(pipe.backend, OnnxBackend)  # predict's default: the INT8 ONNX file
    result = pipe.predict_image(SAMPLE_IMAGE)
    assert len(result.faces) == 1
    face = result.faces[0]
    assert face.label == "happy" and face.confidence > 0.5  # a broad smile (NASA portrait)
    torch_face = Pipeline(backend="torch").predict_image(SAMPLE_IMAGE).faces[0]
    assert isinstance(Pipeline(backend="torch").backend, TorchBackend)
    assert torch_face.label == "happy" and abs(torch_face.confidence - face.confidence) < 0.1


def test_predict_cli_runs_bundled_models_by_name(cli):
    import json

    for name in ("default", "fast"):
        code, out, err = cli("predict", "--sample", "--model", name, "--threads", "1", "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["pipeline"]["model"].endswith(f"{name}.int8.onnx")
        assert doc["pipeline"]["backend"] == "OnnxBackend"
    code, out, _ = cli("predict", "--sample", "--model", "fast", "--backend", "torch", "--json")
    assert code == 0 and json.loads(out)["pipeline"]["model"].endswith("fast.safetensors")
    code, _, err = cli("predict", "--sample", "--model", "fastest")
    assert code == 1 and "did you mean 'fast'" in err and "Traceback" not in err
    code, _, err = cli("predict", "--sample", "--model", "nope.safetensors")
    assert code == 1 and "'nope.safetensors' does not exist" in err


def test_accurate_ships_as_int8_only_and_runs_by_name(cli):
    """The three-teacher mean: one INT8 file (≤ 30 MB with its metadata), its JSON twin
    describing the same network, and a one-line error where a float checkpoint is needed."""
    import json

    entry = BUNDLED.get("accurate")
    onnx_meta = read_onnx_meta(entry.path())
    twin = json.loads(entry.metadata_file.read_text(encoding="utf-8"))
    assert onnx_meta.meta["model"] == twin["model"] == "mean_ensemble"
    assert len(twin["model_kwargs"]["members"]) == 3
    assert onnx_meta.info.labels == EMOTIONS and onnx_meta.info.input_size == 112
    assert QUANT_KEY in {p.key for p in __import__("onnx").load(str(entry.path())).metadata_props}
    assert entry.path().stat().st_size + entry.metadata_file.stat().st_size < 30 * 2**20
    code, out, err = cli("predict", "--sample", "--model", "accurate", "--threads", "1", "--json")
    assert code == 0, err
    face = json.loads(out)["images"][0]["faces"][0]
    assert face["label"] == "happy"
    for args in (("predict", "--sample", "--model", "accurate", "--backend", "torch"),
                 ("explain", str(SAMPLE_IMAGE), "--model", "accurate")):
        code, _, err = cli(*args)
        assert code == 1 and "ships as an INT8 ONNX file only" in err and "Traceback" not in err
