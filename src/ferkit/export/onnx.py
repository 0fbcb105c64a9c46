"""ONNX export with ferkit metadata embedded and a torch-vs-ONNX-Runtime parity check.

The exported graph takes the *normalised* float tensor ``(N, C, S, S)`` that
``ferkit.preprocess.to_model_input`` produces and returns raw logits ``(N, K)``. Preprocessing
(resize, channel match, /255, mean/std) deliberately stays outside the graph, in the one shared
Python function, so torch, ONNX Runtime, training and evaluation can never drift apart; the
recipe travels inside the file as ``metadata_props`` (``ferkit.info`` etc.) and the ONNX backend
reads it back. Temperature scaling is applied by the backend, not baked into the logits.

Two exporters are registered: ``torchscript`` (torch's classic tracer: fast, needs nothing
beyond torch) and ``dynamo`` (``torch.export``-based; needs the ``onnxscript`` package).
``auto`` uses the first one that works.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ferkit import __version__
from ferkit.errors import CheckpointError, ExportError
from ferkit.io import atomic_path
from ferkit.registry import Registry

#: ONNX exporters by name: ``fn(model, example, path, opset, dynamic_batch) -> None``.
ONNX_EXPORTERS: Registry = Registry("ONNX exporter")
AUTO_ORDER = ("torchscript", "dynamo")  # fast and dependency-free first
DEFAULT_OPSET = 17
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
META_PREFIX = "ferkit."
PREPROCESSING_NOTE = (
    "input is the normalised float32 tensor (N,C,S,S) from ferkit.preprocess.to_model_input: "
    "uint8 crop resized to S (interpolation), channels matched, /255, then (x-mean)/std; "
    "output is raw logits (divide by temperature before softmax)"
)


@dataclass
class ExportResult:
    """What ``export_onnx`` produced and how well it matches the torch model."""

    path: Path
    format: str
    model: str
    opset: int
    exporter: str
    input_shape: tuple[Any, ...]
    labels: tuple[str, ...]
    checked: bool
    max_abs_diff: float | None
    atol: float
    size_bytes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        from ferkit.io import to_jsonable

        return to_jsonable(self)


def _export_torchscript(model, example, path: Path, opset: int, dynamic_batch: bool) -> None:
    import torch

    axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's deprecation and tracing chatter
        torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes=axes, do_constant_folding=True)


def _export_dynamo(model, example, path: Path, opset: int, dynamic_batch: bool) -> None:
    import importlib.util

    import torch

    if importlib.util.find_spec("onnxscript") is None:
        raise ExportError("the 'dynamo' ONNX exporter needs the onnxscript package "
                          "(pip install onnxscript); or use exporter='torchscript'")
    shapes = None
    if dynamic_batch:
        shapes = ({0: torch.export.Dim("batch", min=1)},)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(path), dynamo=True, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_shapes=shapes, external_data=False, verbose=False)


ONNX_EXPORTERS.add("torchscript", _export_torchscript)
ONNX_EXPORTERS.add("dynamo", _export_dynamo)


def metadata_props(meta, *, opset: int) -> dict[str, str]:
    """The ``metadata_props`` ferkit writes: preprocessing recipe, labels, and the full meta."""
    info = meta.info
    return {
        f"{META_PREFIX}format_version": "1",
        f"{META_PREFIX}model": meta.model,
        f"{META_PREFIX}version": __version__,
        f"{META_PREFIX}labels": json.dumps(list(info.labels)),
        f"{META_PREFIX}input_size": str(info.input_size),
        f"{META_PREFIX}in_chans": str(info.in_chans),
        f"{META_PREFIX}mean": json.dumps(list(info.mean)),
        f"{META_PREFIX}std": json.dumps(list(info.std)),
        f"{META_PREFIX}interpolation": info.interpolation,
        f"{META_PREFIX}temperature": repr(float(meta.temperature or 1.0)),
        f"{META_PREFIX}input_name": INPUT_NAME,
        f"{META_PREFIX}opset": str(opset),
        f"{META_PREFIX}preprocessing": PREPROCESSING_NOTE,
        f"{META_PREFIX}info": json.dumps(meta.to_dict()["info"]),
        f"{META_PREFIX}meta": json.dumps(meta.to_dict()),
    }


def _run_exporter(name: str, model, example, path: Path, opset: int, dyn: bool) -> str:
    """Run exporter ``name`` ('auto' tries each in turn); return the name that worked."""
    names = AUTO_ORDER if name == "auto" else (name,)
    errors = []
    for candidate in names:
        fn: Callable = ONNX_EXPORTERS.get(candidate)
        try:
            fn(model, example, path, opset, dyn)
            return candidate
        except ExportError as exc:
            errors.append(f"{candidate}: {exc}")
        except Exception as exc:  # exporters raise many types; report the first line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            errors.append(f"{candidate}: {type(exc).__name__}: {first}")
    raise ExportError("ONNX export failed (" + "; ".join(errors) + ")")


def _parity_batch(info, batch: int, seed: int = 0):
    """A deterministic uint8 batch put through the real preprocessing (what inference feeds)."""
    from ferkit.preprocess import to_model_input

    rng = np.random.default_rng(seed)
    shape = (batch, info.input_size, info.input_size) + ((3,) if info.in_chans == 3 else ())
    return to_model_input(rng.integers(0, 256, size=shape, dtype=np.uint8), info)


def check_parity(model, onnx_path: str | os.PathLike[str], x, *, atol: float,
                 rtol: float = 1e-3) -> float:
    """Run ``x`` through torch and ONNX Runtime; raise ExportError if they disagree."""
    import torch

    with torch.inference_mode():
        ref = model(x).float().numpy()
    sess = make_session(onnx_path, threads=1)
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    if got.shape != ref.shape:
        raise ExportError(f"ONNX parity check failed: output shape {got.shape} != torch "
                          f"{ref.shape}")
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    max_diff = float(diff.max()) if diff.size else 0.0
    if not np.all(np.isfinite(got)) or np.any(diff > atol + rtol * np.abs(ref)):
        raise ExportError(f"ONNX parity check failed: max abs diff {max_diff:.3g} between torch "
                          f"and ONNX Runtime logits exceeds atol={atol:g} (rtol={rtol:g})")
    return max_diff


def make_session(path: str | os.PathLike[str], *, threads: int | None = None,
                 optimize: bool = True):
    """An ONNX Runtime CPU session tuned for throughput (see ``session_options``)."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), sess_options=session_options(threads, optimize),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own (Fail, InvalidGraph, NoSuchFile...)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{str(path)!r} is not a loadable ONNX model: {first}") from None


