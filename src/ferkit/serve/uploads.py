"""Turn a predict request's body into ``(name, bytes)`` items plus options, by content type.

``POST /v1/predict`` accepts a multipart upload (field ``file``), a JSON body with a base64 image,
or the raw image bytes (``Content-Type: image/...``); options come from form/JSON fields or the
query string. One parser per media type, looked up in ``PARSERS``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from ferkit.serve.errors import ApiError
from ferkit.serve.schemas import BatchJson, PredictJson, PredictOptions

Items = list[tuple[str, bytes]]
#: part content types accepted for an uploaded file (the decoder decides the rest)
_FILE_TYPES = ("image/", "application/octet-stream")


def _invalid(exc: ValidationError) -> ApiError:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
             for e in exc.errors()[:5]]
    return ApiError(422, "invalid_request", "; ".join(parts))


def validate(model: type[BaseModel], data: dict) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _b64(text: str, name: str) -> bytes:
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid_base64", f"image {name!r} is not valid base64") from None


async def _file_bytes(part: object, field: str) -> tuple[str, bytes]:
    if not isinstance(part, UploadFile):
        raise ApiError(422, "invalid_request", f"form field {field!r} must be a file upload")
    ctype = (part.content_type or "").lower()
    name = part.filename or field
    if ctype and not ctype.startswith(_FILE_TYPES):
        raise ApiError(415, "unsupported_media_type", f"file {name!r} has content type "
                       f"{ctype!r}; upload an image (image/jpeg, image/png, ...)")
    return name, await part.read()


async def _multipart(request: Request, batch: bool, max_files: int) -> tuple[Items, dict]:
    form = await request.form(max_files=max_files + 1, max_fields=32)
    try:
        fields = ("files", "file") if batch else ("file",)
        parts = [(f, p) for f in fields for p in form.getlist(f)]
        if not parts:
            raise ApiError(422, "missing_file", f"multipart body has no {' or '.join(fields)!r} "
                           f"file field")
        if not batch and len(parts) > 1:
            raise ApiError(422, "invalid_request", "send one 'file' (use /v1/predict/batch "
                           "for several images)")
        items = [await _file_bytes(p, f) for f, p in parts]
        options = {k: v for k, v in form.items() if k in PredictOptions.model_fields}
        return items, options
    finally:
        await form.close()


async def _json(request: Request, batch: bool, max_files: int) -> tuple[Items, dict]:
    try:
        data = await request.json()
    except ValueError:
        raise ApiError(422, "invalid_json", "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_json", "JSON body must be an object")
    body = validate(BatchJson if batch else PredictJson, data)
    images = body.images if batch else [body]
    items = [(im.name, _b64(im.image, im.name)) for im in images]
    return items, {k: getattr(body, k) for k in PredictOptions.model_fields}


async def _raw(request: Request, batch: bool, max_files: int) -> tuple[Items, dict]:
    if batch:
        raise ApiError(415, "unsupported_media_type", "a batch needs multipart/form-data "
                       "or JSON, not a single raw image")
    return [("upload", await request.body())], {}


PARSERS: dict[str, Callable[[Request, bool, int], Awaitable[tuple[Items, dict]]]] = {
    "multipart/form-data": _multipart,
    "application/json": _json,
    "image/*": _raw,
}


async def read_predict_request(request: Request, batch: bool,
                               max_files: int) -> tuple[Items, PredictOptions]:
    """(items, options) from any supported body; 415 for other content types."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    parser = PARSERS.get(media) or PARSERS.get(media.split("/")[0] + "/*")
    if parser is None:
        accepted = "multipart/form-data, application/json" + ("" if batch else " or image/*")
        raise ApiError(415, "unsupported_media_type", f"content type {media or 'none'!r} is "
                       f"not accepted; send {accepted}")
    items, fields = await parser(request, batch, max_files)
    if len(items) > max_files:
        raise ApiError(413, "too_many_images", f"{len(items)} images in one batch, over the "
                       f"limit of {max_files}; split the batch")
    query = {k: v for k, v in request.query_params.items() if k in PredictOptions.model_fields}
    options = validate(PredictOptions, {**query, **fields})
    return items, options
