"""Classifier backends: uint8 face crops → calibrated class probabilities.

The Pipeline only talks to this interface, so torch and ONNX Runtime are interchangeable and the
preprocessing always comes from the model's own ``ModelInfo`` (via ``ferkit.preprocess``).
Backends register on ``BACKENDS``; ``load_backend(checkpoint, backend=...)`` picks one by name.
"""

from __future__ import annotations

import logging
import os
import time
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from ferkit.probability import softmax
from ferkit.registry import Registry
from ferkit.types import ModelInfo

BACKENDS: Registry = Registry("backend")
#: batches up to this size may run on the ONNX backend's single-thread twin session
SMALL_BATCH = 4
#: runs per timed block when the ONNX backend first meets a small batch (two blocks a session)
SMALL_PROBE_RUNS = 5
#: a small-batch session choice older than this many seconds is timed again at the next small batch
SMALL_REPROBE_S = 30.0
#: ``predict_proba`` runs the model on at most this many crops at a time, so memory stays bounded
#: whatever a caller hands over (28,709 crops of 112 px in one torch call were OOM-killed at 24 GB)
MAX_BATCH = 256
#: the ONNX backend runs its session on chunks of about this many input pixels (32 crops of 112 px)
CHUNK_PIXELS = 32 * 112 * 112


