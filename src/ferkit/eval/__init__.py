"""ferkit.eval: metrics, calibration, reports and plots.

>>> from ferkit.eval import evaluate                                   # doctest: +SKIP
>>> report = evaluate("runs/x/best.safetensors", "data/fer2013", tta="flip")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__all__ = ["EvalReport", "evaluate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ferkit.eval import report

        return getattr(report, name)
    raise AttributeError(name)
