"""``ServeConfig``: every knob of the REST server in one typed, validated dataclass.

The CLI (``ferkit serve``) only fills it in; ``create_app(config)`` reads nothing else, so tests and
embedding applications configure the server exactly as the command line does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ferkit.config import check_range
from ferkit.errors import ConfigError
from ferkit.faces.base import DEFAULT_DETECTOR

#: environment variable read when no ``--api-key`` is given
API_KEY_ENV = "FERKIT_API_KEY"


def default_workers() -> int:
    """Inference threads: one per core, at most 4 (Haar and the INT8 model use one core each)."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class ServeConfig:
    """What the server loads and the limits it enforces.

    ``workers``: inference threads (each holds its own face detector; the model is shared).
    ``max_upload_mb``: largest image file accepted (413 above it). ``max_pixels``: decoded-size
    limit checked from the image header (``ferkit.imagelimits``; None = its 64 MP default).
    ``timeout_s``: per-request limit including time queued for a worker (504 after it).
    ``max_queue``: requests allowed to wait for a worker before new ones get 503.
    """

    model: str | None = "default"
    detector: str = DEFAULT_DETECTOR
    backend: str = "auto"
    detector_options: dict[str, Any] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    max_upload_mb: float = 10.0
    max_pixels: int | None = None
    max_batch: int = 16
    workers: int = field(default_factory=default_workers)
    timeout_s: float = 30.0
    max_queue: int = 64
    stream_detect_every: int = 2
    stream_smoothing: float = 0.5
    warmup: bool = True

    def __post_init__(self) -> None:
        check_range("port", self.port, 0, 65535)
        check_range("max_upload_mb", self.max_upload_mb, 0.0, 1024.0, lo_open=True)
        check_range("max_batch", self.max_batch, 1, 256)
        check_range("workers", self.workers, 1, 256)
        check_range("timeout_s", self.timeout_s, 0.0, None, lo_open=True)
        check_range("max_queue", self.max_queue, 0, None)
        check_range("stream_detect_every", self.stream_detect_every, 1, 100)
        check_range("stream_smoothing", self.stream_smoothing, 0.0, 1.0, lo_open=True)
        if self.max_pixels is not None:
            check_range("max_pixels", self.max_pixels, 1, None)
        if self.api_key is not None and not self.api_key.strip():
            raise ConfigError("api_key is empty; pass a non-empty key or none at all")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def with_env_key(self) -> ServeConfig:
        """This config with ``$FERKIT_API_KEY`` as the key when none was given explicitly."""
        from dataclasses import replace

        env = os.environ.get(API_KEY_ENV, "").strip()
        return self if self.api_key or not env else replace(self, api_key=env)
