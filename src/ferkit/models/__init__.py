"""The model zoo: ``create_model(name, ...)`` and ``list_models()``, as in timm.

Each family lives in one module that registers its builders on ``MODELS``; importing this package
imports them all. A builder takes ``num_classes``, ``in_chans``, ``pretrained`` and its own kwargs,
and returns an ``nn.Module`` with a ``ferkit_info`` attribute (``ferkit.types.ModelInfo``).
"""

from __future__ import annotations

from ferkit.models._api import MODELS, create_model, get_model_info, list_models

# Family modules register themselves on import.
from ferkit.models import tiny  # noqa: E402,F401  isort: skip

__all__ = ["MODELS", "create_model", "get_model_info", "list_models"]
