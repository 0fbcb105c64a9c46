"""Pure-ASGI middleware: request-body size limit (413 before parsing) and JSON access logs.

Both are plain ASGI (no ``BaseHTTPMiddleware``) so uploads are streamed through, not buffered,
and WebSocket connections pass untouched apart from their access-log line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Callable

from ferkit.serve.errors import ApiError, error_body

access_log = logging.getLogger("ferkit.serve.access")


class BodyLimit:
    """Reject request bodies over ``limit_for(path)`` bytes with 413.

    A declared ``Content-Length`` over the limit is answered at once, without reading the body;
    a chunked body is counted as it arrives and aborted when it crosses the limit.
    """

    def __init__(self, app, limit_for: Callable[[str], int]) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _send_json(send, 413, error_body(
                "payload_too_large", f"request body is {int(declared) / 2**20:.1f} MB, over the "
                f"{limit / 2**20:.1f} MB limit for {scope['path']} (--max-upload-mb)"))
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ApiError(413, "payload_too_large", f"request body over the "
                                   f"{limit / 2**20:.1f} MB limit for {scope['path']}")
            return message

        await self.app(scope, counted, send)


async def _send_json(send, status: int, body: dict) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


class AccessLog:
    """One JSON line per request (or WebSocket session) on the ``ferkit.serve.access`` logger.

    Fields: time, request id (also returned as ``X-Request-ID``), client, method, path (never the
    query string, which may carry an API key), status, duration and response bytes.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        start, rid = time.perf_counter(), uuid.uuid4().hex[:16]
        state = {"status": None, "bytes": 0}

        async def logged_send(message):
            kind = message["type"]
            if kind == "http.response.start":
                state["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            elif kind == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            elif kind == "websocket.accept":
                state["status"] = 101
            elif kind == "websocket.close" and state["status"] is None:
                state["status"] = 403
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        except Exception:
            state["status"] = state["status"] or 500
            raise
        finally:
            client = scope.get("client") or ("", 0)
            access_log.info(json.dumps({
                "ts": round(time.time(), 3), "event": "access", "request_id": rid,
                "client": client[0], "method": scope.get("method", "WS"), "path": scope["path"],
                "status": state["status"], "bytes": state["bytes"],
                "duration_ms": round(1000 * (time.perf_counter() - start), 2)}))


def configure_access_log(stream=None) -> None:
    """Send access lines, bare (they are JSON already), to ``stream`` (stderr by default)."""
    if access_log.handlers:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False
