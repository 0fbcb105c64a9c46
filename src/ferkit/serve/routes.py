"""The HTTP and WebSocket routes: parse, call the service, format. Nothing else lives here."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request, WebSocket
from fastapi.responses import FileResponse

from ferkit.serve.errors import ApiError, error_response
from ferkit.serve.schemas import ErrorOut, ModelsOut, PredictOptions, PredictOut, StatusOut
from ferkit.serve.security import require_key
from ferkit.serve.service import InferenceService
from ferkit.serve.stream import run_stream
from ferkit.serve.uploads import read_predict_request, validate

STATIC_DIR = Path(__file__).resolve().parent / "static"
_ERRORS = {code: {"model": ErrorOut} for code in (401, 413, 415, 422, 503, 504)}


def _service(request: Request) -> InferenceService:
    return request.app.state.service


def check_key(request: Request) -> None:
    require_key(_service(request).config.api_key, request.headers)


def _body_doc(batch: bool) -> dict:
    """OpenAPI requestBody: the three accepted encodings (parsed by hand in uploads.py)."""
    file_schema = {"type": "string", "format": "binary"}
    form = ({"files": {"type": "array", "items": file_schema}} if batch else {"file": file_schema})
    form.update(flip_tta={"type": "boolean"}, min_confidence={"type": "number"})
    json_ref = "#/components/schemas/" + ("BatchJson" if batch else "PredictJson")
    content = {"multipart/form-data": {"schema": {"type": "object", "properties": form}},
               "application/json": {"schema": {"$ref": json_ref}}}
    if not batch:
        content["image/*"] = {"schema": file_schema}
    return {"requestBody": {"required": True, "content": content}}


public = APIRouter()
api = APIRouter(prefix="/v1", dependencies=[Depends(check_key)], responses=_ERRORS)


@public.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")


@public.get("/healthz", response_model=StatusOut, tags=["health"])
def healthz(request: Request) -> dict:
    """Liveness: the process answers (even while the model is loading)."""
    return {"status": "ok", "ready": _service(request).ready}


@public.get("/readyz", response_model=StatusOut, tags=["health"],
            responses={503: {"model": ErrorOut}})
def readyz(request: Request):
    """Readiness: 200 once the model is loaded and warmed up, 503 before."""
    if not _service(request).ready:
        return error_response(503, "not_ready", "the model is still loading")
    return {"status": "ready", "ready": True}


@api.get("/models", response_model=ModelsOut, tags=["models"])
def models(request: Request) -> dict:
    """The loaded pipeline, and the bundled models this install ships."""
    from ferkit.bundled import BUNDLED, resolve_model

    service = _service(request)
    loaded = service.describe()
    current = Path(loaded["model"]).resolve()
    bundled = [{"name": name, "description": BUNDLED.get(name).description,
                "loaded": _is_loaded(resolve_model, name, service.config.backend, current)}
               for name in BUNDLED.names()]
    return {"loaded": loaded, "bundled": bundled}


def _is_loaded(resolve_model, name: str, backend: str, current: Path) -> bool:
    """False too for a bundled model this backend cannot run (``accurate`` under torch)."""
    from ferkit.errors import CheckpointError

    try:
        return resolve_model(name, backend).resolve() == current
    except CheckpointError:
        return False


@api.post("/predict", response_model=PredictOut, tags=["predict"],
          openapi_extra=_body_doc(False))
async def predict(request: Request) -> dict:
    """Faces, boxes and emotion probabilities of one image (the `ferkit predict --json`
    document). Send a multipart `file`, JSON `{"image": base64}` or raw image bytes."""
    service = _service(request)
    items, options = await read_predict_request(request, False, 1)
    return await service.run(service.predict, items, options.flip_tta, options.min_confidence)


@api.post("/predict/batch", response_model=PredictOut, tags=["predict"],
          openapi_extra=_body_doc(True))
async def predict_batch(request: Request) -> dict:
    """Several images in one request (multipart `files` or JSON `{"images": [...]}`); an image
    that cannot be decoded gets its own `error` instead of failing the batch."""
    service = _service(request)
    items, options = await read_predict_request(request, True, service.config.max_batch)
    return await service.run(service.predict, items, options.flip_tta, options.min_confidence,
                             False)


@public.websocket("/v1/stream")
async def stream(websocket: WebSocket) -> None:
    """JPEG frames in, per-frame results with track ids and timestamps out (see stream.py)."""
    service: InferenceService = websocket.app.state.service
    try:
        require_key(service.config.api_key, websocket.headers, websocket.query_params)
        query = {k: v for k, v in websocket.query_params.items() if k == "min_confidence"}
        options = validate(PredictOptions, query)
    except ApiError as exc:  # refused before the handshake completes, as an HTTP response
        await websocket.send_denial_response(error_response(exc.status_code, exc.code,
                                                            exc.message))
        return
    await websocket.accept()
    await run_stream(websocket, service, options.min_confidence)
