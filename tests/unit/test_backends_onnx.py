"""ONNX Runtime backend: parity with torch, metadata, export cache, bad files, preprocessing."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from ferkit.checkpoint import CheckpointMeta, save_checkpoint
from ferkit.errors import CheckpointError
from ferkit.export import onnx as onnx_export
from ferkit.export.onnx import export_onnx, physical_cores, session_options
from ferkit.inference.backends import BACKENDS, OnnxBackend, TorchBackend, load_backend
from ferkit.models import create_model
from ferkit.preprocess import to_model_input, to_model_input_numpy
from ferkit.types import ModelInfo


def _checkpoint(path, in_chans=1, temperature=1.0, seed=0, **kw):
    import torch

    torch.manual_seed(seed)
    model = create_model("tinycnn_test", in_chans=in_chans, **kw)
    meta = CheckpointMeta(model="tinycnn_test", info=model.ferkit_info, model_kwargs=kw,
                          temperature=temperature)
    return save_checkpoint(path, model.state_dict(), meta)


def _crops(n, size=56, color=False, seed=0):
    shape = (n, size, size, 3) if color else (n, size, size)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("in_chans, color", [(1, False), (3, True), (3, False), (1, True)])
def test_onnx_matches_torch_from_checkpoint(tmp_path, in_chans, color):
    ckpt = _checkpoint(tmp_path / "m.safetensors", in_chans=in_chans, temperature=2.0)
    torch_b, onnx_b = TorchBackend(ckpt), load_backend(ckpt, "onnx", threads=1)
    assert "onnx" in BACKENDS and isinstance(onnx_b, OnnxBackend)
    assert onnx_b.labels == torch_b.labels and onnx_b.temperature == 2.0
    crops = _crops(9, color=color)
    p_t, p_o = torch_b.predict_proba(crops), onnx_b.predict_proba(crops, flip_tta=False)
    assert p_o.shape == (9, 7) and p_o.dtype == np.float32
    np.testing.assert_allclose(p_o, p_t, atol=1e-5)
    np.testing.assert_allclose(onnx_b.predict_proba(crops, flip_tta=True),
                               torch_b.predict_proba(crops, flip_tta=True), atol=1e-5)
    assert onnx_b.predict_proba(crops[:0]).shape == (0, 7)


def test_onnx_file_reads_its_metadata(tmp_path):
    ckpt = _checkpoint(tmp_path / "m.safetensors", temperature=1.3, input_size=40)
    path = export_onnx(ckpt, tmp_path / "m.onnx").path
    b = OnnxBackend(path, threads=1)
    assert b.onnx_path == path and b.info.input_size == 40 and b.temperature == pytest.approx(1.3)
    assert b.predict_proba(_crops(2)).sum(axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)


def test_checkpoint_export_is_cached_by_content(tmp_path, monkeypatch):
    ckpt = _checkpoint(tmp_path / "m.safetensors")
    first = OnnxBackend(ckpt, threads=1).onnx_path
    calls = []
    real = onnx_export.export_onnx
    monkeypatch.setattr(onnx_export, "export_onnx",
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    assert OnnxBackend(ckpt, threads=1).onnx_path == first and calls == []  # reused
    _checkpoint(ckpt, seed=1)  # new weights at the same path → a different cache entry
    assert OnnxBackend(ckpt, threads=1).onnx_path != first and len(calls) == 1


def test_onnx_without_ferkit_metadata_is_refused(tmp_path):
    ckpt = _checkpoint(tmp_path / "m.safetensors")
    model = onnx.load(str(export_onnx(ckpt, tmp_path / "m.onnx").path))
    del model.metadata_props[:]
    onnx.save(model, str(tmp_path / "bare.onnx"))
    with pytest.raises(CheckpointError, match="no ferkit metadata"):
        OnnxBackend(tmp_path / "bare.onnx")


@pytest.mark.parametrize("name, content, message", [
    ("garbage.onnx", b"not a protobuf", "not a loadable ONNX model"),
    ("missing.onnx", None, "does not exist"),
    ("weights.bin", b"x", "expected a .onnx file"),
])
def test_bad_model_files(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        OnnxBackend(path)


def test_session_options_are_tuned():
    import onnxruntime as ort

    so = session_options()
    assert so.intra_op_num_threads == physical_cores() >= 1
    assert so.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL


@pytest.mark.parametrize("shape, in_chans", [((4, 30, 30, 3), 3), ((4, 30, 30), 3),
                                             ((4, 24, 24, 3), 1), ((1, 24, 24), 1)])
def test_to_model_input_is_contiguous_and_exact(shape, in_chans):
    info = ModelInfo("x", input_size=24, in_chans=in_chans, mean=(0.4,) * in_chans,
                     std=(0.2,) * in_chans)
    crops = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    x = to_model_input(crops, info).numpy()
    np.testing.assert_array_equal(to_model_input_numpy(crops, info), x)  # bit-identical
    assert x.flags.c_contiguous and x.dtype == np.float32
    assert x.shape == (shape[0], in_chans, 24, 24)
    if shape[1] == 24 and (len(shape) == 4) == (in_chans == 3):  # no resize, no channel change
        nchw = crops[:, None] if crops.ndim == 3 else crops.transpose(0, 3, 1, 2)
        expected = (nchw.astype(np.float32) / np.float32(255) - np.float32(0.4)) / np.float32(0.2)
        np.testing.assert_array_equal(x, expected)


@pytest.mark.parametrize("seed", range(4))
def test_numpy_preprocessing_is_bit_identical_to_torch(seed):
    rng = np.random.default_rng(seed)
    in_chans = 3 if seed % 2 else 1
    info = ModelInfo("x", input_size=int(rng.integers(16, 70)), in_chans=in_chans,
                     mean=tuple(rng.uniform(0.3, 0.6, in_chans)),
                     std=tuple(rng.uniform(0.1, 0.4, in_chans)),
                     interpolation=("bilinear", "bicubic", "area", "nearest")[seed])
    size = int(rng.integers(20, 90))
    crops = rng.integers(0, 256, (5, size, size, 3) if seed > 1 else (5, size, size),
                         dtype=np.uint8)
    np.testing.assert_array_equal(to_model_input_numpy(crops, info),
                                  to_model_input(crops, info).numpy())
    with pytest.raises(ValueError, match="uint8"):
        to_model_input_numpy(crops.astype(np.float32), info)


def _image(tmp_path):
    import cv2

    path = tmp_path / "img.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (60, 50, 3), np.uint8))
    return path


def test_cli_predict_onnx_matches_torch(cli, tmp_path):
    import json

    ckpt, image = _checkpoint(tmp_path / "m.safetensors", temperature=1.5), _image(tmp_path)
    onnx_path = export_onnx(ckpt, tmp_path / "m.onnx").path
    probs = {}
    for backend, model in (("torch", ckpt), ("onnx", onnx_path), ("onnx", ckpt)):
        code, out, err = cli("predict", image, "--model", model, "--backend", backend,
                             "--no-face-mode", "whole-image", "--json")
        assert code == 0, err
        (face,) = json.loads(out)["images"][0]["faces"]
        probs[(backend, str(model))] = np.array(list(face["probs"].values()))
    first, *rest = probs.values()
    for p in rest:
        np.testing.assert_allclose(p, first, atol=1e-4)


def test_cli_predict_onnx_without_metadata(cli, tmp_path):
    ckpt = _checkpoint(tmp_path / "m.safetensors")
    model = onnx.load(str(export_onnx(ckpt, tmp_path / "m.onnx").path))
    del model.metadata_props[:]
    onnx.save(model, str(tmp_path / "bare.onnx"))
    code, out, err = cli("predict", _image(tmp_path), "--model", tmp_path / "bare.onnx",
                         "--backend", "onnx")
    assert code == 1 and out == ""
    assert "no ferkit metadata" in err and len(err.strip().splitlines()) == 1


def test_a_single_thread_twin_session_gives_the_same_answers(tiny_checkpoint):
    import numpy as np

    from ferkit.inference.backends import SMALL_BATCH

    two, one = OnnxBackend(tiny_checkpoint, threads=2), OnnxBackend(tiny_checkpoint, threads=1)
    assert two._small is not None and one._small is None
    assert two._small.get_session_options().intra_op_num_threads == 1
    crops = np.random.default_rng(0).integers(0, 256, (SMALL_BATCH + 3, 48, 48), dtype=np.uint8)
    for n in (1, SMALL_BATCH, SMALL_BATCH + 3):  # both sessions give the same answers
        np.testing.assert_allclose(two.logits(crops[:n]), one.logits(crops[:n]), atol=1e-5)


def test_the_faster_session_serves_small_batches_chosen_once(tiny_checkpoint, monkeypatch):
    """The first small batch times the twin against the main session and keeps the faster;
    later small batches don't time again, and large batches always take the main session."""
    import numpy as np

    import ferkit.inference.backends as backends

    two = OnnxBackend(tiny_checkpoint, threads=2)
    clock = iter(range(10_000))  # every perf_counter() call advances one tick...
    calls = []

    class Timed:  # ...and a run on the main session costs 3 ticks more than on the twin
        def __init__(self, session, extra):
            self.session, self.extra = session, extra

        def run(self, *args):
            calls.append(self)
            for _ in range(self.extra):
                next(clock)
            return self.session.run(*args)

        def get_session_options(self):
            return self.session.get_session_options()

    twin, main = Timed(two._small, 0), Timed(two.session, 3)
    two._small, two.session = twin, main
    monkeypatch.setattr(backends.time, "perf_counter", lambda: float(next(clock)))
    crops = np.random.default_rng(1).integers(0, 256, (80, 48, 48), dtype=np.uint8)
    two.logits(crops[:1])
    assert two._small_choice is twin
    probe = len(calls)
    assert probe == 2 * 2 + 4 * backends.SMALL_PROBE_RUNS + 1  # warm-ups, blocks, the call
    two.logits(crops[:2])
    two.logits(crops[:backends.SMALL_BATCH])
    assert calls[probe:] == [twin, twin]
    two.logits(crops)
    assert calls[-1] is main

    three = OnnxBackend(tiny_checkpoint, threads=2)  # the other way round: main is faster
    three._small, three.session = Timed(three._small, 3), Timed(three.session, 0)
    three.logits(crops[:1])
    assert three._small_choice is three.session


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_large_inputs_run_in_bounded_chunks_with_the_same_answers(tiny_checkpoint, backend,
                                                                  monkeypatch):
    """predict_proba never hands the model more than MAX_BATCH crops at once (memory stays
    bounded for a caller passing a whole dataset), and chunking changes no answer."""
    import ferkit.inference.backends as backends

    model = load_backend(tiny_checkpoint, backend=backend)
    crops = np.random.default_rng(2).integers(0, 256, (23, 48, 48), dtype=np.uint8)
    whole = model.predict_proba(crops, flip_tta=True)
    seen = []
    logits = model.logits
    monkeypatch.setattr(model, "logits", lambda x: seen.append(len(x)) or logits(x))
    monkeypatch.setattr(backends, "MAX_BATCH", 5)
    chunked = model.predict_proba(crops, flip_tta=True)
    assert max(seen) == 5 and sum(seen) == 2 * len(crops)  # flip TTA: each chunk twice
    np.testing.assert_allclose(chunked, whole, atol=1e-5)


