"""Distillation teachers: loading them, running them (torch or ONNX Runtime), averaging them.

Teachers are frozen ferkit checkpoints (or bundled model names) whose labels and input channels
match the student's. Each may run at its own input size: ``mean_teacher_logits`` resizes the
batch for each and normalises it with that teacher's mean/std. Where they run is
``distill.runtime``: on a CPU (``auto``) ONNX Runtime runs these CNNs 2.5-4.9x faster than torch
(benchmarks/results/teacher-runtime-2026-11-30.md), and teacher forward passes are most of a
distillation's cost, both live (every training step) and cached (``ferkit.train.teacher_cache``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ferkit.preprocess import normalize

log = logging.getLogger(__name__)


def teacher_files(paths: list[str]) -> list[Path]:
    """The checkpoint file behind each ``distill.teachers`` entry (bundled names resolved)."""
    from ferkit.bundled import resolve_model

    return [Path(resolve_model(p, "torch")) for p in paths]


def check_teachers(paths: list[str], student_info) -> list[Path]:
    """The teachers' checkpoint files, after checking from their metadata alone (no weights
    loaded) that labels and input channels match the student's."""
    from ferkit.checkpoint import read_meta
    from ferkit.errors import ConfigError

    files = teacher_files(paths)
    for path, file in zip(paths, files, strict=True):
        meta = read_meta(file)
        if tuple(meta.labels) != tuple(student_info.labels):
            raise ConfigError(f"distill.teachers: {path!r} predicts {list(meta.labels)}, the "
                              f"student {list(student_info.labels)}; teachers need the same "
                              "label order")
        if meta.info.in_chans != student_info.in_chans:
            raise ConfigError(f"distill.teachers: {path!r} takes {meta.info.in_chans}-channel "
                              f"input, the student {student_info.in_chans}")
    return files


def load_teachers(paths: list[str], student_info) -> list[nn.Module]:
    """Frozen teacher models for distillation (checkpoints or bundled model names); their
    labels must match the student's."""
    return load_frozen(check_teachers(paths, student_info))


def load_frozen(files: list[Path]) -> list[nn.Module]:
    """The models in checked checkpoint ``files`` (``check_teachers``): frozen, eval mode."""
    from ferkit.checkpoint import load_model

    teachers = []
    for file in files:
        model, _ = load_model(file)
        for p in model.parameters():
            p.requires_grad_(False)
        teachers.append(model.eval())
    return teachers


class OnnxTeacher:
    """A teacher run by ONNX Runtime, called like the torch module it replaces: normalised
    float (N, C, S, S) in, logits out (on the input's device); ``ferkit_info`` tells
    ``mean_teacher_logits`` its size and normalisation. The ONNX file is ferkit's own
    parity-checked export, made once per checkpoint (``ferkit.export.onnx.onnx_for``)."""

    def __init__(self, checkpoint: Path, info, threads: int) -> None:
        from ferkit.export.onnx import make_session, onnx_for

        self.ferkit_info = info
        self.session = make_session(onnx_for(checkpoint), threads=threads)
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        a = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(self.session.run(None, {self.input_name: a})[0]).to(x.device)


def resolve_runtime(runtime: str, device: torch.device) -> str:
    """``auto`` → ONNX Runtime on a CPU, torch on an accelerator."""
    if runtime == "auto":
        return "onnx" if device.type == "cpu" else "torch"
    return runtime


def place_teachers(runtime: str, paths: list[str], teachers: list[nn.Module],
                   device: torch.device, channels_last: bool) -> tuple[list, bool]:
    """The teachers as they will run on ``device``, and whether they take channels-last
    input: ONNX Runtime sessions (one per teacher, torch's thread count) or the torch modules
    moved to ``device``. With ``auto``, a teacher network that does not export to ONNX runs
    in torch instead (logged); an explicit ``onnx`` raises."""
    if resolve_runtime(runtime, device) == "onnx":
        from ferkit.errors import FerkitError

        threads = torch.get_num_threads()
        try:
            return [OnnxTeacher(f, t.ferkit_info, threads)
                    for f, t in zip(teacher_files(paths), teachers, strict=True)], False
        except FerkitError as exc:
            if runtime != "auto":
                raise
            log.warning("distill.runtime=auto: running the teachers in torch (%s)", exc)
    if channels_last:
        return [t.to(device=device, memory_format=torch.channels_last) for t in teachers], True
    return [t.to(device) for t in teachers], False


@torch.no_grad()
def mean_teacher_logits(teachers: list, x: torch.Tensor,
                        channels_last: bool = False) -> torch.Tensor:
    """Mean logits of ``teachers`` on ``x`` (floats in [0,1], N,C,H,W); each teacher sees the
    batch resized to its own input size and normalised with its own mean/std."""
    out = []
    for teacher in teachers:
        info = teacher.ferkit_info
        size = info.input_size
        xt = x.clone() if x.shape[-1] == size else F.interpolate(  # normalising is in place
            x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        xt = normalize(xt, info)
        if channels_last:
            xt = xt.contiguous(memory_format=torch.channels_last)
        out.append(teacher(xt).float())
    return torch.stack(out).mean(0)
