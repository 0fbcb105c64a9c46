"""Model export. Formats live in the ``EXPORT_FORMATS`` registry (``onnx`` for now).

Each format is ``fn(checkpoint, out_path=None, **options) -> result`` with a ``to_dict()``;
``export_model`` dispatches by name so the CLI never branches on format strings.
"""

from __future__ import annotations

import os
from typing import Any

from ferkit.registry import Registry

EXPORT_FORMATS: Registry = Registry("export format")


def _onnx(checkpoint, out_path=None, *, calibration=None, **options):
    from ferkit.errors import ExportError
    from ferkit.export.onnx import export_onnx

    if calibration is not None:
        raise ExportError("--calibration is for --format onnx-int8; format 'onnx' is float32")
    return export_onnx(checkpoint, out_path, **options)


def _onnx_int8(checkpoint, out_path=None, *, calibration=None, calibration_split="train",
               calibration_size=512, calibration_method="minmax", check=True, opset=None,
               seed=0, reduce_range=True, **options):
    """Static INT8: ``calibration`` is a dataset path (or loaded Dataset) to calibrate on."""
    from ferkit.errors import ExportError
    from ferkit.export.quantize import calibration_images, quantize_onnx

    if calibration is None:
        raise ExportError("format 'onnx-int8' needs calibration images: pass --calibration DATA "
                          "(a dataset; its training split is used by default)")
    if opset is not None or options:
        raise ExportError("format 'onnx-int8' takes no --opset (it quantizes the default float "
                          "export)")
    images, note = calibration_images(calibration, calibration_split, calibration_size,
                                      seed=seed)
    return quantize_onnx(checkpoint, out_path, calibration=images, calibration_note=note,
                         method=calibration_method, reduce_range=reduce_range)


EXPORT_FORMATS.add("onnx", _onnx, suffix=".onnx")
EXPORT_FORMATS.add("onnx-int8", _onnx_int8, suffix=".int8.onnx")


def export_model(checkpoint: str | os.PathLike[str], format: str = "onnx",
                 out_path: str | os.PathLike[str] | None = None, **options: Any):
    """Export ``checkpoint`` to ``format`` (a registered name); see the format's function.

    ``checkpoint`` may be a bundled model name (``default``, ``fast``): its float checkpoint is
    exported, by default to ``./<name><suffix>`` (never into the installed package).
    """
    from pathlib import Path

    from ferkit.bundled import BUNDLED, is_bundled_name, resolve_model
    from ferkit.io import check_writable_file

    fn = EXPORT_FORMATS.get(format)
    if checkpoint is not None and is_bundled_name(checkpoint):
        name = str(checkpoint)
        if out_path is None:
            out_path = Path(f"{name}{EXPORT_FORMATS.meta(format).get('suffix', '')}")
        checkpoint = BUNDLED.get(name).path("torch")
    else:
        checkpoint = resolve_model(checkpoint, "torch")  # a mistyped name → did-you-mean
    if out_path is not None:  # before the export's minutes of work, not after
        check_writable_file(out_path)
    return fn(checkpoint, out_path, **options)


__all__ = ["EXPORT_FORMATS", "export_model"]
