"""WebSocket streams: JPEG frames in, per-frame results (track ids, timestamps) out.

A stream runs through ``Pipeline.iter_video`` exactly like a video file or camera: ``FrameFeed``
stands in for the ``VideoReader`` and hands over one received frame at a time, so detection every
k-th frame, the IoU tracker, carried boxes and per-track smoothing are the same code. Timestamps
are seconds since the stream opened (as for a camera).

Protocol: connect to ``/v1/stream`` (options ``min_confidence``, ``api_key`` as query
parameters); send each frame as a binary message holding a JPEG/PNG; receive one text message per
frame: the frame's result (``ImageResult.to_dict()``, kind "frame"), or ``{"error": {...}}`` for a
frame that could not be used (the stream goes on).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from ferkit.inference.pipeline import Pipeline
from ferkit.inference.video import Frame
from ferkit.serve.config import ServeConfig
from ferkit.serve.errors import ApiError, error_body
from ferkit.serve.service import decode_image


class FrameFeed:
    """A ``VideoReader`` look-alike whose frames are pushed in one at a time."""

    source = "websocket"

    def __init__(self) -> None:
        self._frame: Frame | None = None
        self.frames_read = 0

    def push(self, frame: Frame) -> None:
        self._frame = frame

    def frames(self, stride: int = 1, max_frames: int | None = None) -> Iterator[Frame]:
        while self._frame is not None:
            frame, self._frame = self._frame, None
            self.frames_read += 1
            yield frame

    def close(self) -> None:
        self._frame = None


class StreamSession:
    """One WebSocket's private pipeline, tracker state and clock. ``process`` blocks (worker)."""

    def __init__(self, pipeline: Pipeline, config: ServeConfig) -> None:
        self.config = config
        self.feed = FrameFeed()
        self.results = pipeline.iter_video(
            self.feed.source, reader=self.feed, detect_every=config.stream_detect_every,
            ema_alpha=config.stream_smoothing)
        self.index, self.t0 = 0, time.monotonic()
        self._lock = threading.Lock()  # a timed-out frame may still be running

    def process(self, data: bytes) -> dict[str, Any]:
        with self._lock:
            image = decode_image(data, f"frame {self.index}", self.config)
            self.feed.push(Frame(self.index, time.monotonic() - self.t0, image))
            self.index += 1
            _, result = next(self.results)
            return result.to_dict()

    def close(self) -> None:
        with self._lock:
            self.results.close()


async def run_stream(websocket, service, min_confidence: float) -> None:
    """The message loop of one accepted WebSocket: a private pipeline, one reply per message."""
    from starlette.websockets import WebSocketDisconnect

    session = None
    try:
        try:
            pipeline = await service.run(service.stream_pipeline)
        except ApiError as exc:  # not ready / busy: say so, then close ("try again later")
            await _send_error(websocket, exc.code, exc.message)
            await websocket.close(code=1013)
            return
        pipeline.min_confidence = min_confidence
        session = StreamSession(pipeline, service.config)
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes") is None:
                await _send_error(websocket, "expected_binary",
                                  "send each frame as a binary message (JPEG bytes)")
                continue
            try:
                result = await service.run(session.process, message["bytes"])
            except ApiError as exc:  # a bad frame or a timeout: report it, keep streaming
                await _send_error(websocket, exc.code, exc.message)
                continue
            await websocket.send_text(json.dumps(result))
    except (WebSocketDisconnect, RuntimeError, OSError):  # the client went away mid-frame
        pass
    finally:
        if session is not None:
            await asyncio.to_thread(session.close)


async def _send_error(websocket, code: str, message: str) -> None:
    await websocket.send_text(json.dumps(error_body(code, message)))
