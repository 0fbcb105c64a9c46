"""Optional API key: ``X-API-Key: KEY`` or ``Authorization: Bearer KEY`` (WebSocket: also
``?api_key=KEY``, since browsers cannot set headers on a WebSocket).

Compared with ``hmac.compare_digest`` so the time taken does not reveal how much of a guess was
right. Without a configured key every request passes (the server binds to 127.0.0.1 by default).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from ferkit.serve.errors import ApiError


def presented_key(headers: Mapping[str, str], query: Mapping[str, str] | None = None) -> str:
    key = headers.get("x-api-key", "")
    auth = headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    if not key and query is not None:
        key = query.get("api_key", "")
    return key


def key_matches(expected: str | None, given: str) -> bool:
    if expected is None:
        return True
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def require_key(expected: str | None, headers: Mapping[str, str],
                query: Mapping[str, str] | None = None) -> None:
    """Raise 401 unless the request carries the configured key."""
    if expected is None:
        return
    given = presented_key(headers, query)
    if not key_matches(expected, given):
        what = "a wrong API key" if given else "no API key"
        raise ApiError(401, "unauthorized", f"this server requires an API key and the request "
                       f"has {what}; send it as the X-API-Key header",
                       headers={"WWW-Authenticate": "Bearer"})