def test_the_onnx_session_runs_in_cache_sized_chunks_with_the_same_answers(tiny_checkpoint):
    """A large batch reaches ONNX Runtime in chunks of ``onnx_chunk(input_size)`` crops (the
    budget is in pixels: 32 crops of 112 px, 98 of 64 px), and the answers are those of one
    call over the whole batch."""
    from ferkit.inference.backends import CHUNK_PIXELS, onnx_chunk

    assert onnx_chunk(112) == 32 and onnx_chunk(64) == 98 and onnx_chunk(10_000) == 1
    assert onnx_chunk(48) == CHUNK_PIXELS // 48 ** 2
    model = OnnxBackend(tiny_checkpoint, threads=2)
    assert model.chunk == onnx_chunk(model.info.input_size)
    crops = np.random.default_rng(3).integers(0, 256, (40, 48, 48), dtype=np.uint8)
    whole = model.logits(crops)  # 40 crops of 48 px: one call (the chunk is 174)
    model.chunk = 6
    sizes = []
    run = model.session.run

    class Spy:
        def run(self, names, feed):
            sizes.append(len(next(iter(feed.values()))))
            return run(names, feed)

    model.session = Spy()
    np.testing.assert_allclose(model.logits(crops), whole, atol=1e-6)
    assert sizes == [6] * 6 + [4]
    assert OnnxBackend(tiny_checkpoint, chunk=3).chunk == 3


