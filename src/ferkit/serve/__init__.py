"""The REST server: ``create_app`` builds a FastAPI app around one ``Pipeline`` model.

Needs the ``serve`` extra (``pip install "ferkit[serve]"``: FastAPI, uvicorn, python-multipart,
wsproto). Modules: ``config`` (ServeConfig), ``service`` (model + worker pool), ``uploads``
(request parsing), ``routes``, ``stream`` (WebSocket), ``middleware`` (body limit, access log),
``security`` (API key), ``errors`` (the JSON error shape), ``static/`` (the web page).
"""

from __future__ import annotations

import importlib.util

from ferkit.serve.config import ServeConfig

#: module → package that ``pip install "ferkit[serve]"`` provides; checked before any import
REQUIRED_MODULES = {"fastapi": "fastapi", "uvicorn": "uvicorn", "multipart": "python-multipart"}
INSTALL_HINT = 'pip install "ferkit[serve]"'


def missing_modules() -> list[str]:
    """Packages of the serve extra that are not installed."""
    return [pkg for mod, pkg in REQUIRED_MODULES.items() if importlib.util.find_spec(mod) is None]


def create_app(config: ServeConfig | None = None, **fields):
    """See ``ferkit.serve.app.create_app`` (imported lazily: FastAPI is an optional extra)."""
    from ferkit.serve.app import create_app as _create_app

    return _create_app(config, **fields)


__all__ = ["INSTALL_HINT", "ServeConfig", "create_app", "missing_modules"]
