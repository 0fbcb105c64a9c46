"""The inference side of the server: the model loaded once, a bounded pool of worker threads.

Why a pool of pipelines rather than one: ONNX Runtime sessions and torch modules may be called
from several threads at once, but an OpenCV ``CascadeClassifier`` keeps per-call state in the
object and must not be shared. So the backend (the model) is loaded once and shared, and each of
the ``workers`` threads checks out its own ``Pipeline`` (own detector) for the duration of a
request. A WebSocket stream gets a private pipeline too, because it also owns a tracker.

Every call goes through ``run``: it waits at most ``timeout_s`` (queueing included; 504 after),
and refuses new work with 503 when ``max_queue`` requests are already waiting, so an overloaded
server answers quickly instead of piling up requests.
"""

from __future__ import annotations

import asyncio
import copy
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from ferkit.errors import MediaError
from ferkit.inference.pipeline import Pipeline
from ferkit.serve.config import ServeConfig
from ferkit.serve.errors import ApiError
from ferkit.types import BBox, ImageResult

T = TypeVar("T")


class InferenceService:
    """Loaded pipelines + the thread pool. Build with ``start()`` (slow: loads the model)."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.ready = False
        self.executor: ThreadPoolExecutor | None = None
        self._pipelines: queue.SimpleQueue[Pipeline] = queue.SimpleQueue()
        self._prototype: Pipeline | None = None
        self._waiting = 0
        self._lock = threading.Lock()

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Load the model once, give every worker a pipeline sharing it, warm up."""
        cfg = self.config
        first = self._new_pipeline(None)
        self._prototype = first
        self._pipelines.put(first)
        for _ in range(cfg.workers - 1):
            self._pipelines.put(self._new_pipeline(first.backend))
        self.executor = ThreadPoolExecutor(cfg.workers, thread_name_prefix="ferkit-infer")
        if cfg.warmup:  # the first classifier call allocates; keep it off the first request
            first.classify(np.zeros((64, 64, 3), np.uint8), [BBox(0.0, 0.0, 64.0, 64.0)])
        self.ready = True

    def stop(self) -> None:
        self.ready = False
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)

    def _new_pipeline(self, backend: Any) -> Pipeline:
        cfg = self.config
        model = cfg.model if backend is None else backend
        return Pipeline(model, detector=cfg.detector, backend=cfg.backend,
                        detector_options=dict(cfg.detector_options))

    def stream_pipeline(self) -> Pipeline:
        """A private pipeline (own detector, shared model) for one WebSocket stream."""
        return self._new_pipeline(self.prototype.backend)

    @property
    def prototype(self) -> Pipeline:
        if self._prototype is None:
            raise ApiError(503, "not_ready", "the model is still loading; retry in a moment")
        return self._prototype

    def describe(self) -> dict[str, Any]:
        info = self.prototype.describe()
        info.update(workers=self.config.workers,
                    stream_detect_every=self.config.stream_detect_every)
        return info

    # -- running work ------------------------------------------------------------------------
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a worker thread, bounded by ``max_queue`` and ``timeout_s``."""
        if not self.ready or self.executor is None:
            raise ApiError(503, "not_ready", "the model is still loading; retry in a moment")
        with self._lock:
            if self._waiting >= self.config.max_queue + self.config.workers:
                raise ApiError(503, "busy", f"server busy ({self._waiting} requests in "
                               f"progress); retry later", headers={"Retry-After": "1"})
            self._waiting += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
            return await asyncio.wait_for(future, self.config.timeout_s)
        except TimeoutError:
            raise ApiError(504, "timeout", f"inference took longer than "
                           f"{self.config.timeout_s:g} s; try a smaller image") from None
        finally:
            with self._lock:
                self._waiting -= 1

    def predict(self, items: list[tuple[str, bytes]], flip_tta: bool, min_confidence: float,
                strict: bool = True) -> dict[str, Any]:
        """Blocking (worker thread): decode and classify uploads with a checked-out pipeline.

        Returns the ``ferkit predict --json`` document. ``strict``: a bad image raises its
        ApiError (single-image requests); otherwise it becomes that image's ``error`` (batches,
        like an unreadable file in ``ferkit predict``).
        """
        from ferkit.inference.outputs import results_document

        pipe = self._pipelines.get()
        try:
            view = copy.copy(pipe)  # per-request options without touching the pooled object
            view.flip_tta, view.min_confidence = flip_tta, min_confidence
            results = []
            for name, data in items:
                try:
                    image = decode_image(data, name, self.config)
                except ApiError as exc:
                    if strict:
                        raise
                    results.append(ImageResult(name, error=exc.message))
                    continue
                results.append(view.predict_image(image, source=name))
            return results_document(view.describe(), results, [])
        finally:
            self._pipelines.put(pipe)


def decode_image(data: bytes, name: str, config: ServeConfig) -> np.ndarray:
    """Uploaded bytes → BGR image, enforcing the size (413), pixel (413) and decode (422) limits."""
    from ferkit.imagelimits import check_pixels

    if len(data) > config.max_upload_bytes:
        raise ApiError(413, "payload_too_large", f"image {name!r} is {len(data) / 2**20:.1f} MB, "
                       f"over the {config.max_upload_mb:g} MB limit (--max-upload-mb)")
    if not data:
        raise ApiError(422, "empty_image", f"image {name!r} is empty")
    buf = np.frombuffer(data, np.uint8)
    try:
        check_pixels(buf, repr(name), config.max_pixels)
    except MediaError as exc:
        raise ApiError(413, "image_too_large", str(exc)) from None
    import cv2

    image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if image is None:
        raise ApiError(422, "undecodable_image", f"cannot decode image {name!r} (corrupt or not "
                       f"an image file); send a JPEG, PNG, BMP, TIFF or WebP")
    return image