def test_the_small_batch_choice_is_timed_again_after_a_while(tiny_checkpoint, monkeypatch):
    """One probe taken while the machine was briefly slow must not decide for the whole run:
    after SMALL_REPROBE_S seconds the next small batch times both sessions again, and a
    session that has become faster takes over; before that no small batch is timed."""
    import ferkit.inference.backends as backends

    model = OnnxBackend(tiny_checkpoint, threads=2)
    clock = iter(range(100_000))  # perf_counter ticks once a call, plus each run's extra ticks
    cost = {"twin": 0, "main": 3}
    runs = []

    class Timed:
        def __init__(self, session, name):
            self.session, self.name = session, name

        def run(self, *args):
            runs.append(self.name)
            for _ in range(cost[self.name]):
                next(clock)
            return self.session.run(*args)

        def get_session_options(self):
            return self.session.get_session_options()

    twin, main = Timed(model._small, "twin"), Timed(model.session, "main")
    model._small, model.session = twin, main
    now = [1000.0]
    monkeypatch.setattr(backends.time, "perf_counter", lambda: float(next(clock)))
    monkeypatch.setattr(backends.time, "monotonic", lambda: now[0])
    crops = np.random.default_rng(4).integers(0, 256, (2, 48, 48), dtype=np.uint8)
    model.logits(crops)
    assert model._small_choice is twin
    probe = len(runs)
    now[0] += backends.SMALL_REPROBE_S - 1  # not yet: no timing, the twin serves
    model.logits(crops)
    assert runs[probe:] == ["twin"]
    cost.update(twin=3, main=0)  # the machine changed: the two-thread session is now faster
    now[0] += 2
    model.logits(crops)
    assert model._small_choice is main and len(runs) == 2 * probe + 1
    assert runs[-1] == "main"
