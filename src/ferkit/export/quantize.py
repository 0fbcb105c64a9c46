"""INT8 ONNX: static post-training quantization with ONNX Runtime, calibrated on real faces.

Why static INT8 (QDQ, per-channel weights, uint8 activations): on CPUs with VNNI it runs
EfficientNet-Lite-style CNNs 2–3× faster than float32 ONNX Runtime while top-1 accuracy moves
by a few hundredths of a point (measured on FER2013 PublicTest; see MODEL_CARD.md). Dynamic
quantization does not touch convolutions, which is where these models spend their time. The
calibration images come from a *training* split by default, so the reported test accuracy stays
untouched by calibration.

Weights use 7 bits (``reduce_range``, the default) because CPUs without VNNI (AVX2, and AVX-512
without VNNI: most laptops, AMD Zen 2/3) multiply uint8 activations by int8 weights with
``vpmaddubsw``, whose int16 pair sums saturate for full-range weights. The bundled models
quantized with 8-bit weights lost 6.5 (``default``) and 8.5 (``fast``) points of PublicTest
accuracy on a Zen 3 that way, while the same files were exact on a Zen 4 with VNNI; with 7-bit
weights a pair sum stays below 2 x 255 x 64 < 2^15 on every CPU
(benchmarks/results/int8-range-2026-12-01.md).

ONNX Runtime's quantization tooling does the work (a well-kept library; nothing hand-written
here beyond feeding it ferkit's own preprocessing and carrying the ferkit metadata across).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ferkit.errors import DataError, ExportError
from ferkit.io import atomic_path, to_jsonable
from ferkit.registry import Registry

#: calibration methods by name → onnxruntime ``CalibrationMethod`` attribute name. ``entropy``
#: is ONNX Runtime's KL calibrator as ``quantize_static`` builds it (128 histogram bins, 128
#: quantized bins: no narrower range to search), so it yields minmax's ranges; it stays for
#: callers that name it. Minmax on 512 training images tracked the float models best of the
#: three on training images (benchmarks/results/int8-calibration-*-2026-12-02.md).
CALIBRATION_METHODS: Registry = Registry("calibration method")
for _name, _attr in (("minmax", "MinMax"), ("entropy", "Entropy"), ("percentile", "Percentile")):
    CALIBRATION_METHODS.add(_name, _attr)

QUANT_KEY = "ferkit.quantization"


@dataclass
class QuantizeResult:
    """What ``quantize_onnx`` wrote and how closely it follows the float model."""

    path: Path
    format: str
    model: str
    source: str
    method: str
    calibration: dict[str, Any]
    agreement: float  # top-1 agreement with the float32 model on held-out calibration-split images
    max_prob_diff: float  # largest absolute probability difference on those images
    size_bytes: int
    float_size_bytes: int
    seconds: float
    labels: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)


def calibration_images(data: Any, split: str = "train", n: int = 512, *, seed: int = 0,
                       format: str | None = None, color: str = "gray") -> tuple[np.ndarray, str]:
    """``n`` images drawn with the seeding function from ``split`` of a dataset (path or loaded).

    Returns (uint8 images, a one-line description for the metadata).
    """
    from ferkit.data import load_dataset

    dataset = data if hasattr(data, "splits") else load_dataset(data, format=format, color=color)
    if split not in dataset.splits:
        raise DataError(f"calibration data {str(dataset.root)!r} has no split {split!r} "
                        f"(it has: {', '.join(sorted(dataset.splits))}); pass "
                        "--calibration-split")
    arrays = dataset.splits[split]
    if len(arrays.labels) == 0:
        raise DataError(f"calibration split {split!r} of {str(dataset.root)!r} is empty")
    take = calibration_indices(len(arrays.labels), n, seed)
    desc = f"{len(take)} images of split {split!r} of {dataset.root} (seed {seed})"
    return arrays.images[take], desc


def calibration_indices(total: int, n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of the ``n`` images (of ``total``) that ``calibration_images`` draws with
    ``seed``: a benchmark can then judge an INT8 file on images its calibration never saw."""
    from ferkit.seed import seed_everything

    rng = seed_everything(seed)
    return np.sort(rng.permutation(total)[:max(1, int(n))])


