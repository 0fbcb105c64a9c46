"""Registry and factory behind ``ferkit.models``."""

from __future__ import annotations

import fnmatch
import inspect
from typing import Any

from ferkit.errors import ConfigError
from ferkit.registry import Registry
from ferkit.types import ModelInfo

MODELS: Registry = Registry("model")

_RESERVED = ("num_classes", "in_chans", "pretrained")


def _check_kwargs(name: str, builder: Any, kwargs: dict[str, Any]) -> None:
    """Unknown keyword arguments → ConfigError listing the ones this model accepts."""
    params = inspect.signature(builder).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        valid = [p for p in params if p not in _RESERVED]
        raise ConfigError(
            f"model {name!r} got unknown argument(s) {', '.join(unknown)}; it accepts: "
            f"{', '.join(valid) if valid else '(no extra arguments)'}")


def create_model(name: str, num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                 **kwargs: Any):
    """Build a registered model; the result carries ``ferkit_info`` (ModelInfo).

    ``pretrained=True`` loads offline weights where a model has them (see ``list_models``
    metadata ``has_weights``); ferkit never downloads.

    >>> m = create_model("tinycnn_test", num_classes=3)
    >>> m.ferkit_info.input_size, m.num_features
    (48, 16)
    """
    builder = MODELS.get(name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if isinstance(in_chans, bool) or in_chans not in (1, 3):
        raise ConfigError(f"in_chans must be 1 (grayscale) or 3 (RGB), got {in_chans!r}")
    if not isinstance(pretrained, bool):
        raise ConfigError(f"pretrained must be true or false, got {pretrained!r}")
    if pretrained and not MODELS.meta(name).get("has_weights"):
        with_weights = [n for n in MODELS.names() if MODELS.meta(n).get("has_weights")]
        raise ConfigError(f"model {name!r} has no offline pretrained weights; use "
                          f"pretrained=False or one of: {', '.join(with_weights) or 'none'}")
    _check_kwargs(name, builder, kwargs)
    model = builder(num_classes=num_classes, in_chans=in_chans, pretrained=pretrained, **kwargs)
    info = getattr(model, "ferkit_info", None)
    if not isinstance(info, ModelInfo):
        raise TypeError(f"model builder {name!r} did not set ferkit_info")
    return model


def get_model_info(name: str, **kwargs: Any) -> ModelInfo:
    return create_model(name, **kwargs).ferkit_info


def list_models(pattern: str = "*", *, include_test: bool = True,
                include_composite: bool = False) -> list[str]:
    """Registered model names matching a glob ``pattern`` (``*_test`` ones are tiny test nets).

    Composite models (``mean_ensemble``) are built from trained members, so they have no
    parameter count or MACs of their own: they are listed only when asked for by exact name or
    with ``include_composite=True``.
    """
    names = [n for n in MODELS.names() if fnmatch.fnmatch(n, pattern)
             and (include_composite or n == pattern or not MODELS.meta(n).get("composite"))]
    if not include_test:
        names = [n for n in names if not n.endswith("_test")]
    return names
