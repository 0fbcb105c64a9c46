"""Pydantic models of the API: request bodies and the documented response shapes.

Responses are produced by ``ferkit.inference.outputs.results_document`` (the very code behind
``ferkit predict --json``); the models here describe that document for OpenAPI and validate it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PredictOptions(BaseModel):
    """Per-request options (query parameters, form fields or JSON fields)."""

    model_config = ConfigDict(extra="forbid")

    flip_tta: bool = Field(False, description="Average with the mirrored face.")
    min_confidence: float = Field(0.0, ge=0.0, le=1.0, description="Below this top "
                                  "probability a face is labelled 'uncertain'.")


class Base64Image(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: str = Field(..., min_length=1, description="The image file's bytes, base64-encoded "
                       "(a data: URL prefix is accepted).")
    name: str = Field("upload", max_length=200, description="Name echoed as 'source'.")


class PredictJson(PredictOptions, Base64Image):
    """JSON body of ``POST /v1/predict``."""


class BatchJson(PredictOptions):
    """JSON body of ``POST /v1/predict/batch``."""

    images: list[Base64Image] = Field(..., min_length=1)


class BoxOut(BaseModel):
    x: float
    y: float
    w: float
    h: float


class FaceOut(BaseModel):
    bbox: BoxOut
    label: str = Field(..., description="Arg-max emotion, or 'uncertain' below min_confidence.")
    confidence: float
    probs: dict[str, float]
    track_id: int | None = None
    frame_index: int | None = None
    timestamp: float | None = None
    flags: list[str] = []
    detection_score: float | None = None


class ImageOut(BaseModel):
    schema_version: str
    kind: str
    source: str
    width: int
    height: int
    frame_index: int | None = None
    timestamp: float | None = None
    error: str | None = None
    faces: list[FaceOut]


class PredictOut(BaseModel):
    """Same document as ``ferkit predict --json``."""

    schema_version: str
    pipeline: dict[str, Any]
    images: list[ImageOut]
    videos: list[dict[str, Any]] = []
    outputs: dict[str, str] = {}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


class ModelOut(BaseModel):
    name: str
    description: str
    loaded: bool


class ModelsOut(BaseModel):
    loaded: dict[str, Any]
    bundled: list[ModelOut]


class StatusOut(BaseModel):
    status: str
    ready: bool