def session_options(threads: int | None = None, optimize: bool = True):
    """Throughput settings: one intra-op thread per physical core, all graph optimisations,
    sequential execution (these CNNs are a chain, so inter-op parallelism only adds overhead).
    ``optimize=False`` runs the graph as written: for an INT8 file the exact QDQ maths
    (dequantize → float op → quantize) instead of the CPU's fused integer kernels, the
    reference that tells a kernel's saturation from quantisation itself."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads or physical_cores())
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    so.log_severity_level = 3  # errors only: no warnings on stderr for --json users
    return so


def physical_cores() -> int:
    """Physical cores available to this process (SMT siblings don't help GEMM-bound CNNs)."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS/Windows
        available = os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    try:
        phys = core = ""
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "physical id":
                phys = value.strip()
            elif key == "core id":
                core = value.strip()
                cores.add((phys, core))
    except OSError:
        pass
    return max(1, min(available, len(cores) or available))


def export_onnx(checkpoint: str | os.PathLike[str], out_path: str | os.PathLike[str] | None = None,
                *, opset: int = DEFAULT_OPSET, dynamic_batch: bool = True, check: bool = True,
                atol: float = 1e-3, exporter: str = "auto") -> ExportResult:
    """Export a ferkit ``.safetensors`` checkpoint to ONNX with metadata; verify parity.

    ``out_path`` defaults to the checkpoint path with ``.onnx``. The file is written atomically:
    if export or the parity check fails, nothing appears at ``out_path``.

    >>> export_onnx("runs/x/best.safetensors", "model.onnx").max_abs_diff  # doctest: +SKIP
    2.1e-06
    """
    import torch

    from ferkit.checkpoint import load_model

    if exporter != "auto":
        ONNX_EXPORTERS.get(exporter)  # unknown name → UnknownNameError before any work
    if not 7 <= int(opset) <= 23:
        raise ExportError(f"opset must be between 7 and 23, got {opset}")
    start = time.perf_counter()
    model, meta = load_model(checkpoint)
    target = Path(out_path) if out_path else Path(checkpoint).with_suffix(".onnx")
    info = meta.info
    example = _parity_batch(info, 2, seed=1)
    with atomic_path(target) as tmp:
        with torch.no_grad():
            used = _run_exporter(exporter, model, example, tmp, int(opset), dynamic_batch)
        write_metadata(tmp, metadata_props(meta, opset=int(opset)))
        max_diff = None
        if check:  # a batch size other than the traced one also proves the dynamic axis
            x = _parity_batch(info, 5 if dynamic_batch else 2, seed=2)
            max_diff = check_parity(model, tmp, x, atol=atol)
    shape = ("batch" if dynamic_batch else 2, info.in_chans, info.input_size, info.input_size)
    return ExportResult(path=target, format="onnx", model=meta.model, opset=int(opset),
                        exporter=used, input_shape=shape, labels=tuple(info.labels),
                        checked=check, max_abs_diff=max_diff, atol=atol,
                        size_bytes=target.stat().st_size,
                        seconds=round(time.perf_counter() - start, 3))


def write_metadata(path: Path, props: dict[str, str]) -> None:
    """Replace the ``ferkit.*`` metadata of the ONNX file at ``path`` (export and INT8 share it)."""
    import onnx

    model = onnx.load(str(path))
    keep = [p for p in model.metadata_props if not p.key.startswith(META_PREFIX)]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "ferkit"
    model.producer_version = __version__
    model.doc_string = PREPROCESSING_NOTE
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        first = (str(exc).strip().splitlines() or ["invalid model"])[0]
        raise ExportError(f"exported ONNX graph is invalid: {first}") from None
    onnx.save(model, str(path))


@dataclass(frozen=True)
class OnnxMeta:
    """ferkit metadata read back from an exported ``.onnx``."""

    model: str
    info: Any  # ModelInfo
    temperature: float
    input_name: str
    meta: dict[str, Any]


def parse_metadata(props: dict[str, str], path: str | os.PathLike[str]) -> OnnxMeta:
    """Rebuild ``OnnxMeta`` from ``metadata_props``; CheckpointError if ferkit's are missing."""
    from ferkit.types import ModelInfo

    raw = props.get(f"{META_PREFIX}info")
    if raw is None:
        raise CheckpointError(
            f"{str(path)!r} has no ferkit metadata (labels, input size, mean/std); export it "
            "with 'ferkit export CHECKPOINT --format onnx'"
        )
    try:
        info = ModelInfo.from_dict(json.loads(raw))
        meta = json.loads(props.get(f"{META_PREFIX}meta", "{}"))
        temperature = float(props.get(f"{META_PREFIX}temperature", "1.0"))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{str(path)!r} has corrupt ferkit metadata: {exc}") from None
    return OnnxMeta(model=props.get(f"{META_PREFIX}model", info.name), info=info,
                    temperature=temperature,
                    input_name=props.get(f"{META_PREFIX}input_name", INPUT_NAME), meta=meta)


def read_onnx_meta(path: str | os.PathLike[str]) -> OnnxMeta:
    """Read ferkit metadata from an ``.onnx`` file without building a session."""
    import onnx

    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"ONNX file {str(p)!r} does not exist")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as exc:
        raise CheckpointError(f"{str(p)!r} is not a readable ONNX file: {exc}") from None
    return parse_metadata({e.key: e.value for e in model.metadata_props}, p)


def onnx_for(path: str | os.PathLike[str]) -> Path:
    """An ``.onnx`` as is; a ``.safetensors`` checkpoint → its parity-checked export, made once
    and cached as ``cache_dir()/onnx/<content hash>-opset<N>.onnx`` (the ONNX backend and the
    INT8 quantizer share it)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model file {str(path)!r} does not exist")
    if path.suffix == ".onnx":
        return path
    if path.suffix != ".safetensors":
        raise CheckpointError(f"{str(path)!r}: expected a .onnx file or a ferkit .safetensors "
                              "checkpoint")
    from ferkit.io import cache_dir

    cached = cache_dir() / "onnx" / f"{_file_key(path)}-opset{DEFAULT_OPSET}.onnx"
    if not cached.is_file():
        export_onnx(path, cached, opset=DEFAULT_OPSET, check=True)
    return cached


def _file_key(path: Path) -> str:
    """Content hash of a checkpoint (+ ferkit version): a changed file never hits a stale cache."""
    import hashlib

    h = hashlib.sha256(__version__.encode())
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:24]
