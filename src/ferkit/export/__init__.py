"""Model export. Formats live in the ``EXPORT_FORMATS`` registry (``onnx`` for now).

Each format is ``fn(checkpoint, out_path=None, **options) -> result`` with a ``to_dict()``;
``export_model`` dispatches by name so the CLI never branches on format strings.
"""

from __future__ import annotations

import os
from typing import Any

from ferkit.registry import Registry

EXPORT_FORMATS: Registry = Registry("export format")


def _onnx(checkpoint, out_path=None, **options):
    from ferkit.export.onnx import export_onnx

    return export_onnx(checkpoint, out_path, **options)


EXPORT_FORMATS.add("onnx", _onnx, suffix=".onnx")


def export_model(checkpoint: str | os.PathLike[str], format: str = "onnx",
                 out_path: str | os.PathLike[str] | None = None, **options: Any):
    """Export ``checkpoint`` to ``format`` (a registered name); see the format's function."""
    return EXPORT_FORMATS.get(format)(checkpoint, out_path, **options)


__all__ = ["EXPORT_FORMATS", "export_model"]