def onnx_chunk(input_size: int) -> int:
    """Crops per ONNX Runtime call for a model of this input size.

    Why: one big call is not the fastest way through a large batch on a CPU. On a 2-core Zen 5
    (``benchmarks/results/onnx-chunk-2026-12-02.md``, interleaved rounds) a batch of 256 ran
    1.18x as fast in chunks of 32 as in one call for the INT8 112 px default, 1.17x for
    ``accurate`` and 1.03x (98 crops) for the 64 px ``fast``: a chunk's activations stay in the
    core's cache between layers. At batch 64 chunks of 32 were 1.00-1.05x one call, much
    smaller ones slower (4 crops of 64 px: 0.62x). The budget is in pixels so that larger inputs get
    proportionally smaller chunks: 32 crops of 112 px, 98 of 64 px. Outputs do not depend on
    the chunking: every crop is computed on its own."""
    return max(1, CHUNK_PIXELS // max(1, int(input_size)) ** 2)


class Backend(ABC):
    """A loaded classifier. ``predict_proba`` is the whole contract."""

    info: ModelInfo
    temperature: float = 1.0

    @property
    def labels(self) -> tuple[str, ...]:
        return self.info.labels

    @abstractmethod
    def logits(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops (N,H,W[,C]) of any size → raw logits (N, K) as float32."""

    def predict_proba(self, crops: np.ndarray, *, flip_tta: bool = False) -> np.ndarray:
        """Temperature-scaled softmax; ``flip_tta`` averages with the mirrored crops' logits."""
        crops = np.asarray(crops)
        if crops.shape[0] == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if len(crops) > MAX_BATCH:  # the same answers, in bounded memory
            return np.concatenate([self.predict_proba(crops[i:i + MAX_BATCH], flip_tta=flip_tta)
                                   for i in range(0, len(crops), MAX_BATCH)])
        z = self.logits(crops)
        if flip_tta:
            z = 0.5 * (z + self.logits(np.ascontiguousarray(crops[:, :, ::-1])))
        return softmax(z, self.temperature).astype(np.float32)


@BACKENDS.register("torch")
class TorchBackend(Backend):
    """Eager PyTorch on the CPU (or a given device)."""

    def __init__(self, checkpoint: str | os.PathLike[str], device: str = "cpu",
                 threads: int | None = None) -> None:
        import torch

        if threads:
            torch.set_num_threads(int(threads))
        from ferkit.checkpoint import load_model

        self.model, self.meta = load_model(checkpoint)
        self.device = torch.device(device)
        self.model.to(self.device)
        self.info = self.meta.info
        self.temperature = float(self.meta.temperature or 1.0)
        self.path = Path(checkpoint)

    def logits(self, crops: np.ndarray) -> np.ndarray:
        import torch

        from ferkit.preprocess import to_model_input

        with torch.inference_mode():
            x = to_model_input(crops, self.info).to(self.device)
            return self.model(x).float().cpu().numpy()


@BACKENDS.register("onnx")
class OnnxBackend(Backend):
    """ONNX Runtime on the CPU, tuned for throughput; batches of any size.

    ``path`` is either an exported ``.onnx`` (ModelInfo and temperature come from its ferkit
    metadata) or a ferkit ``.safetensors`` checkpoint, which is exported once (with the parity
    check) to ``cache_dir()/onnx/<content hash>.onnx`` and reused from there.
    """

    def __init__(self, checkpoint: str | os.PathLike[str], threads: int | None = None,
                 chunk: int | None = None) -> None:
        from ferkit.export.onnx import make_session, onnx_for, parse_metadata

        self.path = Path(checkpoint)
        self.onnx_path = onnx_for(self.path)
        self.session = make_session(self.onnx_path, threads=threads)
        # Tiny batches (one face per frame, batch-1 APIs) may lose more to thread hand-offs
        # than they gain from a second core, or not: which wins depends on the CPU and the
        # model (the 64 px model at batch 1 on a Zen 4: 1,300-1,400 faces/s on one thread vs
        # ~1,000-1,200 on two; the 112 px default on an Intel Xeon: ~880 on one vs ~1,100 on
        # two). So a single-thread twin session is kept and the first small batch times both
        # (``_small_session``); the faster one serves every small batch after it.
        self._small = (make_session(self.onnx_path, threads=1)
                       if self.session.get_session_options().intra_op_num_threads > 1 else None)
        self._small_choice = None
        self._small_chosen_at = 0.0
        props = self.session.get_modelmeta().custom_metadata_map
        meta = parse_metadata(dict(props), self.path)
        from ferkit.export.quantize import saturation_warning

        if (warning := saturation_warning(dict(props), self.path)) is not None:
            logging.getLogger(__name__).warning(warning)
        self.info = meta.info
        self.temperature = float(meta.temperature or 1.0)
        self.meta = meta
        self.input_name = self.session.get_inputs()[0].name
        #: crops per session call (``onnx_chunk``); ``chunk=`` overrides it (benchmarks)
        self.chunk = int(chunk) if chunk else onnx_chunk(self.info.input_size)

    def logits(self, crops: np.ndarray) -> np.ndarray:
        from ferkit.preprocess import to_model_input_numpy

        x = to_model_input_numpy(crops, self.info)  # == to_model_input(...).numpy(), no torch
        small = self._small is not None and len(x) <= SMALL_BATCH
        session = self._small_session(x) if small else self.session
        if len(x) <= self.chunk:
            return session.run(None, {self.input_name: x})[0].astype(np.float32, copy=False)
        return np.concatenate([session.run(None, {self.input_name: x[i:i + self.chunk]})[0]
                               for i in range(0, len(x), self.chunk)]).astype(np.float32,
                                                                              copy=False)

    def _small_session(self, x: np.ndarray):
        """The session that runs small batches fastest on this CPU, timed once on the first
        one: after two warm-up runs each, blocks of ``SMALL_PROBE_RUNS`` runs in the order
        twin, main, main, twin (a steady change in load cancels out), the lower total wins.
        Blocks, not alternating single runs: the two-thread session's pool keeps spinning for
        a moment after a run and slowed the twin's next run, which once picked the slower
        session for the 64 px model. Both give the same outputs (the twin is the same graph on
        one thread), so only speed depends on the choice; ~20-40 ms a probe.

        The choice is timed again at the first small batch after ``SMALL_REPROBE_S`` seconds:
        on a shared virtual machine the host's load comes and goes in dips of a few seconds
        (~40% slower, seen on a 2-core Zen 5), and one probe taken in a dip kept the slower
        session for a whole run (the default at batch 1: 1,623 instead of 2,236 faces/s,
        ``classifier-zen5-run{1,2}-2026-12-02.md``). Re-timing costs ~0.1% of the time."""
        now = time.monotonic()
        if self._small_choice is None or now - self._small_chosen_at > SMALL_REPROBE_S:
            feed = {self.input_name: x}
            sessions = (self._small, self.session)
            totals = [0.0, 0.0]
            for session in sessions:
                for _ in range(2):
                    session.run(None, feed)
            for i in (0, 1, 1, 0):
                start = time.perf_counter()
                for _ in range(SMALL_PROBE_RUNS):
                    sessions[i].run(None, feed)
                totals[i] += time.perf_counter() - start
            self._small_choice = sessions[int(totals[1] < totals[0])]
            self._small_chosen_at = time.monotonic()
            logging.getLogger(__name__).debug(
                "small batches: %s thread(s) (%.3f ms a run on one, %.3f ms on %d)",
                self._small_choice.get_session_options().intra_op_num_threads,
                totals[0] * 5e2 / SMALL_PROBE_RUNS, totals[1] * 5e2 / SMALL_PROBE_RUNS,
                self.session.get_session_options().intra_op_num_threads)
        return self._small_choice


def load_backend(checkpoint: str | os.PathLike[str], backend: str = "auto", **kwargs) -> Backend:
    """Instantiate backend ``backend`` (a registered name, or ``auto``: ONNX Runtime for ``.onnx``
    files, torch for checkpoints) for a ferkit checkpoint or exported model."""
    from ferkit.bundled import backend_for

    return BACKENDS.get(backend_for(checkpoint, backend))(checkpoint, **kwargs)
