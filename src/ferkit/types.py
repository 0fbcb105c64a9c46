"""Small frozen types shared between stages.

``EMOTIONS`` is ferkit's canonical label order (FER2013's): every dataset format maps onto it and
every model's output index means the same emotion. Result types for the inference pipeline
(BBox, FaceResult, ImageResult, VideoResult) live here too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
EMOTIONS_8: tuple[str, ...] = (*EMOTIONS, "contempt")


@dataclass(frozen=True)
class ModelInfo:
    """How a model wants its input, and where it came from (timm's ``pretrained_cfg`` idea).

    Inference and evaluation resolve preprocessing from this, never from hard-coded constants.
    ``mean``/``std`` are in [0, 1] pixel units, one value per input channel.
    """

    name: str
    input_size: int = 48
    in_chans: int = 1
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.5,)
    labels: tuple[str, ...] = EMOTIONS
    reference: str = ""
    weights_source: str = ""
    weights_licence: str = ""
    interpolation: str = "bilinear"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.in_chans not in (1, 3):
            raise ValueError(f"in_chans must be 1 or 3, got {self.in_chans}")
        if len(self.mean) != self.in_chans or len(self.std) != self.in_chans:
            raise ValueError("mean/std need one value per input channel")
        if self.input_size < 8:
            raise ValueError(f"input_size must be >= 8, got {self.input_size}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelInfo:
        d = dict(d)
        for key in ("mean", "std", "labels"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


# --- inference results (versioned JSON schema shared by CLI, Python API and REST) -------------

#: bump when a field of the result JSON changes meaning or disappears (adding fields is minor)
RESULT_SCHEMA_VERSION = "1.0"


def _r(value: float, nd: int = 4) -> float:
    return round(float(value), nd)


@dataclass(frozen=True)
class BBox:
    """An axis-aligned box in original-image pixels: top-left x, y, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)

    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x + self.w, self.y + self.h)

    def scaled(self, factor: float) -> BBox:
        """Multiply every coordinate (maps a box found on a resized image back to the original)."""
        return BBox(self.x * factor, self.y * factor, self.w * factor, self.h * factor)

    def iou(self, other: BBox) -> float:
        ax0, ay0, ax1, ay1 = self.xyxy()
        bx0, by0, bx1, by1 = other.xyxy()
        iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
        ih = max(0.0, min(ay1, by1) - max(ay0, by0))
        inter = iw * ih
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def to_dict(self) -> dict[str, float]:
        return {"x": _r(self.x, 1), "y": _r(self.y, 1), "w": _r(self.w, 1), "h": _r(self.h, 1)}


@dataclass(frozen=True)
class FaceResult:
    """One classified face. ``probs`` maps each label to its calibrated probability.

    ``label`` is the arg-max label, or ``"uncertain"`` when ``confidence`` is below the pipeline's
    ``min_confidence``. ``flags`` mark faces to treat with care ("small", "border", "carried":
    box carried by the tracker between detector runs, "whole_image": no face was detected).
    """

    bbox: BBox
    probs: dict[str, float]
    label: str
    confidence: float
    track_id: int | None = None
    frame_index: int | None = None
    timestamp: float | None = None
    flags: tuple[str, ...] = ()
    detection_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "bbox": self.bbox.to_dict(),
            "label": self.label,
            "confidence": _r(self.confidence),
            "probs": {k: _r(v) for k, v in self.probs.items()},
            "track_id": self.track_id,
            "frame_index": self.frame_index,
            "timestamp": None if self.timestamp is None else _r(self.timestamp, 3),
            "flags": list(self.flags),
            "detection_score": None if self.detection_score is None else _r(self.detection_score),
        }

    def to_json(self, **kw: Any) -> str:
        import json

        return json.dumps(self.to_dict(), **kw)


@dataclass(frozen=True)
class ImageResult:
    """All faces of one image (or one video frame). ``error`` is set, and ``faces`` empty, when
    the input could not be read; an image without faces is an empty, error-free result."""

    source: str
    faces: tuple[FaceResult, ...] = ()
    width: int = 0
    height: int = 0
    error: str | None = None
    frame_index: int | None = None
    timestamp: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": RESULT_SCHEMA_VERSION,
            "kind": "image" if self.frame_index is None else "frame",
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "frame_index": self.frame_index,
            "timestamp": None if self.timestamp is None else _r(self.timestamp, 3),
            "error": self.error,
            "faces": [f.to_dict() for f in self.faces],
        }

    def to_json(self, **kw: Any) -> str:
        import json

        return json.dumps(self.to_dict(), **kw)

    def to_pandas(self) -> Any:
        """One DataFrame row per face (pandas extra; see ``ferkit.results_to_frame``)."""
        from ferkit.frames import results_to_frame

        return results_to_frame([self])


@dataclass(frozen=True)
class TrackSummary:
    """What one tracked face did over a video: frames seen, mean probabilities, dominant label."""

    track_id: int
    first_frame: int
    last_frame: int
    first_timestamp: float
    last_timestamp: float
    num_frames: int
    mean_probs: dict[str, float]
    label: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mean_probs"] = {k: _r(v) for k, v in self.mean_probs.items()}
        d["first_timestamp"] = _r(self.first_timestamp, 3)
        d["last_timestamp"] = _r(self.last_timestamp, 3)
        return d


@dataclass(frozen=True)
class VideoResult:
    """Summary of a processed video or camera stream. Per-frame faces are streamed (CSV rows /
    ``Pipeline.iter_video``) rather than kept here, so memory stays bounded on long videos."""

    source: str
    width: int = 0
    height: int = 0
    fps: float = 0.0
    frames_read: int = 0
    frames_processed: int = 0
    frames_with_faces: int = 0
    num_faces: int = 0
    stride: int = 1
    detect_every: int = 1
    tracks: tuple[TrackSummary, ...] = ()
    error: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "tracks"}
        d["fps"] = _r(self.fps, 3)
        d["tracks"] = [t.to_dict() for t in self.tracks]
        return {"schema_version": RESULT_SCHEMA_VERSION, "kind": "video", **d}

    def to_pandas(self) -> Any:
        """One DataFrame row per tracked face (per-frame rows: ``results_to_frame`` over
        ``Pipeline.iter_video``); needs the pandas extra."""
        from ferkit.frames import tracks_frame

        return tracks_frame(self)

    def to_json(self, **kw: Any) -> str:
        import json

        return json.dumps(self.to_dict(), **kw)
