"""ferkit — facial emotion recognition: reproduce, train, evaluate and run FER models offline.

The package root stays import-light (no torch) so that data commands start in well under a
second; heavy objects are reached through lazy attributes.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "create_model": "ferkit.models",
    "list_models": "ferkit.models",
    "load_dataset": "ferkit.data",
    "seed_everything": "ferkit.seed",
    "load_checkpoint": "ferkit.checkpoint",
    "load_model": "ferkit.checkpoint",
    "merge_checkpoints": "ferkit.ensemble.merge",
    "EMOTIONS": "ferkit.types",
    "Pipeline": "ferkit.inference.pipeline",
    "results_to_frame": "ferkit.frames",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ferkit' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["__version__", *_LAZY]
