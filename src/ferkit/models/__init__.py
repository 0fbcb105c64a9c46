"""The model zoo: ``create_model(name, ...)`` and ``list_models()``, as in timm.

Each family lives in one module that registers its builders on ``MODELS``; importing this package
imports them all. A builder takes ``num_classes``, ``in_chans``, ``pretrained`` and its own kwargs,
and returns an ``nn.Module`` with a ``ferkit_info`` attribute (``ferkit.types.ModelInfo``).
Registry metadata per entry: ``family``, ``reference``, ``paper_accuracy`` (if reported) and
``has_weights`` (offline pretrained weights available) and ``composite`` (built from other
models' checkpoints, e.g. ``mean_ensemble``: no standalone shape, so ``list_models`` leaves it out
unless asked for by name or ``include_composite=True``).
"""

from __future__ import annotations

from ferkit.models._api import MODELS, create_model, get_model_info, list_models
from ferkit.models._summary import ModelSummary, count_macs, count_params, summarize

# Family modules register themselves on import.
from ferkit.models import tiny  # noqa: E402,F401  isort: skip
from ferkit.models import (  # noqa: E402,F401  isort: skip
    agrawal, alizadeh, efficientnet, khaireddin, merged, mobilenet_small, patches, pramerdorfer,
    timm_small, vulpe,
)

__all__ = ["MODELS", "ModelSummary", "count_macs", "count_params", "create_model",
           "get_model_info", "list_models", "summarize"]
