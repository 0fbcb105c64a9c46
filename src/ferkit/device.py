"""Validate a torch device name before any work, with one line that says what to use instead.

``torch.device("tpu")`` raises a RuntimeError listing twenty device types, and ``"cuda"`` on a
machine without a GPU fails only at the first tensor move, deep inside evaluation.
"""

from __future__ import annotations

from ferkit.errors import ConfigError


def check_device(name: str, what: str = "--device"):
    """``torch.device(name)`` if it exists and is usable here, else ConfigError."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"{what} {name!r} is not a torch device; use cpu, cuda, cuda:N or "
                          f"mps (available here: {', '.join(available_devices())})") from None
    if device.type == "cpu":
        return device
    backend = getattr(torch, device.type, None)
    if device.type == "mps":
        backend = getattr(torch.backends, "mps", None)
    ok = bool(backend is not None and getattr(backend, "is_available", lambda: False)())
    count = getattr(backend, "device_count", lambda: 1)() if ok else 0
    if not ok or (device.index is not None and device.index >= count):
        raise ConfigError(f"{what} {name!r}: no such device on this machine (available: "
                          f"{', '.join(available_devices())}); use --device cpu")
    return device


def available_devices() -> list[str]:
    import torch

    out = ["cpu"]
    if torch.cuda.is_available():
        out += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out
