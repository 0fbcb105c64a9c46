"""Detector options (``-D KEY=VALUE``) checked against the detector's own constructor.

Options arrive as YAML scalars from the command line (``max_side=abc`` is the string "abc").
Passing them straight to a constructor gives TypeErrors deep inside OpenCV, or worse, silently
wrong behaviour (``max_side=-5`` finds nothing, ``eyes=maybe`` is truthy). Instead the keyword
parameters and their annotations are read from the detector class (found from the registered
factory's return annotation when the factory is a function), so every detector, including ones
added later, gets the same checks without code of its own: unknown keys, wrong types, and the
ranges of the options detectors share by name (``RANGES``). A factory whose parameters cannot be
read is left alone.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from ferkit.errors import ConfigError

#: ranges of option names shared across detectors: (low, high, low exclusive)
RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    "max_side": (1, None, False), "detect_scale": (0.0, 1.0, True),
    "min_size": (1, None, False), "min_neighbors": (0, None, False),
    "upsample": (0, None, False), "top_k": (1, None, False),
    "score_threshold": (0.0, 1.0, False), "nms_threshold": (0.0, 1.0, False),
}
_NONE_WORDS = ("none", "null", "~", "")


def check_detector_options(name: str, factory: Any, options: dict[str, Any]) -> dict[str, Any]:
    """Validated (and type-coerced) ``options`` for the detector registered as ``name``."""
    params = _parameters(factory)
    if params is None:
        return dict(options)
    out = {}
    for key, value in options.items():
        if key not in params:
            valid = ", ".join(sorted(params)) or "none"
            raise ConfigError(f"detector {name!r} has no option {key!r}; its options: {valid}")
        out[key] = _coerce(name, key, value, *params[key])
        _check_range(name, key, out[key])
    return out


def _parameters(factory: Any) -> dict[str, Any] | None:
    """keyword → (annotation, default) of the constructor behind ``factory``; None if unknown."""
    target = factory
    if not inspect.isclass(target):
        try:
            ret = typing.get_type_hints(factory).get("return")
        except Exception:
            return None
        if not inspect.isclass(ret):
            return None
        target = ret
    for cls in target.__mro__:
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        sig = inspect.signature(init)
        named = {n: p for n, p in sig.parameters.items() if n != "self"
                 and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not named and any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            continue  # ``def __init__(self, **options)``: the parameters are a base class's
        try:
            hints = typing.get_type_hints(init)
        except Exception:
            hints = {}
        return {n: (hints.get(n, Any), p.default) for n, p in named.items()}
    return None


def _coerce(name: str, key: str, value: Any, annotation: Any, default: Any) -> Any:
    kinds = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    optional = type(None) in kinds
    kinds = tuple(k for k in kinds if k is not type(None))
    if value is None or (optional and isinstance(value, str) and value.lower() in _NONE_WORDS):
        if optional:
            return None
        raise ConfigError(f"detector {name!r} option {key}: a value is required, got {value!r}")
    for kind in kinds:
        if kind is Any:
            return value
        if kind is bool:
            if isinstance(value, bool):
                return value
        elif kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
        elif kind is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        elif inspect.isclass(kind) and isinstance(value, kind):
            return value
    wanted = " or ".join([_kind_name(k) for k in kinds] + (["none"] if optional else []))
    example = "" if default in (inspect.Parameter.empty, None) else (
        f" (default: -D {key}={str(default).lower() if isinstance(default, bool) else default})")
    raise ConfigError(f"detector {name!r} option {key}={value!r}: expected {wanted}{example}")


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _kind_name(kind: Any) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "text"}.get(
        kind, getattr(kind, "__name__", str(kind)))


def _check_range(name: str, key: str, value: Any) -> None:
    if key not in RANGES or value is None or isinstance(value, bool):
        return
    lo, hi, lo_open = RANGES[key]
    bad = (lo is not None and (value <= lo if lo_open else value < lo)) or (
        hi is not None and value > hi)
    if bad:
        low = "" if lo is None else (f"> {lo:g}" if lo_open else f">= {lo:g}")
        high = "" if hi is None else f"<= {hi:g}"
        rule = " and ".join(r for r in (low, high) if r)
        raise ConfigError(f"detector {name!r} option {key}={value!r} is out of range: it must "
                          f"be {rule}")
