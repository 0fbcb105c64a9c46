"""``create_app``: the FastAPI application, assembled from config, service, routes and limits."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ferkit import __version__
from ferkit.serve.config import ServeConfig
from ferkit.serve.errors import install_error_handlers
from ferkit.serve.middleware import AccessLog, BodyLimit
from ferkit.serve.routes import STATIC_DIR, api, public
from ferkit.serve.service import InferenceService

#: room for multipart headers / JSON field names around the image bytes
_BODY_SLACK = 64 * 1024


def body_limit(config: ServeConfig) -> Any:
    """Bytes allowed per request path: one image (base64 inflates 4/3) or ``max_batch`` images."""
    one = config.max_upload_bytes * 4 // 3 + _BODY_SLACK

    def limit_for(path: str) -> int:
        return one * config.max_batch if path.rstrip("/").endswith("/batch") else one

    return limit_for


def _fastapi_class() -> type | Any:
    """``fastapi_offline.FastAPIOffline`` (the serve extra) serves /docs and /redoc from files in
    the package instead of a CDN, so the docs work offline; plain FastAPI otherwise."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:  # pragma: no cover - the serve extra installs it
        return FastAPI
    return FastAPIOffline


def create_app(config: ServeConfig | None = None, **fields: Any) -> FastAPI:
    """The ferkit REST app. ``config`` (or ``ServeConfig(**fields)``) says what to load.

    The model is loaded once, at start-up (the ASGI lifespan; ``/readyz`` turns 200 when done),
    so use the app under uvicorn or ``with TestClient(app)``. Example::

        app = create_app(model="fast", detector="haar", api_key="s3cret")
        uvicorn.run(app, host="127.0.0.1", port=8000)
    """
    config = (config or ServeConfig(**fields)).with_env_key()
    service = InferenceService(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not service.ready:  # ``ferkit serve`` starts it before uvicorn, to fail cleanly
            await asyncio.to_thread(service.start)
        try:
            yield
        finally:
            service.stop()

    app = _fastapi_class()(title="ferkit", version=__version__, lifespan=lifespan,
                  description="Facial emotion recognition over HTTP: faces, boxes and emotion "
                              "probabilities, the same JSON as `ferkit predict --json`. "
                              "WebSocket `/v1/stream` (not listed below): send JPEG frames "
                              "as binary messages, receive one JSON result per frame with "
                              "track ids and timestamps.")
    app.state.service = service
    install_error_handlers(app)
    app.include_router(public)
    app.include_router(api)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodyLimit, limit_for=body_limit(config))
    app.add_middleware(AccessLog)  # outermost: logs 413s from the body limit too
    return app
