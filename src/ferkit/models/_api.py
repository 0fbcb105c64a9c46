"""Registry and factory behind ``ferkit.models``."""

from __future__ import annotations

from typing import Any

from ferkit.errors import ConfigError
from ferkit.registry import Registry
from ferkit.types import ModelInfo

MODELS: Registry = Registry("model")


def create_model(name: str, num_classes: int = 7, in_chans: int = 1, pretrained: bool = False,
                 **kwargs: Any):
    """Build a registered model; the result carries ``ferkit_info`` (ModelInfo)."""
    builder = MODELS.get(name)
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ConfigError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    if in_chans not in (1, 3):
        raise ConfigError(f"in_chans must be 1 or 3, got {in_chans!r}")
    try:
        model = builder(num_classes=num_classes, in_chans=in_chans, pretrained=pretrained, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"model {name!r}: {exc}") from None
    info = getattr(model, "ferkit_info", None)
    if not isinstance(info, ModelInfo):
        raise TypeError(f"model builder {name!r} did not set ferkit_info")
    return model


def get_model_info(name: str, **kwargs: Any) -> ModelInfo:
    return create_model(name, **kwargs).ferkit_info


def list_models(pattern: str = "*", *, include_test: bool = True) -> list[str]:
    """Registered model names matching a glob ``pattern``."""
    import fnmatch

    names = [n for n in MODELS.names() if fnmatch.fnmatch(n, pattern)]
    if not include_test:
        names = [n for n in names if not n.endswith("_test")]
    return names