def quantize_onnx(model: str | os.PathLike[str], out_path: str | os.PathLike[str] | None = None,
                  *, calibration: np.ndarray, calibration_note: str = "",
                  method: str = "minmax", per_channel: bool = True, holdout: float = 0.25,
                  batch_size: int = 32, reduce_range: bool = True,
                  float_nodes: Sequence[str] = ()) -> QuantizeResult:
    """Quantize a ferkit ``.onnx`` (or a ``.safetensors`` checkpoint, exported first) to INT8.

    ``calibration``: uint8 face crops (N,H,W[,C]); the last ``holdout`` fraction is not used for
    calibration but to measure agreement with the float model. ``reduce_range`` (7-bit weights)
    keeps the result exact on CPUs without VNNI (see the module docstring); False gives 8-bit
    weights, a little finer, for files that only ever run on VNNI CPUs. The output keeps all ferkit
    metadata (labels, preprocessing, temperature) and adds ``ferkit.quantization``; it is
    written atomically. ``float_nodes``: names of graph nodes ONNX Runtime leaves in float
    (e.g. ``/backbone/conv_stem/Conv``), for measuring where an INT8 file loses accuracy
    (``benchmarks/bench_int8_exclude.py``); the bundled files quantize every node.
    """
    start = time.perf_counter()
    attr = CALIBRATION_METHODS.get(method)
    src = Path(model)
    images = np.asarray(calibration)
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or len(images) < 2:
        raise ExportError("calibration images must be a uint8 array (N,H,W[,C]) with N >= 2")
    n_cal = max(1, int(round(len(images) * (1.0 - holdout))))
    from ferkit.export.onnx import onnx_for, write_metadata

    with tempfile.TemporaryDirectory(prefix="ferkit-quant-") as tmp:
        float_path = onnx_for(src)  # a checkpoint's cached, parity-checked float export
        meta, props = _read_props(float_path)
        target = Path(out_path) if out_path else src.with_name(src.stem + ".int8.onnx")
        with atomic_path(target) as tmp_out:
            _quantize(float_path, Path(tmp) / "pre.onnx", tmp_out, images[:n_cal], meta,
                      attr, per_channel, batch_size, reduce_range, tuple(float_nodes))
            source = calibration_note or f"{len(images)} images"
            props[QUANT_KEY] = (f"int8 static QDQ, per-channel={per_channel}, "
                                f"{7 if reduce_range else 8}-bit weights, calibration "
                                f"{method} on {n_cal} of {source}; {len(images) - n_cal} "
                                "held out for the agreement check"
                                + (f"; float nodes: {', '.join(float_nodes)}" if float_nodes
                                   else ""))
            write_metadata(tmp_out, props)
            held = images[n_cal:] if n_cal < len(images) else images
            agreement, diff = _agreement(float_path, tmp_out, held, meta.info, meta.temperature)
        float_size = float_path.stat().st_size
    return QuantizeResult(
        path=target, format="onnx-int8", model=meta.model, source=str(src), method=method,
        calibration={"images": n_cal, "held_out": int(len(images) - n_cal),
                     "note": calibration_note, "per_channel": per_channel,
                     "weight_bits": 7 if reduce_range else 8},
        agreement=agreement, max_prob_diff=diff, size_bytes=target.stat().st_size,
        float_size_bytes=float_size, seconds=round(time.perf_counter() - start, 3),
        labels=tuple(meta.info.labels))


def cpu_has_vnni() -> bool | None:
    """Whether this x86 CPU has VNNI (AVX512-VNNI or AVX-VNNI), from Linux's /proc/cpuinfo;
    None where that cannot be told (other systems, other architectures)."""
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), None)
    return None if flags is None else bool({"avx512_vnni", "avx_vnni"} & set(flags))


def saturation_warning(props: dict[str, str], path: str | os.PathLike[str]) -> str | None:
    """A one-line warning when an INT8 file with 8-bit weights (ferkit before 2026-12-01, or
    ``--full-range``) is about to run on an x86 CPU without VNNI, where its integer kernels
    saturate (see the module docstring); None otherwise."""
    note = props.get(QUANT_KEY)
    if not note or "7-bit weights" in note or cpu_has_vnni() is not False:
        return None
    return (f"{str(path)!r} is INT8 with 8-bit weights and this CPU has no VNNI: ONNX Runtime's "
            "integer kernels saturate here and lose accuracy (6-8 points for ferkit's bundled "
            "models); re-export it with 'ferkit export --format onnx-int8' (7-bit weights) or "
            "run the float model")


def _read_props(path: Path):
    import onnx

    from ferkit.export.onnx import parse_metadata

    model = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in model.metadata_props}
    meta = parse_metadata(props, path)
    if QUANT_KEY in props:
        raise ExportError(f"{str(path)!r} is already quantized ({props[QUANT_KEY]})")
    return meta, props


def _quantize(float_path: Path, pre_path: Path, out: Path, images: np.ndarray, meta, attr: str,
              per_channel: bool, batch_size: int, reduce_range: bool,
              float_nodes: tuple[str, ...] = ()) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from ferkit.preprocess import to_model_input_numpy

    batches = [to_model_input_numpy(images[i:i + batch_size], meta.info)
               for i in range(0, len(images), batch_size)]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(batches)

        def get_next(self):
            x = next(self._it, None)
            return None if x is None else {meta.input_name: x}

    try:  # ORT's histogram calibrators print() progress: stdout is reserved for --json
        with contextlib.redirect_stdout(sys.stderr):
            quant_pre_process(str(float_path), str(pre_path))
            _check_nodes(pre_path, float_nodes)
            quantize_static(str(pre_path), str(out), Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=per_channel, reduce_range=reduce_range,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=getattr(CalibrationMethod, attr),
                            nodes_to_exclude=list(float_nodes))
    except ExportError:
        raise
    except Exception as exc:  # ORT raises many types; one line for the user
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(f"INT8 quantization failed: {type(exc).__name__}: {first}") from None


def _check_nodes(model_path: Path, names: tuple[str, ...]) -> None:
    """ONNX Runtime ignores ``nodes_to_exclude`` names the graph lacks: a typo would quietly
    quantize everything, so unknown names are an error."""
    if not names:
        return
    import onnx

    known = {node.name for node in onnx.load(str(model_path)).graph.node}
    missing = [n for n in names if n not in known]
    if missing:
        raise ExportError(f"float node(s) not in the graph: {', '.join(missing)}; list node "
                          "names with onnx.load(PATH).graph.node")


def _agreement(float_path: Path, int8_path: Path, images: np.ndarray, info,
               temperature: float) -> tuple[float, float]:
    from ferkit.export.onnx import make_session
    from ferkit.preprocess import to_model_input_numpy
    from ferkit.probability import softmax

    x = to_model_input_numpy(images, info)
    probs = []
    for path in (float_path, int8_path):
        sess = make_session(path, threads=1)
        probs.append(softmax(sess.run(None, {sess.get_inputs()[0].name: x})[0], temperature))
    agree = float(np.mean(probs[0].argmax(1) == probs[1].argmax(1)))
    return agree, float(np.abs(probs[0] - probs[1]).max())
