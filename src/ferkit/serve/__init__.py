"""The REST server: ``create_app`` builds a FastAPI app around one ``Pipeline`` model.

Needs the ``serve`` extra (``pip install "ferkit[serve]"``: FastAPI, uvicorn, python-multipart,
wsproto). Modules: ``config`` (ServeConfig), ``service`` (model + worker pool), ``uploads``
(request parsing), ``routes``, ``stream`` (WebSocket), ``middleware`` (body limit, access log),
``security`` (API key), ``errors`` (the JSON error shape), ``static/`` (the web page).
"""

from __future__ import annotations

import importlib.util

from ferkit.serve.config import ServeConfig

#: what ``pip install "ferkit[serve]"`` provides; checked before anything imports them
REQUIRED_MODULES = ("fastapi", "uvicorn", "multipart")
INSTALL_HINT = 'pip install "ferkit[serve]"'


def missing_modules() -> list[str]:
    return [m for m in REQUIRED_MODULES if importlib.util.find_spec(m) is None]


def create_app(config: ServeConfig | None = None, **fields):
    """See ``ferkit.serve.app.create_app`` (imported lazily: FastAPI is an optional extra)."""
    from ferkit.serve.app import create_app as _create_app

    return _create_app(config, **fields)


__all__ = ["INSTALL_HINT", "ServeConfig", "create_app", "missing_modules"]
