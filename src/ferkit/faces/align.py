"""Face alignment and cropping: one affine warp per face, straight from the original image.

The warp levels the eye line (when the detector gave eye positions), centres the face box, adds a
margin, pads the image border, and scales the square to a working size; ``ferkit.preprocess``
then resizes it to the model's ``input_size`` (area filter when shrinking). The default margin
reproduces FER2013's framing roughly: a Haar-style face box plus a little forehead and chin.
Faces too small or cut by the image border are flagged, never silently dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ferkit.config import check_range
from ferkit.faces.base import Detection
from ferkit.preprocess import resize_batch
from ferkit.types import BBox, ModelInfo

#: largest working square before the final resize (bounds the cost on huge photos)
MAX_WORK_SIZE = 512
_BORDERS = {"replicate": 1, "constant": 0, "reflect": 4}  # cv2.BORDER_* values


@dataclass(frozen=True)
class AlignConfig:
    """``margin``: fraction of the face box added on EACH side; ``min_face``: boxes whose shorter
    side is below this many pixels get the flag "small"; ``rotate``: level the eyes when known;
    ``max_angle``: eye lines tilted more than this (degrees) are treated as landmark errors."""

    margin: float = 0.1
    min_face: int = 24
    rotate: bool = True
    max_angle: float = 45.0
    border: str = "replicate"

    def __post_init__(self) -> None:
        check_range("margin", self.margin, 0.0, 2.0)
        check_range("min_face", self.min_face, 0, None)
        check_range("max_angle", self.max_angle, 0.0, 180.0)
        if self.border not in _BORDERS:
            from ferkit.errors import ConfigError

            raise ConfigError(f"border must be one of {sorted(_BORDERS)}, got {self.border!r}")


def eye_angle(eyes) -> float:
    """Angle in degrees of the left→right eye line (positive: right eye lower, y points down)."""
    (lx, ly), (rx, ry) = eyes
    return math.degrees(math.atan2(ry - ly, rx - lx))


def face_flags(box: BBox, width: int, height: int, cfg: AlignConfig) -> tuple[str, ...]:
    """"small" (shorter side < min_face) and "border" (box touches or crosses the image edge)."""
    flags = []
    if min(box.w, box.h) < cfg.min_face:
        flags.append("small")
    tol = 0.02 * max(box.w, box.h)
    x0, y0, x1, y1 = box.xyxy()
    if x0 < tol or y0 < tol or x1 > width - tol or y1 > height - tol:
        flags.append("border")
    return tuple(flags)


def alignment_matrix(box: BBox, eyes, out_size: int, cfg: AlignConfig) -> np.ndarray:
    """2x3 affine map from image pixels to the ``out_size`` square crop."""
    import cv2

    cx, cy = box.center
    side = max(box.w, box.h) * (1.0 + 2.0 * cfg.margin)
    angle = 0.0
    if cfg.rotate and eyes is not None:
        angle = eye_angle(eyes)
        if abs(angle) > cfg.max_angle:
            angle = 0.0
    m = cv2.getRotationMatrix2D((cx, cy), angle, out_size / max(side, 1e-6))
    m[0, 2] += out_size / 2.0 - cx
    m[1, 2] += out_size / 2.0 - cy
    return m


def align_face(image_bgr: np.ndarray, face: Detection | BBox, size: int, in_chans: int = 1,
               cfg: AlignConfig | None = None, interpolation: str = "bilinear") -> np.ndarray:
    """One aligned uint8 crop (size, size) gray or (size, size, 3) RGB for a detection or box."""
    import cv2

    cfg = cfg or AlignConfig()
    box, eyes = (face, None) if isinstance(face, BBox) else (face.bbox, face.eyes)
    side = max(box.w, box.h) * (1.0 + 2.0 * cfg.margin)
    work = int(min(max(size, round(side)), max(size, MAX_WORK_SIZE)))
    m = alignment_matrix(box, eyes, work, cfg)
    crop = cv2.warpAffine(image_bgr, m, (work, work), flags=cv2.INTER_LINEAR,
                          borderMode=_BORDERS[cfg.border])
    if crop.ndim == 3:
        crop = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY if in_chans == 1 else cv2.COLOR_BGR2RGB)
    elif in_chans == 3:
        crop = cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB)
    return resize_batch(crop[None], size, interpolation)[0]


def crop_faces(image_bgr: np.ndarray, faces: list[Detection | BBox], info: ModelInfo,
               cfg: AlignConfig | None = None) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Aligned crops for every face, stacked as the backend expects, plus each face's flags."""
    cfg = cfg or AlignConfig()
    h, w = image_bgr.shape[:2]
    shape = (0, info.input_size, info.input_size) + ((3,) if info.in_chans == 3 else ())
    if not faces:
        return np.zeros(shape, np.uint8), []
    crops = [align_face(image_bgr, f, info.input_size, info.in_chans, cfg, info.interpolation)
             for f in faces]
    flags = [face_flags(f if isinstance(f, BBox) else f.bbox, w, h, cfg) for f in faces]
    return np.stack(crops), flags


def whole_image_box(width: int, height: int) -> BBox:
    """The box used by ``no_face_mode='whole-image'``: the full frame (padded to a square)."""
    return BBox(0.0, 0.0, float(width), float(height))
